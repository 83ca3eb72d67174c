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
// A request header longer than this is refused (the connection closed).
constexpr std::size_t kMaxHeader = 8192;
constexpr std::size_t kReadChunk = 16384;

// Content-Length of kHttpBody (13) is written out below; the static_assert keeps them together.
static_assert(kHttpBody.size() == 13);
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";
constexpr std::string_view kResponseKeepAlive =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
    "keep-alive\r\n\r\nHello, world\n";
constexpr std::string_view kResponseClose =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
    "close\r\n\r\nHello, world\n";

[[noreturn]] void throw_sys(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool icontains(std::string_view text, std::string_view word) noexcept {
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, word.size()), word)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void reset_on_close(int fd) noexcept {
  const linger reset{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

// What one request header asks: keep the connection or close it after the response, and how
// many body bytes follow.
struct RequestHead {
  bool keep_alive = true;
  bool http10 = false;
  std::size_t content_length = 0;
};

RequestHead read_head(std::string_view head) {
  RequestHead r;
  std::size_t eol = head.find("\r\n");
  const std::string_view request_line = head.substr(0, eol);
  r.http10 = request_line.ends_with("HTTP/1.0");
  bool said_keep_alive = false;
  bool said_close = false;
  while (eol != std::string_view::npos) {
    const std::size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      said_close = said_close || icontains(value, "close");
      said_keep_alive = said_keep_alive || icontains(value, "keep-alive");
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') break;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      r.content_length = n;
    }
  }
  r.keep_alive = r.http10 ? said_keep_alive && !said_close : !said_close;
  return r;
}

}  // namespace

UniqueFd listen_loopback(std::uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_sys("socket(AF_INET)");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw_sys("bind(127.0.0.1:0)");
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) throw_sys("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_sys("getsockname");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

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
    if (fd > max_fd_) {  // (g)
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
    c.close_after = false;
    c.body_left = 0;
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
      c.in.insert(c.in.end(), buf, buf + got);
      if (!edge_triggered_) break;  // (f) level-triggered: what is left is reported again
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close_connection(fd, false);  // (e) EOF, also mid-request, or an error
    return false;
  }
  parse(c);
  if (c.out.empty() && c.in.size() >= kMaxHeader) {
    close_connection(fd, false);
    return false;
  }
  return c.out.size() == c.out_done || flush(fd, c);
}

void HttpServer::parse(Connection& c) {
  std::size_t at = 0;
  const std::string_view data(c.in.data(), c.in.size());
  while (at < data.size() && !c.close_after) {
    if (c.body_left > 0) {  // (a) a body is skipped
      const std::size_t skip = std::min(c.body_left, data.size() - at);
      c.body_left -= skip;
      at += skip;
      continue;
    }
    const std::size_t end = data.find("\r\n\r\n", at);
    if (end == std::string_view::npos) break;  // (a) wait for the rest
    const RequestHead head = read_head(data.substr(at, end - at));
    at = end + 4;
    c.body_left = head.content_length;
    ++stats_.requests;
    if (!head.keep_alive) {
      c.out.append(kResponseClose);
      c.close_after = true;  // (c) what follows on this connection is not answered
    } else {
      c.out.append(head.http10 ? kResponseKeepAlive : kResponse);
    }
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
}

bool HttpServer::flush(int fd, Connection& c) {
  while (c.out_done < c.out.size()) {
    const ssize_t sent =
        ::send(fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);  // (h)
    if (sent > 0) {
      c.out_done += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // (d)
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
  if (c.close_after) {
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
  if (reset) reset_on_close(fd);  // (i)
  ::close(fd);
  c.open = false;
  c.in.clear();
  c.out.clear();
  c.out_done = 0;
  --stats_.open;
}

}  // namespace pollbench
