# Header hygiene: a C file and a C++ file that call every function the way the README does
# (tests/compile/every_call.{c,cpp}) compile with -Wall -Wextra -Werror under GCC and Clang, and
# a file that ignores a write's result does not (QLOCAL_NODISCARD works); and each of the C++
# wrapper's per-class headers (include/qlocal/**.hpp) compiles alone, so every one includes what
# it needs (header_alone_<header>_<compiler>). Compile only.
# Included by CMakeLists.txt in its tests section.
option(QLOCAL_REQUIRE_CLANG "Fail the configure step when clang/clang++ is missing instead of skipping its compile tests" OFF)

set(_cw_dir "${PROJECT_SOURCE_DIR}/tests/compile")
set(_cw_inc "-I${PROJECT_SOURCE_DIR}/include")
find_program(QLOCAL_GCC gcc)
find_program(QLOCAL_GXX g++)
find_program(QLOCAL_CLANG clang)
find_program(QLOCAL_CLANGXX clang++)
if(NOT (QLOCAL_CLANG AND QLOCAL_CLANGXX))
  if(QLOCAL_REQUIRE_CLANG)
    message(FATAL_ERROR "clang and clang++ are needed for the compile-warning tests (apt-get install clang)")
  endif()
  message(STATUS "qlocal compile-warning tests: clang not found; GCC only")
endif()

# The wrapper's headers, found again on every build so a new one gets its test.
file(GLOB_RECURSE _cw_headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/include"
  "${PROJECT_SOURCE_DIR}/include/qlocal/*.hpp")
list(SORT _cw_headers)
if(NOT _cw_headers)
  message(FATAL_ERROR "no C++ wrapper headers found in include/qlocal/")
endif()

foreach(_cw_pair "gcc;${QLOCAL_GCC};${QLOCAL_GXX}" "clang;${QLOCAL_CLANG};${QLOCAL_CLANGXX}")
  list(GET _cw_pair 0 _cw_name)
  list(GET _cw_pair 1 _cw_cc)
  list(GET _cw_pair 2 _cw_cxx)
  if(NOT _cw_cc OR NOT _cw_cxx)
    continue()
  endif()
  add_test(NAME compile_warnings_c_${_cw_name}
    COMMAND ${_cw_cc} -std=c11 -Wall -Wextra -Werror ${_cw_inc} -c "${_cw_dir}/every_call.c" -o /dev/null)
  add_test(NAME compile_warnings_cpp_${_cw_name}
    COMMAND ${_cw_cxx} -std=c++17 -Wall -Wextra -Werror ${_cw_inc} -c "${_cw_dir}/every_call.cpp" -o /dev/null)
  add_test(NAME compile_ignored_write_fails_c_${_cw_name}
    COMMAND ${_cw_cc} -std=c11 -Wall -Wextra -Werror ${_cw_inc} -c "${_cw_dir}/ignored_result.c" -o /dev/null)
  add_test(NAME compile_ignored_write_fails_cpp_${_cw_name}
    COMMAND ${_cw_cxx} -x c++ -std=c++17 -Wall -Wextra -Werror ${_cw_inc} -c "${_cw_dir}/ignored_result.c" -o /dev/null)
  set_tests_properties(compile_ignored_write_fails_c_${_cw_name} compile_ignored_write_fails_cpp_${_cw_name}
    PROPERTIES WILL_FAIL TRUE)
  # qlocal/detail/handlers.hpp -> header_alone_qlocal_detail_handlers_gcc
  foreach(_cw_header IN LISTS _cw_headers)
    string(REGEX REPLACE "[/.]" "_" _cw_id "${_cw_header}")
    string(REGEX REPLACE "_hpp$" "" _cw_id "${_cw_id}")
    add_test(NAME header_alone_${_cw_id}_${_cw_name}
      COMMAND ${_cw_cxx} -x c++ -std=c++17 -Wall -Wextra -Werror ${_cw_inc} -fsyntax-only
              "${PROJECT_SOURCE_DIR}/include/${_cw_header}")
  endforeach()
endforeach()
