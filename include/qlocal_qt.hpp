// qlocal_qt.hpp: drive a qlocal_loop from a running Qt event loop (Qt 5 or Qt 6), so a Qt
// application (GUI or not) can use qlocal on its own thread without a second event loop.
//
//   qlocal_loop *loop = ...;                      // created on this (the Qt) thread
//   qlocal::QtLoopDriver driver(loop);            // from now on Qt's loop runs qlocal's
//   ... create servers/sockets on `loop`; their callbacks run from Qt's event loop ...
//
// How: a QSocketNotifier watches qlocal_loop_fd() (readable whenever the loop has I/O or queued
// work; calls made outside the loop wake it), and a single-shot QTimer follows
// qlocal_loop_timeout() (timers, retries). Each time either fires, the driver runs
// qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0), then re-arms the timer.
//
// Windows: qlocal_loop_fd() is an event HANDLE (signalled while the loop has work, reset by the
// run), watched with a QWinEventNotifier (QtCore) instead of the QSocketNotifier; the first
// call starts the loop's watcher thread (see qlocal_loop_fd in qlocal.h). Not compiled here:
// this repository's sandbox has no Qt for mingw-w64. What the driver does (wait on the handle
// at most until the loop's timeout, NO_WAIT run, re-arm) is what tests/windows.rs (`embed`)
// and tests/embed_windows.c run under Wine.
//
// Rules: create the driver on the thread that owns `loop` and that runs the Qt event loop; the
// driver does not own the loop — destroy the driver before the loop. Header-only; needs only
// QtCore (no moc: it uses no Q_OBJECT). Use only where Qt is available.
#pragma once

#include "qlocal.h"

#include <QObject>
#include <QTimer>
#ifdef _WIN32
#include <QWinEventNotifier>
#else
#include <QSocketNotifier>
#endif

#include <functional>

namespace qlocal {

class QtLoopDriver : public QObject {
public:
    explicit QtLoopDriver(qlocal_loop *loop, QObject *parent = nullptr) : QObject(parent), loop_(loop) {
        qlocal_descriptor fd = -1;
        qlocal_result rc = qlocal_loop_fd(loop_, &fd);
        if (rc != QLOCAL_RESULT_OK) {
            last_error_ = rc;
            return;
        }
#ifdef _WIN32
        notifier_ = new QWinEventNotifier(reinterpret_cast<void *>(fd), this);
        QObject::connect(notifier_, &QWinEventNotifier::activated, this, [this] { pump(); });
#else
        notifier_ = new QSocketNotifier(fd, QSocketNotifier::Read, this);
        QObject::connect(notifier_, &QSocketNotifier::activated, this, [this] { pump(); });
#endif
        timer_ = new QTimer(this);
        timer_->setSingleShot(true);
        QObject::connect(timer_, &QTimer::timeout, this, [this] { pump(); });
        // Anything queued before the driver existed runs on Qt's next turn.
        timer_->start(0);
    }

    QtLoopDriver(const QtLoopDriver &) = delete;
    QtLoopDriver &operator=(const QtLoopDriver &) = delete;

    // False when the loop could not be attached (e.g. created on another thread).
    bool isValid() const { return notifier_ != nullptr; }

    // The last result of qlocal_loop_run that was not QLOCAL_RESULT_OK (OK if none).
    qlocal_result lastError() const { return last_error_; }

    // Called with every failing result of qlocal_loop_run (optional).
    void onError(std::function<void(qlocal_result)> f) { on_error_ = std::move(f); }

    // Runs what is ready now and re-arms the timer; the notifier and timer call it.
    void pump() {
        qlocal_result rc = qlocal_loop_run(loop_, QLOCAL_RUN_MODE_NO_WAIT, 0);
        if (rc != QLOCAL_RESULT_OK) {
            last_error_ = rc;
            if (on_error_) on_error_(rc);
        }
        int ms = -1;
        if (qlocal_loop_timeout(loop_, &ms) == QLOCAL_RESULT_OK && ms >= 0)
            timer_->start(ms);
        else
            timer_->stop();
    }

private:
    qlocal_loop *loop_;
#ifdef _WIN32
    QWinEventNotifier *notifier_ = nullptr;
#else
    QSocketNotifier *notifier_ = nullptr;
#endif
    QTimer *timer_ = nullptr;
    qlocal_result last_error_ = QLOCAL_RESULT_OK;
    std::function<void(qlocal_result)> on_error_;
};

}  // namespace qlocal
