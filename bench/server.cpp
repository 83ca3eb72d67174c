// server: the C10K experiment. A minimal single-threaded HTTP/1.1 keep-alive server whose
// event loop is a registry row's Poller (harness/http_server.hpp) serves wrk's load while a
// separate process holds I idle TCP connections to it: does the mechanism matter for a
// server, and from how many idle connections on? (Banga & Mogul 1998, Gammo et al. 2004.)
//
// One row, server/<row>/idle:<I>/conns:<C>, starts per repetition (under interleaving a row's
// fixture lives one repetition anyway, and a server that served another row's load would carry
// its state):
//   1. pollbench-server serve <row> <cpu>: its own process, so its fds are numbered from 3
//      whatever this process holds (the shared pool: select could not serve at all), pinned to
//      the timed CPU; it answers on a pipe how many requests it served and its CPU time;
//   2. pollbench-server hold <port> <I>: I connections, connected and silent, in a third
//      process (the server's fd limit then holds the I server ends alone); then waits until the
//      server has accepted all I;
//   3. wrk -t1 -c<C> --latency, pinned to the other CPU, for longer than the row can need (-d);
// then each iteration is one window of `window` seconds between two readings of the server's
// counters (the manual time), and after the last one wrk is stopped with SIGINT (it prints its
// results for the time it ran) and its output parsed. The processes are ended whatever happens
// (Child's destructor: end of input, then SIGKILL after a grace period, always reaped), and each
// got PR_SET_PDEATHSIG (SIGKILL) before exec, so none outlives this process, also when it is
// killed. A server that dies mid-row fails the row with its exit status; the sweep goes on.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench::bench {
namespace {

// fds the server process holds besides its connections: stdin, stdout, stderr, the listener,
// a poller's own fds (epoll: 1; libuv, libevent: a few). Connections are numbered from there.
constexpr int kServerBaseFds = 8;
// How long the processes get to start, to connect I connections, and to end.
constexpr std::chrono::seconds kStartDeadline{10};
constexpr std::chrono::seconds kHoldDeadline{60};
constexpr std::chrono::seconds kEndDeadline{5};
// Idle connections per batch: well under the listen backlog (SOMAXCONN, 4,096 by default).
constexpr std::int64_t kHoldBatch = 1000;
// wrk runs at most this long (-d); the row stops it long before.
constexpr int kWrkSeconds = 600;
// wrk connects its C connections before the first window opens.
constexpr std::chrono::milliseconds kWarmUp{15};

using SteadyClock = std::chrono::steady_clock;

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return fmt::format("ended with wait status {}", status);
}

// A child process started by fork + exec: its stdin is a pipe from here (closing it is the
// child's signal to end), its stdout (and stderr, if asked) a pipe to here. The destructor
// closes the pipes, waits up to kEndDeadline, then SIGKILLs and reaps: never a zombie, never
// an orphan.
class Child {
 public:
  Child(const std::vector<std::string>& argv, int cpu, bool merge_stderr) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    UniqueFd in_read(in[0]);
    in_.reset(in[1]);
    if (::pipe2(out, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    out_.reset(out[0]);
    UniqueFd out_write(out[1]);
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) CPU_SET(cpu, &set);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
      // Async-signal-safe calls only: this process may have other threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (cpu >= 0) ::sched_setaffinity(0, sizeof set, &set);
      ::dup2(in_read.get(), STDIN_FILENO);
      ::dup2(out_write.get(), STDOUT_FILENO);
      if (merge_stderr) ::dup2(out_write.get(), STDERR_FILENO);
      ::close_range(3, ~0U, 0);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&&) = delete;
  Child& operator=(Child&&) = delete;
  ~Child() { end(); }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Sends one line to the child's stdin; false if it is gone. A child that died leaves a
  // pipe without a reader: the write fails with EPIPE, and the SIGPIPE it raises (which would
  // end this process) is blocked around it and discarded.
  bool send(std::string_view line) noexcept {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t saved;
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
    sigset_t pending;
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    std::size_t done = 0;
    bool ok = true;
    while (done < line.size()) {
      const ssize_t n = ::write(in_.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    if (!ok && !was_pending) {
      const timespec zero{};
      ::sigtimedwait(&pipe_only, nullptr, &zero);
    }
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    return ok;
  }

  // The next line of the child's stdout, or nullopt at its end or at the deadline.
  std::optional<std::string> line(SteadyClock::time_point deadline) {
    for (;;) {
      if (const std::size_t eol = buffer_.find('\n'); eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 1);
        return line;
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }

  // Everything the child writes until it closes its stdout (or the deadline).
  std::string rest(SteadyClock::time_point deadline) {
    while (read_some(deadline)) {
    }
    return std::exchange(buffer_, {});
  }

  // Whether the child is still running (reaps it if not).
  bool running() noexcept {
    if (status_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
    return !status_;
  }

  // Waits for the child to end (by itself, within the deadline; else SIGKILL) and returns how.
  std::string wait_ended(SteadyClock::time_point deadline) {
    while (running() && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (running()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      status_ = status;
    }
    return describe_status(*status_);
  }
  [[nodiscard]] bool exited_cleanly() const noexcept {
    return status_ && WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0;
  }

  // To the child's main thread (tgkill): wrk ends when the signal interrupts its main thread's
  // sleep; a process-directed signal may land on a worker thread instead.
  void signal(int signo) noexcept {
    if (!status_) ::syscall(SYS_tgkill, pid_, pid_, signo);
  }

  // Closes its stdin (the child's cue to end) and waits for it.
  std::string end() noexcept {
    if (pid_ <= 0) return {};
    in_.reset();
    std::string how;
    try {
      how = wait_ended(SteadyClock::now() + kEndDeadline);
    } catch (...) {
      how = "?";
    }
    out_.reset();
    pid_ = -1;
    return how;
  }

 private:
  bool read_some(SteadyClock::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return false;
      pollfd p{.fd = out_.get(), .events = POLLIN, .revents = 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
  }

  pid_t pid_ = -1;
  UniqueFd in_;
  UniqueFd out_;
  std::string buffer_;
  std::optional<int> status_;
};

// `name` on PATH, or "" if it is not there.
std::string find_program(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = std::min(dirs.find(':'), dirs.size());
    std::string candidate = fmt::format("{}/{}", dirs.substr(0, colon), name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
  }
  return {};
}

// pollbench-server, built beside this binary.
std::string server_program() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const auto path = self.parent_path() / "pollbench-server";
  return ::access(path.c_str(), X_OK) == 0 ? path.string() : std::string{};
}

struct ServerStats {
  double requests = 0;
  double accepted = 0;
  double open = 0;
  double refused = 0;
  double accept_errors = 0;
  double cpu_ns = 0;
};

std::optional<ServerStats> ask_stats(Child& server) {
  if (!server.send("stats\n")) return std::nullopt;
  const std::optional<std::string> reply = server.line(SteadyClock::now() + kStartDeadline);
  if (!reply) return std::nullopt;
  std::istringstream in(*reply);
  std::string word;
  ServerStats s;
  in >> word >> s.requests >> s.accepted >> s.open >> s.refused >> s.accept_errors >> s.cpu_ns;
  if (!in || word != "stats") return std::nullopt;
  return s;
}

// wrk's duration ("38.00us", "1.23ms", "2.00s", "1.00m") in nanoseconds, or a negative value.
double wrk_duration_ns(std::string_view text) {
  double value = 0;
  std::size_t used = 0;
  try {
    value = std::stod(std::string(text), &used);
  } catch (const std::exception&) {
    return -1;
  }
  const std::string_view unit = text.substr(used);
  if (unit == "us") return value * 1e3;
  if (unit == "ms") return value * 1e6;
  if (unit == "s") return value * 1e9;
  if (unit == "m") return value * 60e9;
  return -1;
}

}  // namespace

WrkReport parse_wrk(std::string_view output) {
  WrkReport r;
  std::istringstream in{std::string(output)};
  std::string line;
  bool in_distribution = false;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "Latency" && line.find("Distribution") != std::string::npos) {
      in_distribution = true;
      continue;
    }
    if (in_distribution && first.size() > 1 && first.back() == '%') {
      std::string value;
      words >> value;
      const double ns = wrk_duration_ns(value);
      if (first == "50%") r.p50_ns = ns;
      if (first == "75%") r.p75_ns = ns;
      if (first == "90%") r.p90_ns = ns;
      if (first == "99%") r.p99_ns = ns;
      continue;
    }
    in_distribution = false;
    if (first == "Requests/sec:") {
      words >> r.requests_per_s;
    } else if (line.find("requests in") != std::string::npos) {
      std::istringstream(line) >> r.requests;
    } else if (first == "Socket" && line.find("errors:") != std::string::npos) {
      // "Socket errors: connect 0, read 0, write 0, timeout 0"
      for (std::string word; words >> word;) {
        const double n = std::strtod(word.c_str(), nullptr);
        if (!word.empty() && word.front() >= '0' && word.front() <= '9') r.errors += n;
      }
    } else if (first == "Non-2xx") {
      std::string word;
      while (words >> word) {
      }
      r.errors += std::strtod(word.c_str(), nullptr);
    }
  }
  r.complete =
      r.requests_per_s >= 0 && r.p50_ns >= 0 && r.p75_ns >= 0 && r.p90_ns >= 0 && r.p99_ns >= 0;
  return r;
}

std::int64_t largest_idle_connections() {
  int limit = 0;
  try {
    limit = raise_fd_limit();
  } catch (const std::exception&) {
    return 0;
  }
  // The server holds I + C connections and kServerBaseFds; the grid's largest C is 32.
  const std::int64_t fits = static_cast<std::int64_t>(limit) - kServerBaseFds - 32 - 64;
  if (fits <= 0) return 0;
  return fits >= 5000 ? fits / 1000 * 1000 : fits;
}

void run_server(benchmark::State& state, const Backend& backend, std::int64_t idle,
                std::int64_t conns, double window_s) {
  const auto skip = [&](const std::string& reason) { state.SkipWithError(reason.c_str()); };
  if (!check_available(state, backend)) return;
  // Every fd the server would hold must be one its Poller accepts.
  const std::int64_t highest = kServerBaseFds + idle + conns - 1;
  if (highest > backend.capabilities.max_fd) {
    skip(
        fmt::format("{}: {} idle + {} loaded connections take server fds up to about {}, above "
                    "the largest fd it accepts ({})",
                    backend.name, idle, conns, highest, backend.capabilities.max_fd));
    return;
  }
  if (idle > largest_idle_connections()) {
    skip(
        fmt::format("{} idle connections do not fit under the server's RLIMIT_NOFILE (at most "
                    "{} here; raise the hard limit to run this row)",
                    idle, largest_idle_connections()));
    return;
  }
  // POLLBENCH_WRK names the program instead (a test simulates a machine without wrk).
  const char* forced = std::getenv("POLLBENCH_WRK");
  const std::string wrk =
      forced != nullptr ? (::access(forced, X_OK) == 0 ? forced : "") : find_program("wrk");
  if (wrk.empty()) {
    skip(forced != nullptr
             ? fmt::format("wrk is not installed ('{}', from POLLBENCH_WRK, is not a program)",
                           forced)
             : std::string("wrk is not installed (Debian package wrk; ./pollbench run "
                           "installs it)"));
    return;
  }
  const std::string server_bin = server_program();
  if (server_bin.empty()) {
    skip("pollbench-server is not built beside pollbench-bench");
    return;
  }
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || placement.others.empty()) {
    skip(
        fmt::format("server rows need two CPUs, the server's and wrk's: the timed CPU is {} and "
                    "no other CPU is listed or allowed",
                    placement.timed));
    return;
  }
  const int server_cpu = placement.timed;
  const int client_cpu = placement.others.front();
  drop_fixture();  // no other row's descriptors or threads while the server runs

  try {
    // Ended in reverse order: wrk, then the holder, then the server (whose open connections
    // are reset at its end, so the holder's close finds them gone and leaves no TIME_WAIT).
    Child server({server_bin, "serve", std::string(backend.name), std::to_string(server_cpu)}, -1,
                 false);
    const auto failed = [&](std::string_view what) {
      // Why the server is gone, if it is.
      if (!server.running()) {
        return fmt::format("{}: {}; the server {}", backend.name, what,
                           server.wait_ended(SteadyClock::now()));
      }
      return fmt::format("{}: {}", backend.name, what);
    };
    const std::optional<std::string> hello = server.line(SteadyClock::now() + kStartDeadline);
    int port = 0;
    if (!hello || std::sscanf(hello->c_str(), "listening %d", &port) != 1) {
      skip(failed("the server did not start"));
      return;
    }
    // The holder connects in batches, each accepted by the server before the next: a batch
    // larger than the listen backlog would have SYNs dropped (a 1 s retransmit each).
    std::optional<Child> holder;
    if (idle > 0) {
      holder.emplace(std::vector<std::string>{server_bin, "hold", std::to_string(port)}, client_cpu,
                     false);
    }
    const auto hold_deadline = SteadyClock::now() + kHoldDeadline;
    for (std::int64_t held = 0; held < idle || held == 0;) {
      if (idle > 0) {
        const std::int64_t batch = std::min(kHoldBatch, idle - held);
        const bool sent = holder->send(fmt::format("connect {}\n", batch));
        const std::optional<std::string> reply = holder->line(hold_deadline);
        if (!sent || !reply || *reply != fmt::format("held {}", held + batch)) {
          skip(failed(fmt::format("the holder could not connect {} idle connections (it {})", idle,
                                  holder->wait_ended(SteadyClock::now()))));
          return;
        }
        held += batch;
      }
      for (;;) {  // the server accepts them in its loop
        const std::optional<ServerStats> s = ask_stats(server);
        if (!s) {
          skip(failed("the server stopped answering"));
          return;
        }
        if (s->open >= static_cast<double>(held)) break;
        if (s->refused > 0 || s->accept_errors > 0 || SteadyClock::now() > hold_deadline) {
          skip(
              failed(fmt::format("the server accepted {} of {} idle connections ({} refused, "
                                 "{} accept errors)",
                                 s->open, held, s->refused, s->accept_errors)));
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (idle == 0) break;
    }

    Child load({wrk, "-t1", fmt::format("-c{}", conns), fmt::format("-d{}s", kWrkSeconds),
                "--latency", "--timeout", "2s", fmt::format("http://127.0.0.1:{}/", port)},
               client_cpu, true);
    std::this_thread::sleep_for(kWarmUp);
    std::optional<ServerStats> first = ask_stats(server);
    if (!first) {
      skip(failed("the server stopped answering"));
      return;
    }
    ServerStats last = *first;
    for (auto _ : state) {
      const auto t0 = SteadyClock::now();
      std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
      const std::optional<ServerStats> now = ask_stats(server);
      const auto t1 = SteadyClock::now();
      if (!now) {
        skip(failed("the server stopped answering mid-row"));
        break;
      }
      state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
      last = *now;
    }
    const bool wrk_ran = load.running();
    load.signal(SIGINT);  // wrk prints its results for the time it ran
    const std::string output = load.rest(SteadyClock::now() + kEndDeadline);
    const std::string wrk_end = load.wait_ended(SteadyClock::now() + kEndDeadline);
    if (state.error_occurred()) return;
    if (!wrk_ran) {
      skip(failed(fmt::format("wrk ended before the measurement did ({})", wrk_end)));
      return;
    }
    const WrkReport report = parse_wrk(output);
    if (!report.complete) {
      const std::size_t cut = output.find_last_not_of('\n');
      const std::string tail = output.substr(0, cut == std::string::npos ? 0 : cut + 1);
      skip(failed(fmt::format("wrk's output has no results (wrk {}): {}", wrk_end,
                              tail.substr(tail.find_last_of('\n') + 1))));
      return;
    }
    const double requests = last.requests - first->requests;
    const double seconds = static_cast<double>(state.iterations()) * window_s;
    if (requests <= 0) {
      skip(failed("no request was served in the measured window"));
      return;
    }
    // The server first: it resets the connections it holds, so the holder's close (at the end
    // of this scope) leaves no TIME_WAIT behind; it must end by itself, with status 0.
    const std::string server_end = server.end();
    if (!server.exited_cleanly()) {
      skip(fmt::format("{}: the server {}", backend.name, server_end));
      return;
    }
    set_counter(state, "requests_per_s", per(requests, seconds));
    // The same rate as a cost (lower is better, as every metric compare reads).
    set_counter(state, "ns_per_request", per(seconds * 1e9, requests));
    set_counter(state, "wrk_requests_per_s", report.requests_per_s);
    set_counter(state, "p50_ns", report.p50_ns);
    set_counter(state, "p75_ns", report.p75_ns);
    set_counter(state, "p90_ns", report.p90_ns);
    set_counter(state, "p99_ns", report.p99_ns);
    set_counter(state, "cpu_ns_per_request", per(last.cpu_ns - first->cpu_ns, requests));
    set_counter(state, "requests", requests);
    set_counter(state, "idle", last.open - static_cast<double>(conns));
    set_counter(state, "errors", report.errors);
  } catch (const std::exception& e) {
    skip(fmt::format("{}: {}", backend.name, e.what()));
  }
}

Rows server_subset_rows(const Rows& rows) {
  Rows out;
  const Backend* first_library = nullptr;
  for (const Backend* b : rows) {
    if (!b->raw_floor.empty()) out.push_back(b);
    if (!b->wraps.empty() && first_library == nullptr) first_library = b;
  }
  if (first_library != nullptr) out.push_back(first_library);
  return out;
}

void register_server(const Sweep& sweep, const Rows& rows) {
  Rows chosen = sweep.server_grid ? rows : server_subset_rows(rows);
  if (chosen.empty()) chosen = rows;  // --backend chose none of the subset: measure its rows
  const double window = sweep.server_window_s;
  for (const auto& [idle, conns] : sweep.server) {
    for (const Backend* b : chosen) {
      register_row(RowName("server", b->name).add("idle", idle).add("conns", conns), 0,
                   [b, idle = idle, conns = conns, window](benchmark::State& state) {
                     run_server(state, *b, idle, conns, window);
                   })
          ->UseManualTime();
    }
  }
  describe_scenario(
      "server",
      fmt::format(R"({{"backends": {}, "points": {}, "grid": {}, "window_s": {}, )"
                  R"("largest_idle": {}}})",
                  json_names(chosen), json_pairs(sweep.server),
                  sweep.server_grid ? "true" : "false", window, largest_idle_connections()));
}

}  // namespace pollbench::bench
