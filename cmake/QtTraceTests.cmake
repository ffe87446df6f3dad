# Trace tests: the same scenario run by a Qt program (Qt 6 and Qt 5, whichever are installed)
# and by a qlocal program, each with both ends in one process on one event loop; a driver
# compares every socket role's sequence of callbacks and the bytes each side received.
# Included by CMakeLists.txt in its tests section (qlocal::qlocal, qlocal::qlocal_static exist).
#
#   interop/trace.hpp            the scenarios and the trace format, shared by the programs
#   interop/trace_qt.cpp         the Qt program, built once per Qt major (trace_qt6, trace_qt5)
#   interop/trace_qlocal.cpp     the qlocal program, on the C API (trace_qlocal)
#   interop/trace_compare.cpp    the driver: runs both, normalises, compares (trace_compare)
#   interop/trace_differences.txt  what qlocal does differently on purpose, each with its README row
#
# One ctest entry per scenario and Qt major: trace_qt<6|5>_<scenario>; plus
# trace_differences_documented (every listed difference has a row in README.md's table).

option(QLOCAL_REQUIRE_QT
  "Fail the configure step when Qt 6 or Qt 5 (Core, Network) is missing instead of skipping its interop tests" OFF)

find_package(Qt6 COMPONENTS Core Network QUIET)
find_package(Qt5 COMPONENTS Core Network QUIET)

set(_qt_trace_majors "")
set(_qt_trace_missing "")
foreach(_v 6 5)
  if(Qt${_v}_FOUND AND TARGET Qt${_v}::Network)
    list(APPEND _qt_trace_majors ${_v})
  else()
    list(APPEND _qt_trace_missing "Qt ${_v}")
  endif()
endforeach()
if(_qt_trace_missing)
  string(REPLACE ";" ", " _qt_trace_missing_text "${_qt_trace_missing}")
  if(QLOCAL_REQUIRE_QT)
    message(FATAL_ERROR "qlocal trace tests: ${_qt_trace_missing_text} (Core, Network) not found and "
      "QLOCAL_REQUIRE_QT is ON; install qt6-base-dev and qtbase5-dev, or set CMAKE_PREFIX_PATH")
  endif()
  message(STATUS "qlocal trace tests: ${_qt_trace_missing_text} not found; no trace tests against it")
endif()

set(_qt_trace_src "${PROJECT_SOURCE_DIR}/interop")
set(_qt_trace_differences "${_qt_trace_src}/trace_differences.txt")

add_executable(trace_compare "${_qt_trace_src}/trace_compare.cpp")
target_compile_features(trace_compare PRIVATE cxx_std_17)
target_compile_options(trace_compare PRIVATE -Wall -Wextra -Werror)

add_test(NAME trace_differences_documented
  COMMAND trace_compare --check-differences "${_qt_trace_differences}" --readme "${PROJECT_SOURCE_DIR}/README.md")
set_tests_properties(trace_differences_documented PROPERTIES TIMEOUT 30 LABELS trace)

if(NOT _qt_trace_majors)
  return()
endif()

# The qlocal program is linked like qlocal_peer: under QLOCAL_SANITIZE with ASan/UBSan and the
# static library, otherwise with the shared library.
add_executable(trace_qlocal "${_qt_trace_src}/trace_qlocal.cpp")
target_compile_features(trace_qlocal PRIVATE cxx_std_17)
set_target_properties(trace_qlocal PROPERTIES CXX_EXTENSIONS OFF)
target_compile_options(trace_qlocal PRIVATE -Wall -Wextra -Werror)
if(QLOCAL_SANITIZE)
  set(_qt_trace_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_compile_options(trace_qlocal PRIVATE ${_qt_trace_san})
  target_link_options(trace_qlocal PRIVATE ${_qt_trace_san})
  target_link_libraries(trace_qlocal PRIVATE qlocal::qlocal_static)
else()
  target_link_libraries(trace_qlocal PRIVATE qlocal::qlocal)
  set_target_properties(trace_qlocal PROPERTIES BUILD_RPATH "${_qlocal_profile_dir}")
endif()

# The Qt programs: one source, compiled against each Qt found; no Q_OBJECT, so no moc.
foreach(_v IN LISTS _qt_trace_majors)
  add_executable(trace_qt${_v} "${_qt_trace_src}/trace_qt.cpp")
  target_compile_features(trace_qt${_v} PRIVATE cxx_std_17)
  set_target_properties(trace_qt${_v} PROPERTIES AUTOMOC OFF AUTOUIC OFF AUTORCC OFF CXX_EXTENSIONS OFF)
  target_compile_options(trace_qt${_v} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(trace_qt${_v} PRIVATE Qt${_v}::Core Qt${_v}::Network)
endforeach()

# Relative names resolve in $TMPDIR: a folder of the build tree when its path is short enough
# for the 200-byte name scenario to stay the only over-long one, else /tmp.
set(_qt_trace_dir "${CMAKE_CURRENT_BINARY_DIR}/trace-sockets")
string(LENGTH "${_qt_trace_dir}" _qt_trace_dir_len)
if(_qt_trace_dir_len GREATER 56)
  set(_qt_trace_dir "/tmp")
else()
  file(MAKE_DIRECTORY "${_qt_trace_dir}")
endif()

set(_qt_trace_scenarios
  peer_close_by_client_0 peer_close_by_client_1 peer_close_by_client_100003
  peer_close_by_server_0 peer_close_by_server_1 peer_close_by_server_100003
  graceful_disconnect_totals
  connect_absent connect_stale connect_empty connect_long
  abort_queued
  read_bound
  half_close_10 half_close_4mib)

foreach(_v IN LISTS _qt_trace_majors)
  foreach(_sc IN LISTS _qt_trace_scenarios)
    add_test(NAME trace_qt${_v}_${_sc}
      COMMAND trace_compare --scenario ${_sc} --qt-major ${_v}
        --qt $<TARGET_FILE:trace_qt${_v}> --qlocal $<TARGET_FILE:trace_qlocal>
        --differences "${_qt_trace_differences}" --readme "${PROJECT_SOURCE_DIR}/README.md"
        --timeout-ms 10000)
    set_tests_properties(trace_qt${_v}_${_sc} PROPERTIES
      TIMEOUT 40
      LABELS trace
      ENVIRONMENT "TMPDIR=${_qt_trace_dir}")
  endforeach()
endforeach()
