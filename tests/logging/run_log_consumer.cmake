# Runs tests/logging/log_consumer (PROGRAM) for one CASE, with stdout and stderr captured apart,
# in an environment of its own: KERNTUNE_TEMPLATES=/nonexistent (so that the library warns with
# or without a GPU) and KERNTUNE_LOG_LEVEL unset unless the case sets it. libkerntune must never
# write to the application's stdout; stderr must hold exactly the lines the case expects.
set(folder_warning "kerntune: warning: ignoring the template folder /nonexistent from KERNTUNE_TEMPLATES: [^\n]*\n")
set(level_env --unset=KERNTUNE_LOG_LEVEL)
if(CASE STREQUAL "default")  # warnings on stderr, one line each, nothing on stdout
  set(args stderr 1)
  set(expected_stderr "^${folder_warning}$")
elseif(CASE STREQUAL "twice")  # one line per warning, each time it happens
  set(args stderr 2)
  set(expected_stderr "^${folder_warning}${folder_warning}$")
elseif(CASE STREQUAL "off")
  set(level_env KERNTUNE_LOG_LEVEL=off)
  set(args stderr 1)
  set(expected_stderr "^$")
elseif(CASE STREQUAL "error_in_capitals")  # case-insensitive; warnings are below error
  set(level_env KERNTUNE_LOG_LEVEL=ERROR)
  set(args stderr 1)
  set(expected_stderr "^$")
elseif(CASE STREQUAL "debug")  # more detail, still never on stdout
  set(level_env KERNTUNE_LOG_LEVEL=Debug)
  set(args stderr 1)
  set(expected_stderr "^(kerntune: debug: [^\n]*\n)*${folder_warning}(kerntune: debug: [^\n]*\n)*$")
elseif(CASE STREQUAL "unknown")  # reported once, at warn, and the default (warn) kept
  set(level_env KERNTUNE_LOG_LEVEL=loud)
  set(args stderr 2)
  set(expected_stderr "^kerntune: warning: unknown KERNTUNE_LOG_LEVEL 'loud' [^\n]*\n${folder_warning}${folder_warning}$")
elseif(CASE STREQUAL "set_level_overrides_environment")
  set(level_env KERNTUNE_LOG_LEVEL=debug)
  set(args set-level-off)
  set(expected_stderr "^$")
elseif(CASE STREQUAL "callback")  # the callback gets the warning (the program checks), stderr nothing
  set(args callback)
  set(expected_stderr "^$")
elseif(CASE STREQUAL "callback_then_null")  # NULL restores stderr
  set(args callback-then-null)
  set(expected_stderr "^${folder_warning}$")
else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env KERNTUNE_TEMPLATES=/nonexistent --unset=KERNTUNE_DB ${level_env} ${PROGRAM} ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(report "${PROGRAM} ${args} (${level_env}): exit ${rc}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the program failed: ${report}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "libkerntune wrote to the application's stdout: ${report}")
endif()
if(NOT err MATCHES "${expected_stderr}")
  message(FATAL_ERROR "stderr does not match ${expected_stderr}: ${report}")
endif()
message(STATUS "${CASE}: stdout empty, stderr as expected\n${err}")
