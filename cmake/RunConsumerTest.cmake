# cmake -P driver for the consumer tests: MODE=package installs the build tree into WORK_DIR and
# builds tests/consumer with find_package; MODE=subdir builds it with add_subdirectory. Then it
# runs the programs (the Qt one too when REQUIRE_QT: qlocal was built with Qt). Every step must succeed.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(_consumer "${SOURCE_DIR}/tests/consumer")
if(MODE STREQUAL "package")
  step(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
  step(${CMAKE_COMMAND} -S "${_consumer}" -B "${WORK_DIR}/build" -DCMAKE_BUILD_TYPE=Release
       "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -DQLOCAL_CONSUMER_REQUIRE_QT=${REQUIRE_QT})
elseif(MODE STREQUAL "subdir")
  step(${CMAKE_COMMAND} -S "${_consumer}" -B "${WORK_DIR}/build" -DCMAKE_BUILD_TYPE=Release
       -DQLOCAL_CONSUMER_SUBDIR=ON "-DQLOCAL_SOURCE_DIR=${SOURCE_DIR}" -DQLOCAL_CONSUMER_REQUIRE_QT=${REQUIRE_QT})
else()
  message(FATAL_ERROR "MODE must be package or subdir")
endif()
step(${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j 2)
step("${WORK_DIR}/build/echo_cpp")
step("${WORK_DIR}/build/wrapper_cpp")
step("${WORK_DIR}/build/version_c")
if(REQUIRE_QT)
  step("${WORK_DIR}/build/qt_classes_cpp")
endif()
