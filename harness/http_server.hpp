// HttpServer: a minimal single-threaded HTTP/1.1 keep-alive server whose event loop is any
// Poller — the server of the C10K experiment (bench/server.cpp, the server/<row>/... rows).
//
// It accepts on a listening socket (non-blocking, close-on-exec, TCP_NODELAY on each
// connection), reads requests, answers every complete request with one fixed small response
// and writes it; nothing else. What it handles, in the order a connection meets it:
//   a. Partial requests: bytes are kept per connection until the header's blank line (and a
//      Content-Length body, skipped) has arrived.
//   b. Pipelined requests: every complete request in the buffer is answered, in order, the
//      responses written together.
//   c. Keep-alive: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 (ab)
//      closes it unless `Connection: keep-alive`, and the response then says keep-alive.
//   d. A response that does not fit the socket's buffer: the rest is kept, the connection's
//      interest becomes readable + writable until it is written, then readable again.
//   e. A peer that closes (read() returns 0, also mid-request), a reset or an error: the
//      connection is removed from the Poller, then closed; its unanswered bytes are dropped.
//   f. Edge-triggered rows (capabilities.edge_triggered): every accept, read and write is
//      repeated until EAGAIN, since the fd is not reported again for what is left. Level-
//      triggered rows read once per event (a classic LT loop: what is left is reported again)
//      and accept until EAGAIN (an accept queue is drained in one go by every server).
//      One-shot rows need nothing more: their backend re-arms (poller.hpp).
//   g. A connection above `max_fd` (select's FD_SETSIZE) is closed at once and counted in
//      `refused`: the Poller could not watch it (its owner sizes the run so it never happens).
//   h. send() with MSG_NOSIGNAL: a peer gone between its request and our response costs an
//      EPIPE, never a SIGPIPE.
//   i. At the end every open connection is reset (SO_LINGER 0) before it is closed, so that
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
#include "harness/unique_fd.hpp"

namespace pollbench {

// The response to every request (a fixed body).
inline constexpr std::string_view kHttpBody = "Hello, world\n";

// A listening TCP socket on 127.0.0.1, on a port the kernel chooses (backlog SOMAXCONN),
// non-blocking and close-on-exec. Throws std::system_error naming the syscall.
UniqueFd listen_loopback(std::uint16_t& port);

struct HttpServerStats {
  std::uint64_t requests = 0;       // responses queued (one per complete request)
  std::uint64_t accepted = 0;       // connections accepted and watched
  std::uint64_t open = 0;           // connections open now
  std::uint64_t refused = 0;        // connections closed at once: fd above max_fd (g)
  std::uint64_t accept_errors = 0;  // accept4 failures other than EAGAIN (EMFILE, ...)
};

class HttpServer {
 public:
  // Watches `listener` (not owned) with `poller`; `edge_triggered` is the row's delivery,
  // `max_fd` the largest fd the poller accepts.
  HttpServer(Poller& poller, bool edge_triggered, int max_fd, int listener);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  HttpServer(HttpServer&&) = delete;
  HttpServer& operator=(HttpServer&&) = delete;
  ~HttpServer();  // removes and resets (i) every open connection

  // Watches `fd` for reading too; run() calls `on_ready` when it is reported, and stops when
  // on_ready returns false (a control channel: a pipe from the owner, an eventfd in a test).
  void watch_control(int fd, std::function<bool()> on_ready);

  // Serves until the control callback returns false. Returns 0, or the negative errno of a
  // wait that failed.
  int run();

  [[nodiscard]] const HttpServerStats& stats() const noexcept { return stats_; }

 private:
  struct Connection {
    bool open = false;
    bool want_write = false;    // interest is readable + writable (d)
    bool close_after = false;   // the last answered request asked to close (c)
    std::size_t body_left = 0;  // Content-Length bytes still to skip (a)
    std::vector<char> in;       // unparsed request bytes
    std::string out;            // response bytes not yet written
    std::size_t out_done = 0;
  };

  void accept_ready();
  void on_connection(int fd, const Event& event);
  bool read_ready(int fd, Connection& c);  // false: the connection was closed
  void parse(Connection& c);
  bool flush(int fd, Connection& c);  // false: the connection was closed
  // reset: SO_LINGER 0 first (i); a connection the peer or the protocol ends closes in order.
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
