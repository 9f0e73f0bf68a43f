# Installs kerntune from BUILD_DIR into a fresh prefix and checks its layout; then configures,
# builds and runs the consumer projects (tests/consumer in C99, examples/cpp and
# examples/templates/app in C++) against that install tree only, with find_package(kerntune) and,
# where pkg-config is installed (PKG_CONFIG), the C99 one with `pkg-config --cflags --libs
# kerntune`; then runs the installed CLI's dry-run tune, whose compiles run in the installed worker.
file(REMOVE_RECURSE "${WORK_DIR}")
include(${CMAKE_CURRENT_LIST_DIR}/run_command.cmake)
set(prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

# The layout the README describes.
foreach(file ${LIBDIR}/libkerntune.so ${LIBDIR}/${YAML_CPP_SONAME} ${INCLUDEDIR}/kerntune/kerntune.h
        ${INCLUDEDIR}/kerntune/kerntune.hpp ${INCLUDEDIR}/kerntune/version.h ${BINDIR}/kerntune
        ${LIBEXECDIR}/kerntune/kerntune-worker ${LIBDIR}/cmake/kerntune/kerntuneConfig.cmake
        ${LIBDIR}/pkgconfig/kerntune.pc share/kerntune/templates/leaky_relu.yaml share/kerntune/tuning_db/h200.jsonl share/doc/kerntune/LICENSE)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "the install tree has no ${file}")
  endif()
endforeach()
if(EXISTS "${prefix}/${BINDIR}/kerntune-worker")
  message(FATAL_ERROR "kerntune-worker is installed in ${BINDIR}/; it belongs in ${LIBEXECDIR}/kerntune/")
endif()
# The programs load the yaml-cpp installed beside libkerntune (their RUNPATHs), not the system's:
# the CLI does; the worker, when it needs it at all.
file(REAL_PATH "${prefix}/${LIBDIR}/${YAML_CPP_SONAME}" installed_yaml_cpp)
foreach(program ${BINDIR}/kerntune ${LIBEXECDIR}/kerntune/kerntune-worker)
  run(ldd "${prefix}/${program}")
  if(run_output MATCHES "${YAML_CPP_SONAME} => ([^ \n]+)")
    file(REAL_PATH "${CMAKE_MATCH_1}" loaded_yaml_cpp)
    if(NOT loaded_yaml_cpp STREQUAL installed_yaml_cpp)
      message(FATAL_ERROR "${program} loads ${loaded_yaml_cpp}, not ${installed_yaml_cpp}")
    endif()
  elseif(program STREQUAL "${BINDIR}/kerntune")
    message(FATAL_ERROR "${program} does not load ${YAML_CPP_SONAME}:\n${run_output}")
  endif()
endforeach()

foreach(project consumer:${SOURCE_DIR}/tests/consumer example:${SOURCE_DIR}/examples/cpp templates_app:${SOURCE_DIR}/examples/templates/app)
  string(REPLACE ":" ";" parts "${project}")
  list(GET parts 0 name)
  list(GET parts 1 dir)
  run(${CMAKE_COMMAND} -S "${dir}" -B "${WORK_DIR}/${name}" -G Ninja -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/${name}")
endforeach()
run("${WORK_DIR}/consumer/c_consumer")

# pkg-config: the C99 consumer compiled and linked with its flags alone.
if(PKG_CONFIG)
  set(pkg_config ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig" ${PKG_CONFIG})
  run(${pkg_config} --modversion kerntune)
  string(STRIP "${run_output}" pc_version)
  run(${pkg_config} --variable=prefix kerntune)
  string(STRIP "${run_output}" pc_prefix)
  if(NOT pc_version STREQUAL VERSION OR NOT pc_prefix STREQUAL prefix)
    message(FATAL_ERROR "kerntune.pc says version ${pc_version}, prefix ${pc_prefix}; expected ${VERSION}, ${prefix}")
  endif()
  run(${pkg_config} --cflags --libs kerntune)
  separate_arguments(pc_flags UNIX_COMMAND "${run_output}")
  # Not -pedantic-errors, as the CMake build of it has: cuda.h is not strict C99, and the
  # flags name it with -I, where the CMake package makes it a system header.
  run(${C_COMPILER} -std=c99 -Wall -Wextra -Werror "${SOURCE_DIR}/tests/consumer/main.c" ${pc_flags}
      "-Wl,-rpath,${prefix}/${LIBDIR}" -o "${WORK_DIR}/c_consumer_pkg_config")
  run("${WORK_DIR}/c_consumer_pkg_config")
else()
  message(STATUS "pkg-config is not installed: the pkg-config consumer is not built")
endif()

# The installed CLI starts the installed worker (compiles run in worker processes), found from
# bin/ without KERNTUNE_WORKER. A wrapper in its place records that it was started, as the build
# tree's worker, which the CLI would fall back to, exists too.
set(worker "${prefix}/${LIBEXECDIR}/kerntune/kerntune-worker")
file(RENAME "${worker}" "${worker}.real")
file(WRITE "${worker}" "#!/bin/sh\necho started >> '${WORK_DIR}/worker-started'\nexec \"$0.real\" \"$@\"\n")
file(CHMOD "${worker}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
run(${CMAKE_COMMAND} -E env --unset=KERNTUNE_WORKER
    "${prefix}/${BINDIR}/kerntune" tune --dry-run --arch sm_90 --op leaky_relu --dtype f32)
if(NOT EXISTS "${WORK_DIR}/worker-started")
  message(FATAL_ERROR "the installed kerntune did not start ${worker}")
endif()
