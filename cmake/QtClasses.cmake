# qlocal::qt: QtLocalServer (QObject) and QtLocalSocket (QIODevice), include/qlocal_qt_classes.hpp,
# built with AUTOMOC on QtCore only (no QtNetwork) when Qt is found. Included from CMakeLists.txt.
#
# One static library per Qt major found (qlocal_qt6, qlocal_qt5: the tests build and run
# against both); qlocal::qt aliases the preferred one: Qt 6, else Qt 5, or the one
# QLOCAL_QT_MAJOR names. Under QLOCAL_SANITIZE (a test build) the libraries are compiled with
# ASan/UBSan and link qlocal::qlocal_static, as the test programs do; otherwise qlocal::qlocal.

set(QLOCAL_QT_MAJOR "" CACHE STRING "Qt major for qlocal::qt (6 or 5; empty: Qt 6 if found, else Qt 5)")

set(QLOCAL_QT_CLASS_MAJORS "")
foreach(_qc_major 6 5)
  find_package(Qt${_qc_major} COMPONENTS Core QUIET)
  if(NOT TARGET Qt${_qc_major}::Core)
    continue()
  endif()
  set(_qc_target qlocal_qt${_qc_major})
  add_library(${_qc_target} STATIC
    "${PROJECT_SOURCE_DIR}/qt/qlocal_qt_classes.cpp"
    "${PROJECT_SOURCE_DIR}/include/qlocal_qt_classes.hpp")
  set_target_properties(${_qc_target} PROPERTIES
    AUTOMOC ON
    CXX_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${_qc_target} PUBLIC cxx_std_17)
  target_compile_options(${_qc_target} PRIVATE -Wall -Wextra -Werror)
  target_include_directories(${_qc_target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${_qc_target} PUBLIC Qt${_qc_major}::Core)
  if(QLOCAL_SANITIZE)
    set(_qc_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_compile_options(${_qc_target} PRIVATE ${_qc_san})
    target_link_options(${_qc_target} PUBLIC ${_qc_san})
    target_link_libraries(${_qc_target} PUBLIC qlocal::qlocal_static)
  else()
    target_link_libraries(${_qc_target} PUBLIC qlocal::qlocal)
  endif()
  list(APPEND QLOCAL_QT_CLASS_MAJORS ${_qc_major})
endforeach()

if(QLOCAL_QT_MAJOR)
  if(NOT QLOCAL_QT_MAJOR IN_LIST QLOCAL_QT_CLASS_MAJORS)
    message(FATAL_ERROR "QLOCAL_QT_MAJOR=${QLOCAL_QT_MAJOR}: Qt ${QLOCAL_QT_MAJOR} (Core) not found")
  endif()
  set(_qc_preferred ${QLOCAL_QT_MAJOR})
elseif(QLOCAL_QT_CLASS_MAJORS)
  list(GET QLOCAL_QT_CLASS_MAJORS 0 _qc_preferred)
endif()
if(QLOCAL_QT_CLASS_MAJORS)
  add_library(qlocal::qt ALIAS qlocal_qt${_qc_preferred})
  message(STATUS "qlocal::qt: Qt ${_qc_preferred} (QtLocalServer, QtLocalSocket)")
else()
  message(STATUS "qlocal::qt: no Qt found; the Qt classes are not built")
endif()
