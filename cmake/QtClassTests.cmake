# Tests of qlocal::qt (QtLocalServer, QtLocalSocket). Included from CMakeLists.txt's test section,
# after QtInteropTests.cmake (interop_run_pair, the socket folder) and QtClasses.cmake.
#
# Each test source is plain Qt code with a typedef switch (USE_QLOCAL) and is built four ways:
# Qt 6 and Qt 5, each with Qt's QLocalServer/QLocalSocket (<name>_qt<v>_qt) and with qlocal's
# classes (<name>_qt<v>_qlocal), so the expected behaviour is what the Qt builds show.
#
#   interop/qt_classes_peer.cpp  fortune-style echo peer; every server build against every client
#                                build: qt_classes_<server build>_serves_<client build>
#   interop/qt_classes_test.cpp  signal order and state inside each signal, one process, one
#                                scenario per ctest entry: qt_classes_<scenario>_qt<v>_<qt|qlocal>

if(NOT TARGET interop_run_pair OR NOT QLOCAL_QT_CLASS_MAJORS)
  return()
endif()

# _qlocal_qt_class_program(<target> <source> <major> <qt|qlocal>)
function(_qlocal_qt_class_program target source major kind)
  add_executable(${target} "${PROJECT_SOURCE_DIR}/interop/${source}")
  set_target_properties(${target} PROPERTIES AUTOMOC ON CXX_EXTENSIONS OFF)
  target_compile_features(${target} PRIVATE cxx_std_17)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(kind STREQUAL "qlocal")
    target_compile_definitions(${target} PRIVATE USE_QLOCAL)
    # Sanitizer flags and the static library (QLOCAL_SANITIZE) come with qlocal_qt<v>.
    target_link_libraries(${target} PRIVATE qlocal_qt${major})
    if(QLOCAL_SANITIZE)
      target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
    else()
      set_target_properties(${target} PROPERTIES BUILD_RPATH "${_qlocal_profile_dir}")
    endif()
  else()
    target_link_libraries(${target} PRIVATE Qt${major}::Core Qt${major}::Network)
  endif()
endfunction()

set(_qct_builds "")
foreach(_v IN LISTS QLOCAL_QT_CLASS_MAJORS)
  if(NOT TARGET Qt${_v}::Network)
    continue()
  endif()
  foreach(_kind qt qlocal)
    _qlocal_qt_class_program(qt${_v}_classes_peer_${_kind} qt_classes_peer.cpp ${_v} ${_kind})
    _qlocal_qt_class_program(qt${_v}_classes_test_${_kind} qt_classes_test.cpp ${_v} ${_kind})
    list(APPEND _qct_builds qt${_v}${_kind})
  endforeach()
endforeach()

# Qt's libraries are not built with ASan; their one-off allocations are not ours.
set(_qct_env "TMPDIR=${_qi_tmpdir};QT_QPA_PLATFORM=offscreen;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1")

# Every server build against every client build, Qt 6 and Qt 5 mixed too (the wire is QDataStream
# version 5.12 both ways).
foreach(_server IN LISTS _qct_builds)
  foreach(_client IN LISTS _qct_builds)
    string(REGEX REPLACE "^qt([56])(qt|qlocal)$" "qt\\1_classes_peer_\\2" _server_target "${_server}")
    string(REGEX REPLACE "^qt([56])(qt|qlocal)$" "qt\\1_classes_peer_\\2" _client_target "${_client}")
    set(_test qt_classes_${_server}_serves_${_client})
    add_test(NAME ${_test}
      COMMAND interop_run_pair 60
        --server $<TARGET_FILE:${_server_target}> server --name qc-${_server}-${_client}-{pid} --count 64 --timeout-ms 50000
        --client $<TARGET_FILE:${_client_target}> client --name qc-${_server}-${_client}-{pid} --count 64 --timeout-ms 50000)
    set_tests_properties(${_test} PROPERTIES TIMEOUT 90 LABELS "interop;qt_classes" ENVIRONMENT "${_qct_env}")
  endforeach()
endforeach()

# The signal-order scenarios of qt_classes_test.cpp (its `scenarios` table lists the same names;
# `qt_classes_test --list` prints them and qt_classes_scenarios_listed checks both agree).
set(_qct_scenarios connect_write peer_close about_to_close server_not_found abort waits text_stream
  delete_in_disconnected transaction accepted_before_slot worker_thread incoming_override)
foreach(_build IN LISTS _qct_builds)
  string(REGEX REPLACE "^qt([56])(qt|qlocal)$" "qt\\1_classes_test_\\2" _target "${_build}")
  string(REGEX REPLACE "^qt([56])(qt|qlocal)$" "qt\\1_\\2" _suffix "${_build}")
  foreach(_scenario IN LISTS _qct_scenarios)
    add_test(NAME qt_classes_${_scenario}_${_suffix} COMMAND ${_target} ${_scenario})
    set_tests_properties(qt_classes_${_scenario}_${_suffix} PROPERTIES TIMEOUT 60 LABELS qt_classes
      ENVIRONMENT "${_qct_env}")
  endforeach()
  string(REPLACE ";" "\n" _qct_expected "${_qct_scenarios}")
  add_test(NAME qt_classes_scenarios_listed_${_suffix} COMMAND ${_target} --list)
  set_tests_properties(qt_classes_scenarios_listed_${_suffix} PROPERTIES TIMEOUT 30
    PASS_REGULAR_EXPRESSION "^${_qct_expected}\n$")
endforeach()
