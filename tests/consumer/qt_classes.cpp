// qlocal::qt from an installed package (or add_subdirectory): a QtLocalServer and a
// QtLocalSocket in one Qt program exchange a QDataStream message, each way. Exit 0 on success.
#include "qlocal_qt_classes.hpp"

#include <QCoreApplication>
#include <QDataStream>
#include <QTimer>

#include <cstdio>

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    const QString name = QStringLiteral("qlocal-consumer-qt-%1").arg(QCoreApplication::applicationPid());
    qlocal::QtLocalServer server;
    if (!server.listen(name)) {
        std::fprintf(stderr, "listen: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    QByteArray echoed;
    QObject::connect(&server, &qlocal::QtLocalServer::newConnection, [&] {
        qlocal::QtLocalSocket *peer = server.nextPendingConnection();
        QObject::connect(peer, &QIODevice::readyRead, peer, [peer] {
            QDataStream in(peer);
            in.startTransaction();
            QByteArray m;
            in >> m;
            if (!in.commitTransaction()) return;
            QDataStream out(peer);
            out << m;  // echo
        });
    });
    qlocal::QtLocalSocket client;
    QObject::connect(&client, &qlocal::QtLocalSocket::connected, [&] {
        QDataStream out(&client);
        out << QByteArray("from an installed qlocal::qt");
    });
    QObject::connect(&client, &QIODevice::readyRead, [&] {
        QDataStream in(&client);
        in.startTransaction();
        in >> echoed;
        if (in.commitTransaction()) app.quit();
    });
    QTimer::singleShot(10000, &app, [&] { app.exit(1); });
    client.connectToServer(name);
    int rc = app.exec();
    if (rc != 0 || echoed != "from an installed qlocal::qt") {
        std::fprintf(stderr, "no echo (rc %d, got \"%s\")\n", rc, echoed.constData());
        return 1;
    }
    std::printf("qlocal::qt: echoed \"%s\"\n", echoed.constData());
    return 0;
}
