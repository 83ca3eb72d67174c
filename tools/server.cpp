// pollbench-server: the two processes of the server scenario besides the load generator
// (bench/server.cpp starts them, one pair per repetition, and ends them), and the list of
// the loops the server can run.
//
//   pollbench-server serve LOOP [CPU]
//       The server loop LOOP (harness/server_loop.hpp): a registry row's name (the readiness
//       loop, HttpServer over that row's Poller) or an io_uring completion engine's
//       (uring_...), listening on 127.0.0.1 on a port the kernel chooses, pinned to CPU if
//       given. Writes "listening <port>" on stdout, then serves. Its stdin is the control
//       channel, watched by the same loop: each line "stats" is answered on stdout with
//       "stats <requests> <accepted> <open> <refused> <accept_errors> <cpu_ns> <user_ns>
//       <sys_ns>" (the process's CPU time, getrusage: cpu_ns = user_ns + sys_ns); end of
//       input ends it (exit 0), every open connection reset first.
//   pollbench-server loops
//       One line per loop name, registry rows first: "<name> available" or
//       "<name> unavailable: <reason>" (the probe constructs the loop for real).
//   pollbench-server hold PORT
//       Holds TCP connections to 127.0.0.1:PORT, open and silent: each line "connect N" on
//       stdin opens N more (blocking connects) and is answered "held <total>"; at the end of
//       its stdin it exits, resetting them (SO_LINGER 0) so they leave no TIME_WAIT. The
//       parent asks in batches smaller than the listen backlog and waits for the server to
//       accept each: a full accept queue drops SYNs, and a dropped SYN costs a 1 s retransmit.
//
// Errors: one line on stderr "pollbench-server: ...", exit 1 (2 for a wrong command line).
// Neither mode outlives its parent once that parent set PR_SET_PDEATHSIG (bench/server.cpp
// does, before exec).
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "harness/fd_pool.hpp"
#include "harness/server_loop.hpp"
#include "harness/unique_fd.hpp"

namespace {

using pollbench::UniqueFd;

// Idle connections per loopback source address (hold).
constexpr std::size_t kConnectionsPerSource = 8000;

[[noreturn]] void fail(const std::string& what, int status = 1) {
  fmt::print(stderr, "pollbench-server: {}\n", what);
  std::exit(status);
}

bool parse_number(std::string_view text, long& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Writes all of `line` to stdout (unbuffered: the parent reads it at once).
bool say(const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

struct CpuTime {
  std::int64_t user_ns = 0;
  std::int64_t sys_ns = 0;
};

CpuTime cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto ns = [](const timeval& tv) {
    return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<std::int64_t>(tv.tv_usec) * 1000;
  };
  return {ns(usage.ru_utime), ns(usage.ru_stime)};
}

int serve(std::string_view loop_name, const char* cpu) {
  const std::vector<std::string> names = pollbench::server_loop_names();
  if (std::find(names.begin(), names.end(), loop_name) == names.end()) {
    fail(fmt::format("serve: unknown loop '{}' (pollbench-server loops lists them)", loop_name), 2);
  }
  if (cpu != nullptr) {
    long n = -1;
    if (!parse_number(cpu, n) || n < 0 || n >= CPU_SETSIZE) {
      fail(fmt::format("serve: '{}' is not a CPU number", cpu), 2);
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(n), &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) {
      fail(fmt::format("serve: sched_setaffinity(CPU {}): {}", n, std::strerror(errno)));
    }
  }
  try {
    pollbench::raise_fd_limit();
    std::uint16_t port = 0;
    const UniqueFd listener = pollbench::listen_loopback(port);
    const int flags = ::fcntl(STDIN_FILENO, F_GETFL);
    if (flags < 0 || ::fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) != 0) {
      throw std::system_error(errno, std::generic_category(), "fcntl(stdin, O_NONBLOCK)");
    }
    const std::unique_ptr<pollbench::ServerLoop> server =
        pollbench::make_server_loop(loop_name, listener.get());
    std::string pending;
    server->watch_control(STDIN_FILENO, [&]() {
      char buf[256];
      for (;;) {  // until EAGAIN: an edge-triggered loop reports the pipe once per write
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0) return false;  // the parent closed the channel: end
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        pending.append(buf, static_cast<std::size_t>(n));
        std::size_t eol = 0;
        while ((eol = pending.find('\n')) != std::string::npos) {
          if (pending.compare(0, eol, "stats") == 0) {
            const pollbench::HttpServerStats& s = server->stats();
            const CpuTime used = cpu_time();
            if (!say(fmt::format("stats {} {} {} {} {} {} {} {}\n", s.requests, s.accepted, s.open,
                                 s.refused, s.accept_errors, used.user_ns + used.sys_ns,
                                 used.user_ns, used.sys_ns))) {
              return false;
            }
          }
          pending.erase(0, eol + 1);
        }
      }
    });
    if (!say(fmt::format("listening {}\n", port))) fail("serve: stdout closed");
    if (const int err = server->run(); err < 0) {
      fail(fmt::format("serve: {}: wait failed: {}", loop_name, std::strerror(-err)));
    }
  } catch (const std::exception& e) {
    fail(fmt::format("serve: {}: {}", loop_name, e.what()));
  }
  return 0;
}

int loops() {
  std::string out;
  for (const std::string& name : pollbench::server_loop_names()) {
    std::optional<std::string> why;
    try {
      why = pollbench::server_loop_unavailable(name);
    } catch (const std::exception& e) {
      why = e.what();
    }
    out +=
        why ? fmt::format("{} unavailable: {}\n", name, *why) : fmt::format("{} available\n", name);
  }
  return say(out) ? 0 : 1;
}

int hold(const char* port_text) {
  long port = 0;
  if (!parse_number(port_text, port) || port < 1 || port > 65535) {
    fail(fmt::format("hold: '{}' is not a port", port_text), 2);
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  std::vector<UniqueFd> held;
  std::string pending;
  char buf[256];
  try {
    pollbench::raise_fd_limit();
    for (;;) {  // "connect N" lines until the end of input
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t eol = 0;
      while ((eol = pending.find('\n')) != std::string::npos) {
        const std::string line = pending.substr(0, eol);
        pending.erase(0, eol + 1);
        long count = 0;
        if (!line.starts_with("connect ") || !parse_number(line.substr(8), count) || count < 0) {
          fail(fmt::format("hold: '{}' is not a command (connect N)", line), 2);
        }
        for (long i = 0; i < count; ++i) {
          UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
          if (!fd) throw std::system_error(errno, std::generic_category(), "socket(AF_INET)");
          // From 127.0.0.2, 127.0.0.3, ...: kConnectionsPerSource each. connect() takes the
          // even ephemeral ports first (half the range, 14,116 by default) and past them scans
          // for a free odd one on every call, 1 ms each; another source address is a fresh
          // range. IP_BIND_ADDRESS_NO_PORT: the port is still chosen at connect.
          const int one = 1;
          ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
          sockaddr_in from{};
          from.sin_family = AF_INET;
          from.sin_addr.s_addr =
              htonl(INADDR_LOOPBACK + 1 +
                    static_cast<std::uint32_t>(held.size() / kConnectionsPerSource));
          if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
            throw std::system_error(errno, std::generic_category(), "bind(127.0.0.x)");
          }
          if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
            throw std::system_error(errno, std::generic_category(),
                                    fmt::format("connect (connection {})", held.size() + 1));
          }
          held.push_back(std::move(fd));
        }
        if (!say(fmt::format("held {}\n", held.size()))) fail("hold: stdout closed");
      }
    }
  } catch (const std::exception& e) {
    fail(fmt::format("hold: {}", e.what()));
  }
  const linger reset{.l_onoff = 1, .l_linger = 0};
  for (const UniqueFd& fd : held)
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "serve" && (argc == 3 || argc == 4))
    return serve(argv[2], argc == 4 ? argv[3] : nullptr);
  if (mode == "hold" && argc == 3) return hold(argv[2]);
  if (mode == "loops" && argc == 2) return loops();
  fail("usage: pollbench-server serve LOOP [CPU] | hold PORT | loops", 2);
}
