// The same benchmark flows as cpp_tests/flow.cpp, written against Qt's QLocalServer and
// QLocalSocket (Qt 5 or 6), so that scripts/flows.sh can time Qt and qlocal in the same run.
// An echo server on its own QThread with its own event loop; the clients on the main thread;
// every echoed byte is checked; one chunk in flight per client.
//
//   qt_flow --row "pingPong 100"          one row, prints "ok SETUP_MS RUN_MS" or "error ..."
//   qt_flow flow-clients NAME ROW         clients only (second process, 10,000 connections)
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QThread>
#include <QTimer>

#include "flow_stream.hpp"  // cpp_tests/: the same bytes as qlocal's flow

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

struct Row {
    std::string label;
    int connections = 1;
    int chunk = 1;
    long long bytes = 1;
    bool child_clients = false;
};

bool parse_row(const std::string &label, Row &r) {
    r.label = label;
    int c = 0, k = 0;
    if (std::sscanf(label.c_str(), "pingPong %d", &c) == 1) {
        r.connections = c;
        r.chunk = 1;
        r.bytes = std::max(1LL, 100000LL / c);
        r.child_clients = c >= 10000;
        return c > 0;
    }
    if (std::sscanf(label.c_str(), "dataExchange %d x %d", &c, &k) == 2) {
        r.connections = c;
        r.chunk = k;
        r.bytes = 50000LL * k / c;
        return c > 0 && k > 0;
    }
    return false;
}

using flow_stream::raise_fd_limit;
const char *stream_at(int client, long long offset) {
    return reinterpret_cast<const char *>(flow_stream::at(client, offset));
}

class EchoThread : public QThread {
public:
    EchoThread(QString name, int chunk) : name_(std::move(name)), chunk_(chunk) {}
    std::atomic<int> state{0};  // 0 starting, 1 listening, -1 failed
    QString error;

protected:
    void run() override {
        auto server = std::make_unique<QLocalServer>();
        QLocalServer::removeServer(name_);
        std::vector<char> buffer(static_cast<size_t>(chunk_));
        QObject::connect(server.get(), &QLocalServer::newConnection, [&] {
            while (QLocalSocket *s = server->nextPendingConnection()) {
                QObject::connect(s, &QLocalSocket::readyRead, [s, &buffer, this] {
                    while (s->bytesAvailable() > 0) {
                        qint64 n = s->read(buffer.data(), static_cast<qint64>(buffer.size()));
                        if (n <= 0 || s->write(buffer.data(), n) != n) {
                            error = "server read/write failed";
                            return;
                        }
                    }
                });
            }
        });
        if (!server->listen(name_)) {
            error = server->errorString();
            state = -1;
            return;
        }
        state = 1;
        exec();
        server.reset();  // deletes the accepted sockets (children of the server)
    }

private:
    QString name_;
    int chunk_;
};

struct Result {
    bool ok = false;
    std::string error;
    double setup_ms = 0, run_ms = 0;
};

Result run_clients(const Row &row, const QString &name) {
    Result res;
    raise_fd_limit();
    struct Client {
        std::unique_ptr<QLocalSocket> s;
        long long to_read = 0, sent = 0, received = 0;
    };
    std::vector<Client> clients(static_cast<size_t>(row.connections));
    long long per_client = std::max(1LL, row.bytes / row.chunk) * row.chunk;
    std::vector<char> scratch(std::max<size_t>(static_cast<size_t>(row.chunk), 65536));
    int connected = 0, done = 0;
    std::string error;
    QEventLoop loop;
    auto fail = [&](const std::string &e) {
        if (error.empty()) error = e;
        loop.quit();
    };
    auto send_chunk = [&](int i) {
        Client &c = clients[static_cast<size_t>(i)];
        if (c.s->write(stream_at(i, c.sent), row.chunk) != row.chunk) return fail("client write");
        c.sent += row.chunk;
    };
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < row.connections; ++i) {
        Client &c = clients[static_cast<size_t>(i)];
        c.to_read = per_client;
        c.s = std::make_unique<QLocalSocket>();
        QLocalSocket *s = c.s.get();
        QObject::connect(s, &QLocalSocket::connected, [&] {
            if (++connected == row.connections) loop.quit();
        });
        QObject::connect(s, &QLocalSocket::errorOccurred, [&, s](QLocalSocket::LocalSocketError) {
            fail("client error: " + s->errorString().toStdString());
        });
        QObject::connect(s, &QLocalSocket::readyRead, [&, i, s] {
            Client &c = clients[static_cast<size_t>(i)];
            for (;;) {
                qint64 n = s->read(scratch.data(), static_cast<qint64>(scratch.size()));
                if (n < 0) return fail("client read");
                if (n == 0) break;
                if (n > c.to_read || c.received + n > c.sent) return fail("too many bytes");
                if (std::memcmp(scratch.data(), stream_at(i, c.received), static_cast<size_t>(n)) != 0)
                    return fail("wrong bytes");
                c.received += n;
                c.to_read -= n;
            }
            if (c.to_read == 0) {
                if (++done == row.connections) loop.quit();
            } else if (c.received == c.sent) {
                send_chunk(i);
            }
        });
        s->connectToServer(name);  // on Linux, connected() usually fires inside this call
        // Past a full listen backlog Qt leaves the socket in ConnectingState with no timer that
        // ends it; its waitForConnected retries connect() until the server has accepted (the
        // original benchmark spins on connectToServer instead, without a deadline).
        if (s->state() == QLocalSocket::ConnectingState && !s->waitForConnected(30000))
            return res.error = "client " + std::to_string(i) + " could not connect", res;
    }
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, [&] { fail("timed out"); });
    deadline.start(10 * 60 * 1000);
    if (connected < row.connections && error.empty()) loop.exec();
    if (!error.empty()) {
        res.error = error;
        return res;
    }
    res.setup_ms = static_cast<double>(timer.nsecsElapsed()) / 1e6;
    timer.restart();
    for (int i = 0; i < row.connections && error.empty(); ++i) send_chunk(i);
    if (done < row.connections && error.empty()) loop.exec();
    res.run_ms = static_cast<double>(timer.nsecsElapsed()) / 1e6;
    if (!error.empty()) {
        res.error = error;
        return res;
    }
    res.ok = true;
    return res;
}

Result run_row(const Row &row) {
    Result res;
    raise_fd_limit();
    QString name = QStringLiteral("qlocal-qtflow-%1").arg(getpid());
    EchoThread server(name, row.chunk);
    server.start();
    while (server.state.load() == 0) QThread::msleep(1);
    if (server.state.load() < 0) {
        res.error = "listen: " + server.error.toStdString();
        server.wait();
        return res;
    }
    if (row.child_clients) {
        QProcess child;
        child.start(QCoreApplication::applicationFilePath(),
                    {QStringLiteral("flow-clients"), name, QString::fromStdString(row.label)});
        if (!child.waitForFinished(10 * 60 * 1000)) {
            res.error = "client process did not finish";
        } else {
            QByteArray out = child.readAllStandardOutput();
            char word[16] = {};
            if (std::sscanf(out.constData(), "%15s %lf %lf", word, &res.setup_ms, &res.run_ms) == 3 &&
                std::strcmp(word, "ok") == 0)
                res.ok = true;
            else
                res.error = "client process: " + out.toStdString();
        }
    } else {
        res = run_clients(row, name);
    }
    server.quit();
    server.wait();
    if (res.ok && !server.error.isEmpty()) {
        res.ok = false;
        res.error = server.error.toStdString();
    }
    return res;
}

}  // namespace

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    if (argc == 4 && std::strcmp(argv[1], "flow-clients") == 0) {
        Row row;
        if (!parse_row(argv[3], row)) return 2;
        Result r = run_clients(row, QString::fromLocal8Bit(argv[2]));
        if (!r.ok) {
            std::printf("error %s\n", r.error.c_str());
            return 1;
        }
        std::printf("ok %.3f %.3f\n", r.setup_ms, r.run_ms);
        return 0;
    }
    if (argc == 3 && std::strcmp(argv[1], "--row") == 0) {
        Row row;
        if (!parse_row(argv[2], row)) {
            std::printf("error unknown row %s\n", argv[2]);
            return 2;
        }
        Result r = run_row(row);
        if (!r.ok) {
            std::printf("error %s\n", r.error.c_str());
            return 1;
        }
        std::printf("ok %.3f %.3f\n", r.setup_ms, r.run_ms);
        return 0;
    }
    std::fprintf(stderr, "usage: qt_flow --row LABEL | flow-clients NAME LABEL\n");
    return 2;
}
