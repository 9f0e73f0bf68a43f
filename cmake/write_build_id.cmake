# Writes OUTPUT, a header defining KERNTUNE_COMMIT: the commit of the source tree at SOURCE
# ("" when it is not the top of a git checkout, say a copy inside another project's repository,
# or git is missing), ".dirty" appended when tracked files differ from it. Run at every build
# (src/core/CMakeLists.txt); the file is rewritten only when its text changes, so only
# version.cpp recompiles, and only after a commit or an edit.
set(commit "")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE}" rev-parse --show-toplevel --short=12 HEAD
                  OUTPUT_VARIABLE answer RESULT_VARIABLE failed OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  string(REPLACE "\n" ";" answer "${answer}")
  list(LENGTH answer lines)
  if(NOT failed AND lines EQUAL 2)
    list(GET answer 0 top)
    list(GET answer 1 head)
    get_filename_component(top "${top}" REALPATH)
    get_filename_component(source "${SOURCE}" REALPATH)
  endif()
  if(NOT failed AND lines EQUAL 2 AND top STREQUAL source AND head MATCHES "^[0-9a-f]+$")
    set(commit "${head}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE}" diff --quiet HEAD --
                    RESULT_VARIABLE dirty OUTPUT_QUIET ERROR_QUIET)
    if(dirty)
      string(APPEND commit ".dirty")
    endif()
  endif()
endif()
set(text "#define KERNTUNE_COMMIT \"${commit}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
