# Interop tests: a qlocal process and an unmodified Qt process (Qt 6 and Qt 5, whichever are
# installed) talk over a local socket, in both directions, each in its own process.
# Included by CMakeLists.txt in its tests section (qlocal::qlocal, qlocal::qlocal_static exist).
#
#   interop/qt_peer.cpp      QLocalServer/QLocalSocket peer, built once per Qt major (qt6_peer, qt5_peer)
#   interop/qlocal_peer.cpp  the same peer on qlocal's C API (qlocal_peer)
#   interop/interop.hpp      what both share: options, name rule, file modes, the scenarios
#   interop/qt_message_peer.cpp, qlocal_message_peer.cpp, messages.hpp
#                            the same for messages: QDataStream << QByteArray read with
#                            transactions on the Qt side, qlocal's message calls on the other
#   interop/run_pair.cpp     the driver: starts the server, waits for "listening", starts the
#                            client, passes when both exit 0 (interop_run_pair)
#
# One ctest entry per case: interop_qt<6|5>_<scenario>_<who serves or who closes>.

option(QLOCAL_REQUIRE_QT
  "Fail the configure step when Qt 6 or Qt 5 (Core, Network) is missing instead of skipping its interop tests" OFF)

find_package(Qt6 COMPONENTS Core Network QUIET)
find_package(Qt5 COMPONENTS Core Network QUIET)

set(_qi_majors "")
set(_qi_found "")
set(_qi_missing "")
if(Qt6_FOUND AND TARGET Qt6::Network)
  list(APPEND _qi_majors 6)
  list(APPEND _qi_found "Qt ${Qt6_VERSION}")
else()
  list(APPEND _qi_missing "Qt 6")
endif()
if(Qt5_FOUND AND TARGET Qt5::Network)
  list(APPEND _qi_majors 5)
  list(APPEND _qi_found "Qt ${Qt5_VERSION}")
else()
  list(APPEND _qi_missing "Qt 5")
endif()
string(REPLACE ";" ", " _qi_found_text "${_qi_found}")
string(REPLACE ";" ", " _qi_missing_text "${_qi_missing}")
if(_qi_found)
  message(STATUS "qlocal interop tests: found ${_qi_found_text}")
endif()
if(_qi_missing)
  if(QLOCAL_REQUIRE_QT)
    message(FATAL_ERROR "qlocal interop tests: ${_qi_missing_text} (Core, Network) not found and "
      "QLOCAL_REQUIRE_QT is ON; install qt6-base-dev and qtbase5-dev, or set CMAKE_PREFIX_PATH")
  endif()
  message(STATUS "qlocal interop tests: ${_qi_missing_text} not found; no interop tests against it")
endif()
if(NOT _qi_majors)
  return()
endif()

# --- Programs ----------------------------------------------------------------------------------
set(_qi_src "${PROJECT_SOURCE_DIR}/interop")

add_executable(interop_run_pair "${_qi_src}/run_pair.cpp")
target_compile_features(interop_run_pair PRIVATE cxx_std_17)
target_compile_options(interop_run_pair PRIVATE -Wall -Wextra -Werror)

# The qlocal peers are linked like qlocal-cpp: under QLOCAL_SANITIZE with ASan/UBSan and the
# static library (so LeakSanitizer sees Rust's allocations too), otherwise with the shared one.
set(_qi_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
foreach(_peer qlocal_peer qlocal_message_peer)
  add_executable(${_peer} "${_qi_src}/${_peer}.cpp")
  target_compile_features(${_peer} PRIVATE cxx_std_17)
  set_target_properties(${_peer} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${_peer} PRIVATE -Wall -Wextra -Werror)
  if(QLOCAL_SANITIZE)
    target_compile_options(${_peer} PRIVATE ${_qi_san})
    target_link_options(${_peer} PRIVATE ${_qi_san})
    target_link_libraries(${_peer} PRIVATE qlocal::qlocal_static)
  else()
    target_link_libraries(${_peer} PRIVATE qlocal::qlocal)
    set_target_properties(${_peer} PROPERTIES BUILD_RPATH "${_qlocal_profile_dir}")
  endif()
endforeach()

# The Qt peers: one source each, compiled against each Qt found; no Q_OBJECT, so no moc.
foreach(_v IN LISTS _qi_majors)
  foreach(_peer peer message_peer)
    set(_t qt${_v}_${_peer})
    add_executable(${_t} "${_qi_src}/qt_${_peer}.cpp")
    target_compile_features(${_t} PRIVATE cxx_std_17)
    set_target_properties(${_t} PROPERTIES AUTOMOC OFF AUTOUIC OFF AUTORCC OFF CXX_EXTENSIONS OFF)
    target_compile_options(${_t} PRIVATE -Wall -Wextra -Werror)
    target_link_libraries(${_t} PRIVATE Qt${_v}::Core Qt${_v}::Network)
  endforeach()
endforeach()

# --- Where the sockets live -----------------------------------------------------------------------
# Relative names resolve in $TMPDIR, set per test to a symlink in the build tree (both libraries
# must canonicalise it the same way); absolute names go to the real folder. A socket path may hold
# 106 bytes: with a deep build tree, fall back to /tmp (names still carry the driver's pid).
set(_qi_dir "${CMAKE_CURRENT_BINARY_DIR}/interop")
string(LENGTH "${_qi_dir}/sockets" _qi_dir_len)
if(_qi_dir_len GREATER 56)
  message(STATUS "qlocal interop tests: build path too long for socket names, using /tmp")
  set(_qi_tmpdir "/tmp")
  set(_qi_abs_dir "/tmp")
else()
  file(MAKE_DIRECTORY "${_qi_dir}/sockets")
  file(CREATE_LINK sockets "${_qi_dir}/tmp-link" SYMBOLIC)
  set(_qi_tmpdir "${_qi_dir}/tmp-link")
  set(_qi_abs_dir "${_qi_dir}/sockets")
endif()

# --- Cases ---------------------------------------------------------------------------------------
# _qlocal_interop_case(<test name> <server program> <client program> <seconds> <peer args>...)
# Both peers get the same arguments; "{pid}" in the name becomes the driver's pid.
function(_qlocal_interop_case test server client seconds)
  math(EXPR _peer_ms "${seconds} * 1000")
  math(EXPR _driver_s "${seconds} + 10")
  math(EXPR _ctest_s "${seconds} + 30")
  add_test(NAME ${test}
    COMMAND interop_run_pair ${_driver_s}
      --server $<TARGET_FILE:${server}> server ${ARGN} --timeout-ms ${_peer_ms}
      --client $<TARGET_FILE:${client}> client ${ARGN} --timeout-ms ${_peer_ms})
  set_tests_properties(${test} PROPERTIES
    TIMEOUT ${_ctest_s}
    LABELS interop
    ENVIRONMENT "TMPDIR=${_qi_tmpdir}")
endfunction()

# Each case both ways: <prefix>_qlocal_server (Qt client) and <prefix>_qt_server (qlocal client).
function(_qlocal_interop_both_ways v prefix seconds)
  _qlocal_interop_case(interop_qt${v}_${prefix}_qlocal_server qlocal_peer qt${v}_peer ${seconds} ${ARGN})
  _qlocal_interop_case(interop_qt${v}_${prefix}_qt_server qt${v}_peer qlocal_peer ${seconds} ${ARGN})
endfunction()

# The same for the message peers (QDataStream with transactions against qlocal's messages).
function(_qlocal_interop_messages v prefix seconds)
  _qlocal_interop_case(interop_qt${v}_${prefix}_qlocal_server qlocal_message_peer qt${v}_message_peer ${seconds} ${ARGN})
  _qlocal_interop_case(interop_qt${v}_${prefix}_qt_server qt${v}_message_peer qlocal_message_peer ${seconds} ${ARGN})
endfunction()

foreach(_v IN LISTS _qi_majors)
  set(_n "qi${_v}")
  # Connect and exchange a message with a relative name ($TMPDIR rule) and an absolute path.
  _qlocal_interop_both_ways(${_v} relative_name 20 --scenario exchange --name ${_n}-rel-{pid})
  _qlocal_interop_both_ways(${_v} absolute_path 20 --scenario exchange --name ${_qi_abs_dir}/${_n}-abs-{pid})
  # Linux abstract namespace (QLocalServer/QLocalSocket::AbstractNamespaceOption, Qt 6.2+).
  if(_v EQUAL 6)
    _qlocal_interop_both_ways(${_v} abstract_namespace 20 --scenario exchange --abstract --name ${_n}-abstract-{pid})
  endif()
  # Binary blocks (every byte value, NUL and 0xFF runs) each way.
  _qlocal_interop_both_ways(${_v} binary 20 --scenario binary --name ${_n}-bin-{pid})
  # 64 MiB from the client, checked and echoed by the server, every echoed byte checked.
  _qlocal_interop_both_ways(${_v} bulk_64mib 120 --scenario bulk --name ${_n}-bulk-{pid})
  # The sender writes a last message (4 MiB, or 13 bytes) and disconnects at once: Qt closing,
  # then qlocal closing, each as client and as server.
  foreach(_size 4mib small)
    if(_size STREQUAL "small")
      set(_sc close_small_by)
    else()
      set(_sc close_by)
    endif()
    _qlocal_interop_case(interop_qt${_v}_peer_close_${_size}_by_qt_client qlocal_peer qt${_v}_peer 20
      --scenario ${_sc}_client --name ${_n}-close-${_size}-qtc-{pid})
    _qlocal_interop_case(interop_qt${_v}_peer_close_${_size}_by_qt_server qt${_v}_peer qlocal_peer 20
      --scenario ${_sc}_server --name ${_n}-close-${_size}-qts-{pid})
    _qlocal_interop_case(interop_qt${_v}_peer_close_${_size}_by_qlocal_client qt${_v}_peer qlocal_peer 20
      --scenario ${_sc}_client --name ${_n}-close-${_size}-qlc-{pid})
    _qlocal_interop_case(interop_qt${_v}_peer_close_${_size}_by_qlocal_server qlocal_peer qt${_v}_peer 20
      --scenario ${_sc}_server --name ${_n}-close-${_size}-qls-{pid})
  endforeach()
  # QDataStream << QByteArray messages (sizes 0, null, 1, 65535, 65536, 65537, 1 MiB + 3, then
  # random ones, some null) in one burst, echoed message by message; two seeds.
  _qlocal_interop_messages(${_v} messages_echo 60 --scenario echo --count 200 --seed 1 --name ${_n}-msg-{pid})
  _qlocal_interop_messages(${_v} messages_echo_seed2 60 --scenario echo --count 500 --seed 77 --name ${_n}-msg2-{pid})
  # A message above qlocal's maximum message size from Qt: refused, the connection closed.
  _qlocal_interop_messages(${_v} messages_oversize 20 --scenario oversize --name ${_n}-msgbig-{pid})
  # Socket options: the same file modes as Qt (0700/0070/0007/0777; umask's without an option),
  # and a client of the other kind connects.
  foreach(_access user group other world none)
    _qlocal_interop_both_ways(${_v} access_${_access} 20 --scenario exchange --access ${_access}
      --name ${_n}-mode-${_access}-{pid})
  endforeach()
endforeach()
