# A separate project consumes qlocal through find_package (against an installed copy of this
# build) and through add_subdirectory, builds, and runs. Skipped under QLOCAL_SANITIZE (the
# consumer is an ordinary build) and when install rules are off.
if(NOT QLOCAL_SANITIZE AND (PROJECT_IS_TOP_LEVEL OR QLOCAL_INSTALL))
  foreach(_mode package subdir)
    add_test(NAME consumer_${_mode}
      COMMAND ${CMAKE_COMMAND} -DMODE=${_mode} "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
              "-DBINARY_DIR=${PROJECT_BINARY_DIR}" "-DWORK_DIR=${PROJECT_BINARY_DIR}/consumer-${_mode}"
              "-DREQUIRE_QT=$<IF:$<TARGET_EXISTS:qlocal::qt>,ON,OFF>"
              -P "${PROJECT_SOURCE_DIR}/cmake/RunConsumerTest.cmake")
    set_tests_properties(consumer_${_mode} PROPERTIES TIMEOUT 600)
  endforeach()
endif()
