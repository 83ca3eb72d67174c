// HttpServer: a minimal single-threaded HTTP/1.1 keep-alive server whose event loop is any
// Poller — the server of the C10K experiment (bench/server.cpp, the server/<row>/... rows).
//
// It accepts on a listening socket (non-blocking, close-on-exec, TCP_NODELAY on each
// connection), reads requests, feeds them to the connection's HttpRequestParser
// (harness/http_protocol.hpp: partial and pipelined requests, keep-alive and close, bodies, the
// header limit) and writes what it answers; nothing else. What it handles, in the order a
// connection meets it:
//   a. A response that does not fit the socket's buffer: the rest is kept, the connection's
//      interest becomes readable + writable until it is written, then readable again.
//   b. A peer that closes (read() returns 0, also mid-request), a reset or an error: the
//      connection is removed from the Poller, then closed; its unanswered bytes are dropped.
//      A connection the protocol ends (close, a header too long) closes once its output is
//      written.
//   c. Edge-triggered rows (capabilities.edge_triggered): every accept, read and write is
//      repeated until EAGAIN, since the fd is not reported again for what is left. Level-
//      triggered rows read once per event (a classic LT loop: what is left is reported again)
//      and accept until EAGAIN (an accept queue is drained in one go by every server).
//      One-shot rows need nothing more: their backend re-arms (poller.hpp).
//   d. A connection above `max_fd` (select's FD_SETSIZE) is closed at once and counted in
//      `refused`: the Poller could not watch it (its owner sizes the run so it never happens).
//   e. send() with MSG_NOSIGNAL: a peer gone between its request and our response costs an
//      EPIPE, never a SIGPIPE.
//   f. At the end every open connection is reset (SO_LINGER 0) before it is closed, so that
//      thousands of connections leave no TIME_WAIT behind for the next run's ports.
//
// The loop itself allocates only when a connection first buffers a partial request or a
// response that did not fit (its buffers are kept for the connection's life); an idle
// connection costs its registration and a few dozen bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/poller.hpp"
#include "harness/http_protocol.hpp"
#include "harness/server_loop.hpp"

namespace pollbench {

class HttpServer final : public ServerLoop {
 public:
  // Watches `listener` (not owned) with `poller`; `edge_triggered` is the row's delivery,
  // `max_fd` the largest fd the poller accepts.
  HttpServer(Poller& poller, bool edge_triggered, int max_fd, int listener);
  ~HttpServer() override;  // removes and resets (f) every open connection

  void watch_control(int fd, std::function<bool()> on_ready) override;
  int run() override;
  [[nodiscard]] const HttpServerStats& stats() const noexcept override { return stats_; }

 private:
  struct Connection {
    bool open = false;
    bool want_write = false;  // interest is readable + writable (a)
    HttpRequestParser parser;
    std::string in;   // unparsed request bytes
    std::string out;  // response bytes not yet written
    std::size_t out_done = 0;
  };

  void accept_ready();
  void on_connection(int fd, const Event& event);
  bool read_ready(int fd, Connection& c);  // false: the connection was closed
  bool flush(int fd, Connection& c);       // false: the connection was closed
  // reset: SO_LINGER 0 first (f); a connection the peer or the protocol ends closes in order.
  void close_connection(int fd, bool reset);

  Poller& poller_;
  bool edge_triggered_;
  int max_fd_;
  int listener_;
  int control_ = -1;
  std::function<bool()> on_control_;
  std::vector<Connection> connections_;  // indexed by fd
  std::vector<Event> events_;
  HttpServerStats stats_;
};

}  // namespace pollbench
