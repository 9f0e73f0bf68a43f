# libkerntune.so must export exactly the C ABI of kerntune.h (every kt_ function, no other), and
# none of the internals.
execute_process(COMMAND nm -D --defined-only "${LIBRARY}" OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
set(expected kt_get_version kt_last_error kt_set_log_callback kt_set_log_level kt_launch kt_launch_problem kt_leaky_relu kt_query kt_query_problem kt_query_choice
  kt_runtime_add_templates kt_runtime_create kt_runtime_destroy kt_status_string
  kt_expression_create kt_expression_destroy kt_expression_launch kt_expression_num_inputs kt_expression_num_scalars
  kt_expression_op kt_expression_query)
string(REGEX MATCHALL "[^\n]* T kt_[A-Za-z0-9_]*\n" lines "${symbols}")
set(exported)
foreach(line IN LISTS lines)
  string(REGEX REPLACE ".* T (kt_[A-Za-z0-9_]*)\n" "\\1" name "${line}")
  list(APPEND exported ${name})
endforeach()
list(SORT exported)
list(SORT expected)
if(NOT exported STREQUAL expected)
  message(FATAL_ERROR "${LIBRARY} exports the C functions\n  ${exported}\nnot those of kerntune.h:\n  ${expected}")
endif()
# The C++ logging setters of kerntune.hpp (mangled: kerntune::set_log_level(kt_log_level), ...)
# and kerntune::elementwise::launch.
foreach(name _ZN8kerntune13set_log_levelE12kt_log_level _ZN8kerntune16set_log_callbackESt8function
        _ZNK8kerntune11elementwise6launchE)
  if(NOT symbols MATCHES " T ${name}")
    message(FATAL_ERROR "${LIBRARY} does not export ${name}")
  endif()
endforeach()
foreach(internal YAML sqlite3_ _ZN8kerntune8database)
  if(symbols MATCHES "${internal}")
    message(FATAL_ERROR "${LIBRARY} exports internals matching ${internal}")
  endif()
endforeach()
message(STATUS "exports the C ABI and no internals")
