# The README's porting guide must work as written: its echo server and its blocking client are
# cut out of README.md at configure time, built against qlocal::cpp, and run against each other
# (readme_echo_example). Included from CMakeLists.txt's test section.
file(READ "${PROJECT_SOURCE_DIR}/README.md" _readme)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/README.md")
string(REGEX MATCH "// echo_server\\.cpp[^`]*" _server_src "${_readme}")
string(REGEX MATCH "auto loop = qlocal::EventLoop::create\\(\\);\nauto sock[^`]*" _client_body "${_readme}")
if(NOT _server_src OR NOT _client_body)
  message(FATAL_ERROR "README.md: the echo server or the blocking client example was not found")
endif()
set(_dir "${PROJECT_BINARY_DIR}/readme_examples")
file(CONFIGURE OUTPUT "${_dir}/echo_server.cpp" CONTENT "${_server_src}" @ONLY)
# The client block is a function body; it ends after reading the echo. Then say "quit".
file(CONFIGURE OUTPUT "${_dir}/echo_client.cpp" CONTENT
"// Cut from README.md by cmake/ReadmeExamples.cmake.
#include \"qlocal.hpp\"

#include <cstdio>
#include <string>

int main() {
${_client_body}
    if (echoed != \"hello\\n\") return 1;
    if (sock->write(\"quit\\n\") != qlocal::Result::Ok) return 1;
    return sock->waitForBytesWritten(1000) ? 0 : 1;
}
" @ONLY)

if(NOT TARGET interop_run_pair)
  add_executable(interop_run_pair "${PROJECT_SOURCE_DIR}/interop/run_pair.cpp")
  target_compile_features(interop_run_pair PRIVATE cxx_std_17)
  target_compile_options(interop_run_pair PRIVATE -Wall -Wextra -Werror)
endif()
foreach(_example echo_server echo_client)
  set(_t readme_${_example})
  add_executable(${_t} "${_dir}/${_example}.cpp")
  target_compile_features(${_t} PRIVATE cxx_std_17)
  target_compile_options(${_t} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  if(QLOCAL_SANITIZE)
    target_compile_options(${_t} PRIVATE ${_qlocal_san})
    target_link_options(${_t} PRIVATE ${_qlocal_san})
    target_link_libraries(${_t} PRIVATE qlocal::qlocal_static)
    target_include_directories(${_t} PRIVATE "${PROJECT_SOURCE_DIR}/include")
  else()
    target_link_libraries(${_t} PRIVATE qlocal::cpp)
    set_target_properties(${_t} PROPERTIES BUILD_RPATH "${_qlocal_profile_dir}")
  endif()
endforeach()
# The server's name is fixed ("echo-demo"); a private TMPDIR keeps parallel runs apart.
file(MAKE_DIRECTORY "${_dir}/tmp")
# A killed earlier run may have left the socket file: remove it first (the README's server,
# like Qt's, refuses a name in use).
add_test(NAME readme_echo_example
  COMMAND sh -c "rm -f \"$1/echo-demo\" && exec \"$2\" 30 --server \"$3\" --client \"$4\"" sh
          "${_dir}/tmp" $<TARGET_FILE:interop_run_pair> $<TARGET_FILE:readme_echo_server>
          $<TARGET_FILE:readme_echo_client>)
set_tests_properties(readme_echo_example PROPERTIES TIMEOUT 60 ENVIRONMENT "TMPDIR=${_dir}/tmp")

# The README's own compile line for the echo server, run as written from a directory laid out
# like a checkout (include/, target/release/ = cargo's output), against the shared library that
# `cargo build` made: the program must load it (the SONAME's file name must exist beside it)
# and serve the README's client (readme_documented_link). Sanitizer builds link statically.
string(REGEX MATCH "// echo_server\\.cpp: +([^\n]*)" _line "${_readme}")
set(_documented "${CMAKE_MATCH_1}")
if(NOT _documented MATCHES "^g\\+\\+ .*-lqlocal")
  message(FATAL_ERROR "README.md: the echo server's compile line was not found")
endif()
if(NOT QLOCAL_SANITIZE)
  set(_root "${_dir}/documented")
  file(MAKE_DIRECTORY "${_root}/target" "${_root}/tmp")
  file(CREATE_LINK "${PROJECT_SOURCE_DIR}/include" "${_root}/include" SYMBOLIC)
  file(COPY_FILE "${_dir}/echo_server.cpp" "${_root}/echo_server.cpp")
  add_test(NAME readme_documented_link
    COMMAND sh -c "cd \"$1\" && ln -sfn \"$2\" target/release && rm -f a.out tmp/echo-demo && ${_documented} && exec \"$3\" 30 --server \"$1/a.out\" --client \"$4\"" sh
            "${_root}" "${_qlocal_profile_dir}" $<TARGET_FILE:interop_run_pair> $<TARGET_FILE:readme_echo_client>)
  set_tests_properties(readme_documented_link PROPERTIES TIMEOUT 120 ENVIRONMENT "TMPDIR=${_root}/tmp")
endif()
