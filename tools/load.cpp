// pollbench-load: a fixed-rate (open-loop) HTTP/1.1 load generator for the server scenario.
//
//   pollbench-load --port P --rate R --conns C --duration SECONDS
//                  [--warmup SECONDS] [--drain SECONDS] [--cpu N] [--host 127.0.0.1]
//
// Opens C keep-alive connections to 127.0.0.1:P, then sends "GET / HTTP/1.1" on a fixed
// schedule: request k is due at t0 + k/R (R requests per second over all connections). The
// first --warmup seconds of the schedule (default 0) are sent but not counted; the next
// --duration seconds are the measured part. When the schedule ends it waits for the replies
// still out, at most --drain seconds (default 2), and exits: a run takes at most
// warmup + duration + drain seconds after its connects. --cpu pins it to one CPU.
//
// Output: one line on stdout, every field "name=value", all counts over the requests scheduled
// in the measured part:
//   load offered_rps=R duration_s=D conns=C scheduled=N sent=N replies=N reply_rps=X errors=N
//        unanswered=N late_sends=N client_late_sends=N reconnects=N connect_errors=N p50_ns=N
//        p90_ns=N p99_ns=N p999_ns=N max_ns=N user_ns=N sys_ns=N
//   scheduled      requests due in the measured part (rate x duration, rounded up)
//   sent           of them, sent (a request waits for an idle connection; at the end of the
//                  drain, any still waiting were never sent)
//   replies        of them, answered "200" in full (before the end of the drain)
//   reply_rps      complete "200" replies that arrived during the measured part (to any
//                  request, warm-up ones included) per second of it: the reply rate
//   errors         of them, failed: the connection ended or broke before the reply was
//                  complete, the reply could not be read (http_response_parser.hpp, d), or its
//                  status was not 200
//   unanswered     scheduled - replies - errors: neither answered nor failed when the drain
//                  ended, sent or not
//   late_sends     of them, sent more than 1 ms after their due time (no connection was idle,
//                  or the generator itself was behind): a saturated server or client
//   client_late_sends  of the late sends, those whose connection had been idle since before
//                  their due time + 1 ms: the generator itself was behind (not scheduled, or
//                  busy) — on a shared machine its CPU time alone does not show that. A
//                  lower bound: a backlog larger than the idle connections waits for replies,
//                  and that part counts as waiting for a connection
//   reconnects     connections reopened (any time in the run): the server closed one
//                  ("Connection: close", or an idle keep-alive connection) or it broke
//   connect_errors reconnects that failed (each retried 10 ms later)
//   pNN_ns, max_ns latency quantiles of the replies: reply fully received - due time, in ns,
//                  within 1/64 above the true value (latency_histogram.hpp); 0 with no replies
//   user_ns, sys_ns this process's CPU time over the measured part (getrusage): near
//                  duration x 10^9 means the generator, not the server, was the limit
//
// Errors: a bad command line is one line "pollbench-load: ..." on stderr, exit 2; a failed
// setup (a connect included) one line, exit 1. It ends by itself; its parent may add
// PR_SET_PDEATHSIG (bench/server.cpp does).
//
// What it handles:
//  a) Coordinated omission. Latency counts from the due time, not from the send: a request
//     that waits for an idle connection, or is sent late because the loop was busy, carries
//     that wait in its latency, and is counted in late_sends. A closed-loop client (wrk) stops
//     sending while the server stalls and so never sees the requests the stall delayed.
//  b) No pipelining: one request outstanding per connection. Due requests wait in schedule
//     order; idle connections are taken first in, first out, so all C carry load (last in,
//     first out would leave most of them idle at low rates).
//  c) Timing: CLOCK_MONOTONIC and epoll_pwait2's nanosecond timeout, never a spin. The
//     kernel's default timer slack (50 us) would let every wait overshoot by up to a loopback
//     round trip, so the slack is set to 1 us (PR_SET_TIMERSLACK). Due times are t0 + k/R
//     computed from k, so rounding does not accumulate.
//  d) Connections that end: after a "Connection: close" reply (or an HTTP/1.0 one without
//     keep-alive, or one whose body runs to the end of the connection) the connection is
//     reopened with a non-blocking connect; a request whose connection ends, resets or fails
//     a send before its reply is complete is an error; an idle connection the server closes
//     is reopened without an error; a failed reconnect is retried 10 ms later. Sends use
//     MSG_NOSIGNAL: a reset connection is an error to count, not a SIGPIPE.
//  e) Bytes nobody asked for on an idle connection (or after a complete reply) close and
//     reopen the connection: they cannot belong to any request.
//  f) The first connects are blocking, with a 5 s timeout (SO_SNDTIMEO): a full accept queue
//     drops SYNs, whose retransmits would otherwise stretch a connect far past the run.
//  g) The timed loop does not allocate, log or throw: the histogram and every connection's
//     parser are fixed arrays made before t0; a syscall that fails there is counted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "harness/fd_pool.hpp"
#include "harness/http_response_parser.hpp"
#include "harness/latency_histogram.hpp"
#include "harness/unique_fd.hpp"

namespace {

using pollbench::HttpResponseParser;
using pollbench::LatencyHistogram;
using pollbench::UniqueFd;

constexpr std::int64_t kNsPerS = 1'000'000'000;
constexpr std::int64_t kLateNs = 1'000'000;    // a send this late is a late_send
constexpr std::int64_t kRetryNs = 10'000'000;  // a failed reconnect waits this long
constexpr std::int64_t kTimerSlackNs = 1000;   // c
constexpr time_t kConnectTimeoutS = 5;         // f
constexpr std::size_t kReadChunk = 16384;
constexpr double kMaxRate = 10'000'000;
constexpr double kMaxSeconds = 86'400;
constexpr long kMaxConns = 100'000;

[[noreturn]] void fail(const std::string& what, int status) {
  fmt::print(stderr, "pollbench-load: {}\n", what);
  std::exit(status);
}

[[noreturn]] void usage_error(const std::string& what) {
  fail(fmt::format("{} (usage: pollbench-load --port P --rate R --conns C --duration SECONDS "
                   "[--warmup SECONDS] [--drain SECONDS] [--cpu N] [--host 127.0.0.1])",
                   what),
       2);
}

[[noreturn]] void throw_sys(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

struct Options {
  std::uint16_t port = 0;
  double rate = 0;
  long conns = 0;
  double duration = 0;
  double warmup = 0;
  double drain = 2;
  int cpu = -1;
};

template <typename T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

long integer_option(std::string_view name, std::string_view text, long low, long high) {
  long value = 0;
  if (!parse_number(text, value) || value < low || value > high) {
    usage_error(
        fmt::format("--{} '{}' is not a whole number from {} to {}", name, text, low, high));
  }
  return value;
}

double seconds_option(std::string_view name, std::string_view text, bool zero_allowed) {
  double value = 0;
  if (!parse_number(text, value) || !std::isfinite(value) || value < 0 ||
      (value == 0 && !zero_allowed) || value > kMaxSeconds) {
    usage_error(fmt::format("--{} '{}' is not a number of seconds ({}up to {})", name, text,
                            zero_allowed ? "0 " : "above 0 ", kMaxSeconds));
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_port = false;
  bool have_rate = false;
  bool have_conns = false;
  bool have_duration = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) usage_error(fmt::format("unexpected argument '{}'", arg));
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::string_view value;
    if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      usage_error(fmt::format("--{} needs a value", name));
    }
    if (name == "port") {
      o.port = static_cast<std::uint16_t>(integer_option(name, value, 1, 65535));
      have_port = true;
    } else if (name == "rate") {
      if (!parse_number(value, o.rate) || !std::isfinite(o.rate) || o.rate <= 0 ||
          o.rate > kMaxRate) {
        usage_error(
            fmt::format("--rate '{}' is not a number of requests per second above 0 "
                        "and up to {}",
                        value, kMaxRate));
      }
      have_rate = true;
    } else if (name == "conns") {
      o.conns = integer_option(name, value, 1, kMaxConns);
      have_conns = true;
    } else if (name == "duration") {
      o.duration = seconds_option(name, value, false);
      have_duration = true;
    } else if (name == "warmup") {
      o.warmup = seconds_option(name, value, true);
    } else if (name == "drain") {
      o.drain = seconds_option(name, value, true);
    } else if (name == "cpu") {
      o.cpu = static_cast<int>(integer_option(name, value, 0, CPU_SETSIZE - 1));
    } else if (name == "host") {
      if (value != "127.0.0.1") {
        usage_error(fmt::format("--host '{}': only 127.0.0.1 (loopback) is supported", value));
      }
    } else {
      usage_error(fmt::format("unknown option --{}", name));
    }
  }
  if (!have_port || !have_rate || !have_conns || !have_duration) {
    usage_error("--port, --rate, --conns and --duration are required");
  }
  if (o.rate * o.duration < 1) usage_error("--rate x --duration is less than one request");
  return o;
}

std::int64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerS + ts.tv_nsec;
}

struct CpuTime {
  std::int64_t user_ns = 0;
  std::int64_t sys_ns = 0;
};

CpuTime cpu_time() noexcept {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto ns = [](const timeval& tv) {
    return static_cast<std::int64_t>(tv.tv_sec) * kNsPerS +
           static_cast<std::int64_t>(tv.tv_usec) * 1000;
  };
  return {ns(usage.ru_utime), ns(usage.ru_stime)};
}

// Requests whose due time k/R lies before `seconds`: k < seconds x R.
std::int64_t requests_before(double seconds, double rate) {
  return static_cast<std::int64_t>(std::ceil(seconds * rate - 1e-9));
}

enum class State : std::uint8_t { kDown, kConnecting, kIdle, kBusy };

struct Connection {
  int fd = -1;
  State state = State::kDown;
  std::int64_t request = -1;    // the outstanding request's number (kBusy)
  std::size_t written = 0;      // bytes of it sent
  bool want_write = false;      // EPOLLOUT is in the interest set
  std::int64_t retry_at = 0;    // kDown: when to connect again
  std::int64_t idle_since = 0;  // kIdle: when it became idle
  int prev = -1;                // the idle list (kIdle)
  int next = -1;
  HttpResponseParser response;
};

class LoadGenerator {
 public:
  LoadGenerator(const Options& options, std::string request)
      : options_(options),
        request_(std::move(request)),
        period_ns_(static_cast<double>(kNsPerS) / options.rate),
        first_measured_(requests_before(options.warmup, options.rate)),
        total_(requests_before(options.warmup + options.duration, options.rate)),
        connections_(static_cast<std::size_t>(options.conns)),
        events_(static_cast<std::size_t>(options.conns)) {
    to_.sin_family = AF_INET;
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_.sin_port = htons(options.port);
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw_sys("epoll_create1");
  }

  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  ~LoadGenerator() {
    for (const Connection& c : connections_) {
      if (c.fd >= 0) ::close(c.fd);
    }
  }

  // The C first connections, blocking (f). Throws std::system_error naming the connect.
  void connect_all() {
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd) throw_sys("socket(AF_INET)");
      const timeval timeout{.tv_sec = kConnectTimeoutS, .tv_usec = 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to_), sizeof to_) != 0) {
        if (errno == EINPROGRESS) errno = ETIMEDOUT;  // SO_SNDTIMEO ran out
        throw_sys(fmt::format("connect(127.0.0.1:{}) (connection {} of {})", options_.port, i + 1,
                              connections_.size()));
      }
      const int flags = ::fcntl(fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        throw_sys("fcntl(O_NONBLOCK)");
      }
      const int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection& c = connections_[i];
      c.fd = fd.release();
      if (!watch(i, EPOLL_CTL_ADD, false)) throw_sys("epoll_ctl(EPOLL_CTL_ADD)");
      make_idle(i);
    }
  }

  // The schedule, then the drain. Returns 0, or the errno of a failed wait.
  int run() noexcept {
    t0_ = now_ns();
    const auto at = [this](double seconds) {
      return t0_ + static_cast<std::int64_t>(seconds * static_cast<double>(kNsPerS));
    };
    measure_start_ = at(options_.warmup);
    measure_end_ = at(options_.warmup + options_.duration);
    const std::int64_t drain_end = measure_end_ + at(options_.drain) - t0_;
    bool started = false;
    bool ended = false;
    for (;;) {
      const std::int64_t now = now_ns();
      if (!started && now >= measure_start_) {
        cpu_start_ = cpu_time();
        started = true;
      }
      if (!ended && now >= measure_end_) {
        cpu_end_ = cpu_time();
        ended = true;
      }
      if (down_ > 0 && now >= next_retry_) retry_down(now);
      send_due(now);
      if (ended && ((next_ == total_ && busy_ == 0) || now >= drain_end)) return 0;

      std::int64_t deadline = !started ? measure_start_ : !ended ? measure_end_ : drain_end;
      if (next_ < total_ && idle_head_ >= 0) deadline = std::min(deadline, due(next_));
      if (down_ > 0) deadline = std::min(deadline, next_retry_);
      const std::int64_t wait = std::max<std::int64_t>(0, deadline - now);
      const timespec timeout{.tv_sec = static_cast<time_t>(wait / kNsPerS),
                             .tv_nsec = static_cast<long>(wait % kNsPerS)};
      const int n = ::epoll_pwait2(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                                   &timeout, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      for (int e = 0; e < n; ++e) on_event(events_[static_cast<std::size_t>(e)]);
    }
  }

  [[nodiscard]] std::string report() const {
    const std::int64_t scheduled = total_ - first_measured_;
    return fmt::format(
        "load offered_rps={:g} duration_s={:g} conns={} scheduled={} sent={} replies={} "
        "reply_rps={:.1f} errors={} unanswered={} late_sends={} client_late_sends={} reconnects={} "
        "connect_errors={} "
        "p50_ns={} p90_ns={} p99_ns={} p999_ns={} max_ns={} user_ns={} sys_ns={}\n",
        options_.rate, options_.duration, options_.conns, scheduled, sent_, replies_,
        static_cast<double>(window_replies_) / options_.duration, errors_,
        scheduled - replies_ - errors_, late_sends_, client_late_sends_, reconnects_,
        connect_errors_, latencies_.quantile(50'000), latencies_.quantile(90'000),
        latencies_.quantile(99'000), latencies_.quantile(99'900), latencies_.max(),
        cpu_end_.user_ns - cpu_start_.user_ns, cpu_end_.sys_ns - cpu_start_.sys_ns);
  }

 private:
  [[nodiscard]] std::int64_t due(std::int64_t k) const noexcept {
    return t0_ + static_cast<std::int64_t>(static_cast<double>(k) * period_ns_);
  }
  [[nodiscard]] bool measured(std::int64_t k) const noexcept { return k >= first_measured_; }

  bool watch(std::size_t i, int op, bool want_write) noexcept {
    Connection& c = connections_[i];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    c.want_write = want_write;
    return ::epoll_ctl(epoll_.get(), op, c.fd, &ev) == 0;
  }

  // The idle list: first in, first out (b).
  void make_idle(std::size_t i) noexcept {
    Connection& c = connections_[i];
    c.state = State::kIdle;
    c.idle_since = now_ns();
    c.next = -1;
    c.prev = idle_tail_;
    const int self = static_cast<int>(i);
    if (idle_tail_ >= 0) {
      connections_[static_cast<std::size_t>(idle_tail_)].next = self;
    } else {
      idle_head_ = self;
    }
    idle_tail_ = self;
  }
  void unlink_idle(std::size_t i) noexcept {
    Connection& c = connections_[i];
    if (c.prev >= 0) {
      connections_[static_cast<std::size_t>(c.prev)].next = c.next;
    } else {
      idle_head_ = c.next;
    }
    if (c.next >= 0) {
      connections_[static_cast<std::size_t>(c.next)].prev = c.prev;
    } else {
      idle_tail_ = c.prev;
    }
    c.prev = c.next = -1;
  }

  void send_due(std::int64_t now) noexcept {
    while (next_ < total_ && idle_head_ >= 0 && due(next_) <= now) {
      const auto i = static_cast<std::size_t>(idle_head_);
      unlink_idle(i);
      send_request(i, next_++, now);
    }
  }

  void send_request(std::size_t i, std::int64_t k, std::int64_t now) noexcept {
    Connection& c = connections_[i];
    c.state = State::kBusy;
    c.request = k;
    c.written = 0;
    c.response.reset();
    ++busy_;
    if (measured(k)) {
      ++sent_;
      if (now - due(k) > kLateNs) {
        ++late_sends_;
        if (c.idle_since <= due(k) + kLateNs) ++client_late_sends_;
      }
    }
    flush(i);
  }

  // Sends what is left of the request; on a full socket buffer, waits for EPOLLOUT.
  void flush(std::size_t i) noexcept {
    Connection& c = connections_[i];
    while (c.written < request_.size()) {
      const ssize_t n =
          ::send(c.fd, request_.data() + c.written, request_.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        if (!c.want_write && !watch(i, EPOLL_CTL_MOD, true)) fail_request_and_reopen(i);
        return;
      } else {
        fail_request_and_reopen(i);
        return;
      }
    }
    if (c.want_write && !watch(i, EPOLL_CTL_MOD, false)) fail_request_and_reopen(i);
  }

  void on_event(const epoll_event& ev) noexcept {
    const auto i = static_cast<std::size_t>(ev.data.u64);
    Connection& c = connections_[i];
    if (c.state == State::kConnecting) {
      on_connected(i);
      return;
    }
    if ((ev.events & EPOLLOUT) != 0 && c.state == State::kBusy && c.want_write) {
      flush(i);
      if (c.state != State::kBusy) return;  // the send failed: a new connection by now
    }
    if ((ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) on_readable(i);
  }

  void on_readable(std::size_t i) noexcept {
    Connection& c = connections_[i];
    std::array<char, kReadChunk>& buf = read_buffer_;
    ssize_t n = 0;
    do {
      n = ::recv(c.fd, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    if (c.state != State::kBusy) {  // e: unasked-for bytes, or the server closed it
      unlink_idle(i);
      reopen(i);
      return;
    }
    HttpResponseParser::Result result = HttpResponseParser::Result::kError;
    if (n > 0) {
      result = c.response.feed(buf.data(), static_cast<std::size_t>(n));
    } else if (n == 0) {
      result = c.response.end_of_input();
    }
    switch (result) {
      case HttpResponseParser::Result::kMore:
        return;
      case HttpResponseParser::Result::kDone:
        complete(i, n == 0);
        return;
      case HttpResponseParser::Result::kError:
        fail_request_and_reopen(i);
        return;
    }
  }

  void complete(std::size_t i, bool connection_ended) noexcept {
    Connection& c = connections_[i];
    const std::int64_t now = now_ns();
    const std::int64_t k = c.request;
    const bool ok = c.response.status() == 200;
    if (ok && now >= measure_start_ && now < measure_end_) ++window_replies_;
    if (measured(k)) {
      if (ok) {
        ++replies_;
        latencies_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - due(k))));
      } else {
        ++errors_;
      }
    }
    c.request = -1;
    --busy_;
    // A reply before the whole request was sent (possible only with a full socket buffer)
    // leaves the rest of the request unsent: the connection cannot carry another one.
    if (c.response.keep_alive() && !connection_ended && c.written == request_.size()) {
      make_idle(i);
    } else {
      reopen(i);
    }
  }

  void fail_request_and_reopen(std::size_t i) noexcept {
    Connection& c = connections_[i];
    if (c.state == State::kBusy) {
      if (measured(c.request)) ++errors_;
      c.request = -1;
      --busy_;
    }
    reopen(i);
  }

  // Closes connection i (not busy, not on the idle list) and starts a new one (d).
  void reopen(std::size_t i) noexcept {
    Connection& c = connections_[i];
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    ++reconnects_;
    connect_one(i, now_ns());
  }

  void connect_one(std::size_t i, std::int64_t now) noexcept {
    Connection& c = connections_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      go_down(i, now);
      return;
    }
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
    if (rc == 0 || errno == EINPROGRESS) {
      if (watch(i, EPOLL_CTL_ADD, rc != 0)) {
        if (rc == 0) {
          make_idle(i);
        } else {
          c.state = State::kConnecting;
        }
        return;
      }
    }
    ::close(c.fd);
    c.fd = -1;
    go_down(i, now);
  }

  void on_connected(std::size_t i) noexcept {
    Connection& c = connections_[i];
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 &&
        watch(i, EPOLL_CTL_MOD, false)) {
      make_idle(i);
      return;
    }
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    go_down(i, now_ns());
  }

  void go_down(std::size_t i, std::int64_t now) noexcept {
    Connection& c = connections_[i];
    c.state = State::kDown;
    c.retry_at = now + kRetryNs;
    ++connect_errors_;
    if (down_++ == 0 || c.retry_at < next_retry_) next_retry_ = c.retry_at;
  }

  void retry_down(std::int64_t now) noexcept {
    next_retry_ = std::numeric_limits<std::int64_t>::max();
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      Connection& c = connections_[i];
      if (c.state != State::kDown) continue;
      if (c.retry_at <= now) {
        --down_;
        connect_one(i, now);  // may go down again, with a later retry_at
      } else {
        next_retry_ = std::min(next_retry_, c.retry_at);
      }
    }
  }

  const Options options_;
  const std::string request_;
  const double period_ns_;
  const std::int64_t first_measured_;  // the first request of the measured part
  const std::int64_t total_;           // requests in the schedule, warm-up included
  sockaddr_in to_{};
  UniqueFd epoll_;
  std::vector<Connection> connections_;
  std::vector<epoll_event> events_;
  std::array<char, kReadChunk> read_buffer_{};
  LatencyHistogram latencies_;

  std::int64_t t0_ = 0;
  std::int64_t measure_start_ = 0;
  std::int64_t measure_end_ = 0;
  std::int64_t next_ = 0;  // the next request to send
  int idle_head_ = -1;
  int idle_tail_ = -1;
  std::int64_t busy_ = 0;  // connections with a request outstanding
  std::int64_t down_ = 0;  // connections waiting to reconnect
  std::int64_t next_retry_ = 0;

  std::int64_t sent_ = 0;
  std::int64_t replies_ = 0;
  std::int64_t window_replies_ = 0;
  std::int64_t errors_ = 0;
  std::int64_t late_sends_ = 0;
  std::int64_t client_late_sends_ = 0;
  std::int64_t reconnects_ = 0;
  std::int64_t connect_errors_ = 0;
  CpuTime cpu_start_;
  CpuTime cpu_end_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    if (options.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(options.cpu, &set);
      if (::sched_setaffinity(0, sizeof set, &set) != 0) {
        throw_sys(fmt::format("sched_setaffinity(CPU {})", options.cpu));
      }
    }
    if (::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(kTimerSlackNs)) != 0) {
      throw_sys("prctl(PR_SET_TIMERSLACK)");
    }
    pollbench::raise_fd_limit();
    auto generator = std::make_unique<LoadGenerator>(
        options, fmt::format("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", options.port));
    generator->connect_all();
    if (const int err = generator->run(); err != 0) {
      fail(fmt::format("epoll_pwait2: {}", std::strerror(err)), 1);
    }
    fmt::print("{}", generator->report());
  } catch (const std::exception& e) {
    fail(e.what(), 1);
  }
  return 0;
}
