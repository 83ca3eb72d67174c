#include "harness/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

namespace pollbench {
namespace {

constexpr std::uint64_t kListenerToken = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kControlToken = kListenerToken - 1;
// Events per wait: the loop takes the rest at the next wait (level) or keeps them queued
// (edge: the Poller keeps what did not fit, poller.hpp).
constexpr std::size_t kEventsPerWait = 256;
constexpr std::size_t kReadChunk = 16384;

void reset_on_close(int fd) noexcept {
  const linger reset{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

}  // namespace

HttpServer::HttpServer(Poller& poller, bool edge_triggered, int max_fd, int listener)
    : poller_(poller),
      edge_triggered_(edge_triggered),
      max_fd_(max_fd),
      listener_(listener),
      events_(kEventsPerWait) {
  poller_.add(listener_, kReadable, kListenerToken);
}

HttpServer::~HttpServer() {
  for (std::size_t fd = 0; fd < connections_.size(); ++fd) {
    if (connections_[fd].open) close_connection(static_cast<int>(fd), true);
  }
  try {
    poller_.remove(listener_);
    if (control_ >= 0) poller_.remove(control_);
  } catch (const std::exception&) {
    // The poller goes with its owner; nothing is left to watch.
  }
}

void HttpServer::watch_control(int fd, std::function<bool()> on_ready) {
  poller_.add(fd, kReadable, kControlToken);
  control_ = fd;
  on_control_ = std::move(on_ready);
}

int HttpServer::run() {
  for (;;) {
    const int n = poller_.wait(events_, Poller::kBlock);
    if (n < 0) return n;
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const Event& ev = events_[static_cast<std::size_t>(i)];
      if (ev.token == kListenerToken) {
        accept_ready();
      } else if (ev.token == kControlToken) {
        stop = stop || !on_control_();
      } else {
        on_connection(static_cast<int>(ev.token), ev);
      }
    }
    if (stop) return 0;
  }
}

void HttpServer::accept_ready() {
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ++stats_.accept_errors;
      return;
    }
    if (fd > max_fd_) {  // (d)
      reset_on_close(fd);
      ::close(fd);
      ++stats_.refused;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    try {
      poller_.add(fd, kReadable, static_cast<std::uint64_t>(fd));
    } catch (const std::exception&) {
      ::close(fd);
      ++stats_.accept_errors;
      continue;
    }
    if (static_cast<std::size_t>(fd) >= connections_.size()) {
      connections_.resize(static_cast<std::size_t>(fd) + 1);
    }
    Connection& c = connections_[static_cast<std::size_t>(fd)];
    c.open = true;
    c.want_write = false;
    c.parser.reset();
    c.in.clear();
    c.out.clear();
    c.out_done = 0;
    ++stats_.accepted;
    ++stats_.open;
  }
}

void HttpServer::on_connection(int fd, const Event& event) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= connections_.size()) return;
  Connection& c = connections_[static_cast<std::size_t>(fd)];
  if (!c.open) return;  // closed earlier in this batch of events
  if (event.writable && c.want_write && !flush(fd, c)) return;
  if (event.readable || event.hangup || event.error) read_ready(fd, c);
}

bool HttpServer::read_ready(int fd, Connection& c) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got > 0) {
      c.in.append(buf, static_cast<std::size_t>(got));
      if (!edge_triggered_) break;  // (c) level-triggered: what is left is reported again
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close_connection(fd, false);  // (b) EOF, also mid-request, or an error
    return false;
  }
  c.in.erase(0, c.parser.feed(c.in, c.out, stats_.requests));
  return flush(fd, c);  // (b) a connection the protocol ends closes once this is written
}

bool HttpServer::flush(int fd, Connection& c) {
  while (c.out_done < c.out.size()) {
    const ssize_t sent =
        ::send(fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);  // (e)
    if (sent > 0) {
      c.out_done += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // (a)
      if (!c.want_write) {
        poller_.modify(fd, kReadWrite, static_cast<std::uint64_t>(fd));
        c.want_write = true;
      }
      return true;
    }
    close_connection(fd, false);
    return false;
  }
  c.out.clear();
  c.out_done = 0;
  if (c.want_write) {
    poller_.modify(fd, kReadable, static_cast<std::uint64_t>(fd));
    c.want_write = false;
  }
  if (c.parser.closing()) {
    close_connection(fd, false);
    return false;
  }
  return true;
}

void HttpServer::close_connection(int fd, bool reset) {
  Connection& c = connections_[static_cast<std::size_t>(fd)];
  try {
    poller_.remove(fd);  // before close (poller.hpp)
  } catch (const std::exception&) {
    // Not registered any more: nothing to undo.
  }
  if (reset) reset_on_close(fd);  // (f)
  ::close(fd);
  c.open = false;
  c.in.clear();
  c.out.clear();
  c.out_done = 0;
  --stats_.open;
}

}  // namespace pollbench
