// qlocal.hpp: a header-only C++17 RAII wrapper over qlocal.h whose classes read like Qt's
// QEventLoop / QLocalServer / QLocalSocket, so porting Qt code is mostly renaming.
//
//     qlocal::Expected<qlocal::EventLoop> loop = qlocal::EventLoop::create();
//     qlocal::Expected<qlocal::LocalServer> server = qlocal::LocalServer::create(*loop);
//     if (!loop || !server) return 1;
//     if (!server->listen("my-service"))                       // $TMPDIR/my-service
//         std::fprintf(stderr, "listen: %s\n", server->errorString().c_str());
//     std::vector<std::unique_ptr<qlocal::LocalSocket>> clients;
//     server->onNewConnection([&] {
//         while (qlocal::LocalSocket s = server->nextPendingConnection()) {   // owning
//             auto c = std::make_unique<qlocal::LocalSocket>(std::move(s));
//             qlocal::LocalSocket *p = c.get();
//             p->onReadyRead([p] { (void)p->write(p->readAll()); });          // echo
//             clients.push_back(std::move(c));
//         }
//     });
//     (void)loop->exec();                                      // until loop->stop()
//
// Rules (those of qlocal.h, restated for C++):
//
// - Ownership. EventLoop, LocalServer, LocalSocket and Timer are move-only owners of one C handle each
//   (a std::unique_ptr whose deleter calls the `_destroy` function). Destroying the C++ object
//   destroys the C object. A default-constructed or moved-from object is null:
//   `explicit operator bool` is false, `raw()` is nullptr, fallible calls return
//   Result::NullArgument and queries return Qt's defaults. `release()` gives the handle up
//   (the caller then owns it; signal handlers stay attached and are freed with it) and the
//   explicit constructor from a raw handle adopts one. `LocalServer::nextPendingConnection()`
//   returns an owning LocalSocket, so an accepted connection cannot be leaked. Servers and
//   sockets may outlive their EventLoop object (the C library keeps the loop alive for them).
//   A connected LocalSocket's destructor is Qt 6's (abort: queued output is dropped). After
//   disconnectFromServer() it is not: the loop keeps writing the queue (linger, default 30 s,
//   setLingerTimeout), so `disconnectFromServer(); socket.reset();` delivers every byte.
//
// - Threads. Every object belongs to the thread that created its EventLoop. Calls from another
//   thread fail with Result::WrongThread (queries return their defaults) and do nothing; a
//   destructor run on the wrong thread leaks the C object rather than race. Only
//   EventLoop::stop() / quit() / wakeUp() may be called from any thread (while the EventLoop
//   object itself is alive and not being moved).
//
// - Callbacks (Qt's signals) are set with `onX(std::function<...>)`: one handler per signal;
//   setting replaces the previous handler, an empty function removes it. Handlers live in a
//   heap block owned by the C object (its userdata, freed by the C library's finalizer), so
//   moving the C++ object, or releasing and re-adopting its handle, never leaves a handler
//   dangling (the EventLoop's wake-up handler too). Handlers run on the loop's thread, only inside EventLoop::run/exec/
//   processEvents or a waitForX call, never inside the call that caused them (write, abort,
//   connectToServer...). Whatever a handler captures is the caller's business: capture
//   something whose address is stable (a heap object, a unique_ptr's target), not a
//   LocalSocket that may later move.
//
// - Destroying inside a callback is safe: a handler may reset, move from or replace the very
//   object whose signal it handles (`socket = {}`); the handler itself stays alive until it
//   returns, and no later callback of that object runs. Replacing a handler from inside itself
//   takes effect when it returns. Destroying the EventLoop inside one of its callbacks makes
//   the run in progress return after that callback.
//
// - Errors are values; the wrapper throws nothing of its own (only std::bad_alloc can come out
//   of a call returning std::string, or of building a std::function, never through C). Calls
//   that Qt declares void (connectToServer, abort, close, disconnectFromServer, quit, the
//   setters) return a Result without [[nodiscard]], so Qt code ported as it is compiles under
//   -Werror; calls that Qt declares bool (listen, waitForX, removeServer) return
//   `[[nodiscard]] Outcome`, which tests true on success like
//   Qt's bool and converts to the Result, so a timeout (Result::Timeout) is told apart from a
//   failure. write() returns a Result (bytes are queued whole or refused; no partial writes).
//   Qt's reading calls keep Qt's types (`int64_t read(char *, size_t)` returns -1 on error)
//   and each has an overload returning the Result. Signal setters return a Result too
//   (NullArgument, WrongThread) but without [[nodiscard]], as Qt's connect() result is
//   usually ignored. Constructors are `create()` functions returning Expected<T>: `ok()`,
//   `error()`, `value()` (the null object when it failed).
//
// - Exceptions thrown by a handler never reach the C library: the trampolines are noexcept,
//   catch everything, count it (callbackExceptionCount()) and pass it to the function set
//   with setCallbackExceptionHandler(), if any. The loop carries on.
//
// Everything here is inline, so the header may be included by any number of translation units.


#ifndef QLOCAL_HPP
#define QLOCAL_HPP

// One header per class (as wasmtime.hh over wasmtime/*.hh); each also compiles on its own.
#include "qlocal.h"
#include "qlocal/result.hpp"               // Result, Outcome, Expected, Flags, Qt's enums
#include "qlocal/callback_exceptions.hpp"  // callbackExceptionCount, setCallbackExceptionHandler
#include "qlocal/handle.hpp"               // the deleters; the owned-handle base
#include "qlocal/event_loop.hpp"           // EventLoop (QEventLoop)
#include "qlocal/timer.hpp"                // Timer (QTimer)
#include "qlocal/local_socket.hpp"         // LocalSocket (QLocalSocket)
#include "qlocal/local_server.hpp"         // LocalServer (QLocalServer)

#endif  // QLOCAL_HPP
