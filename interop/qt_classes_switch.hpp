// The port of a QLocalServer/QLocalSocket program to qlocal, whole: this switch. The programs
// built from qt_classes_peer.cpp and qt_classes_test.cpp differ only here (-DUSE_QLOCAL).
#pragma once

#ifdef USE_QLOCAL
#include "qlocal_qt_classes.hpp"
using LocalServer = qlocal::QtLocalServer;
using LocalSocket = qlocal::QtLocalSocket;
#else
#include <QLocalServer>
#include <QLocalSocket>
using LocalServer = QLocalServer;
using LocalSocket = QLocalSocket;
#endif
