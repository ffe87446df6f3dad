# The programs behind scripts/flows.sh that are not C++ cases: the C epoll floor
# (bench/epoll_flow.c) must pass its own byte checks (one process, and clients in a second
# process as pingPong 10000 runs them), its checks must catch a flipped bit (--corrupt), and the
# round-trip subcommands of the floor and of qlocal-cpp must finish. Linux only (epoll).
# Included by CMakeLists.txt in its tests section.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  find_package(Threads REQUIRED)
  add_executable(epoll_flow "${PROJECT_SOURCE_DIR}/bench/epoll_flow.c")
  set_target_properties(epoll_flow PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  target_compile_options(epoll_flow PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(epoll_flow PRIVATE Threads::Threads)

  add_test(NAME floor_flow_data_exchange COMMAND epoll_flow --row "dataExchange 5 x 10000")
  add_test(NAME floor_flow_ping_pong_two_processes COMMAND epoll_flow --row "pingPong 10000")
  add_test(NAME floor_flow_detects_corruption COMMAND epoll_flow --corrupt --row "pingPong 10")
  add_test(NAME floor_rtt COMMAND epoll_flow --rtt 200)
  add_test(NAME qlocal_flow_rtt COMMAND qlocal-cpp flow-rtt 200)
  set_tests_properties(floor_flow_data_exchange floor_flow_ping_pong_two_processes floor_rtt qlocal_flow_rtt
    PROPERTIES PASS_REGULAR_EXPRESSION "^ok [0-9.]+ [0-9.]+\n$" TIMEOUT 120)
  set_tests_properties(floor_flow_detects_corruption PROPERTIES
    PASS_REGULAR_EXPRESSION "^error client [0-9]+ got wrong bytes at offset" TIMEOUT 120)
endif()
