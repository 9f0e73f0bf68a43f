# gpu label: runs every example against the install tree that
# Packaging.ConsumersBuildAgainstTheInstallTree built in WORK_DIR (examples/cpp,
# examples/templates/app) and, where PyTorch imports, examples/python. Without a GPU it prints
# "SKIPPED: no GPU" (the test's skip pattern). Each example checks its own results and exits 0.
function(run_example)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${ARGN}: exit ${rc}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "example failed (exit ${rc}): ${ARGN}")
  endif()
endfunction()

execute_process(COMMAND "${BUILD_DIR}/tools/kerntune" devices RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(STATUS "SKIPPED: no GPU (kerntune devices exited ${rc})")
  return()
endif()
set(ENV{KERNTUNE_DB} "${WORK_DIR}/examples.db")  # a fresh database: every example works without one
unset(ENV{KERNTUNE_TEMPLATES})
run_example("${WORK_DIR}/example/leaky_relu_example")
run_example("${WORK_DIR}/templates_app/axpby_example" "${SOURCE_DIR}/examples/templates")
execute_process(COMMAND python3 -c "import torch" RESULT_VARIABLE no_torch OUTPUT_QUIET ERROR_QUIET)
if(no_torch EQUAL 0)
  set(ENV{KERNTUNE_LIB} "${BUILD_DIR}/src/runtime/libkerntune.so")
  run_example(python3 "${SOURCE_DIR}/examples/python/leaky_relu_torch.py")
else()
  message(STATUS "examples/python not run: python3 cannot import torch here")
endif()
