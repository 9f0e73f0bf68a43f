# Configures kerntune from SOURCE_DIR with KERNTUNE_BUILD_TESTS=OFF in a scratch folder as on a
# machine without GoogleTest (CMAKE_DISABLE_FIND_PACKAGE_GTest: a find_package(GTest) finds
# nothing, and one that is REQUIRED stops the configure), then builds libkerntune.
file(REMOVE_RECURSE "${WORK_DIR}")
include(${CMAKE_CURRENT_LIST_DIR}/run_command.cmake)
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}" -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release
    -DCUDAToolkit_ROOT=${CUDA_ROOT} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DKERNTUNE_BUILD_TESTS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON)
if(EXISTS "${WORK_DIR}/tests")
  message(FATAL_ERROR "KERNTUNE_BUILD_TESTS=OFF still added tests/")
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}" --target kerntune)
file(REMOVE_RECURSE "${WORK_DIR}")  # kept only when a step fails
