// A second translation unit using the wrapper: it is header-only, so every function in it must
// be inline (or a template) for this program to link at all. This file includes per-class
// headers first (each must be usable on its own) and then, through harness.hpp, the umbrella
// qlocal.hpp that the other test files include; the program links both spellings.
#include "qlocal/local_server.hpp"
#include "qlocal/result.hpp"
#include "qlocal/timer.hpp"

#include "harness.hpp"

QLOCAL_TEST(wrapper_header_in_second_translation_unit) {
    auto loop = qlocal::EventLoop::create();
    CHECK(loop.ok());
    auto server = qlocal::LocalServer::create(*loop);
    auto client = qlocal::LocalSocket::create(*loop);
    CHECK(server.ok() && client.ok());
    std::string name = qt::unique_name("wodr");
    CHECK(server->listen(name));
    CHECK(client->connectToServer(name) == qlocal::Result::Ok);
    CHECK(client->waitForConnected(2000));
    CHECK(server->waitForNewConnection(2000));
    CHECK(server->nextPendingConnection());
    CHECK_STREQ(qlocal::resultString(qlocal::Result::Timeout), qlocal_result_string(QLOCAL_RESULT_TIMEOUT));
}
