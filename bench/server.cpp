// server: the C10K experiment, and epoll against io_uring as servers use them. A minimal
// single-threaded HTTP/1.1 keep-alive server serves a load while a separate process holds I idle
// TCP connections to it: does the mechanism matter for a server, from how many idle connections
// on (Banga & Mogul 1998, Gammo et al. 2004), and what does a request cost the server's CPU with
// each? The server's loop (harness/server_loop.hpp) is a registry row's readiness loop
// (harness/http_server.hpp) or an io_uring completion engine (harness/uring_*_engine.cpp).
//
// Two kinds of row, each starting its processes per repetition (under interleaving a row's
// fixture lives one repetition anyway, and a server that served another row's load would carry
// its state):
//   server/<loop>/idle:<I>/conns:<C>   closed loop: wrk -t1 -c<C> keeps C connections busy, a new
//                                      request as soon as the last answer came;
//   server/<loop>/idle:<I>/rate:<R>    open loop: pollbench-load sends R requests/s on a fixed
//                                      schedule, late answers or not, and measures each latency
//                                      from the request's scheduled send (no coordinated
//                                      omission).
// Each starts:
//   1. pollbench-server serve <loop> <cpu>: its own process, so its fds are numbered from 3
//      whatever this process holds (the shared pool: select could not serve at all), pinned to
//      the timed CPU; it answers on a pipe how many requests it served and its user and system
//      CPU time;
//   2. pollbench-server hold <port>: I connections, connected and silent, in a third process
//      (the server's fd limit then holds the I server ends alone); then waits until the server
//      has accepted all I;
//   3. the load, pinned to the other CPU.
// Each iteration is one window of `window` seconds between two readings of the server's
// counters (the manual time). The CPU the load generator used over the same windows is read
// from the kernel (ChildProcess::cpu_ns), so a row says which side was saturated: requests/s
// compare servers only where the server, not the client, was the bottleneck. The processes are
// ended whatever happens (ChildProcess, harness/child_process.hpp). A server that dies mid-row
// fails the row with its exit status; the sweep goes on.
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
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/child_process.hpp"
#include "harness/server_loop.hpp"
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
// wrk connects its C connections before the first window opens: the windows start this long
// after the server has answered wrk's first request. Not a fixed pause from wrk's start: on a
// loaded machine wrk can take longer than a window to start, and a window without a request
// skipped the repetition (and ending the half-started wrk then cost seconds).
constexpr std::chrono::milliseconds kWarmUp{15};
// The open-loop rows: the load's connections, its warm-up before the first window (its
// connections up, the server's caches warm), and how long its last answers may take after
// its schedule ended.
constexpr std::int64_t kRateConns = 32;
constexpr std::chrono::duration<double> kRateWarmUp{0.2};
constexpr std::chrono::seconds kRateDrain{5};
// The load's schedule runs this much past the last window: the windows start after the load's
// warm-up as this process sees it, a little after the load's own, and each reading of the
// server's counters takes a round trip; a load that ended first would leave the last window
// without requests (and its connections closed: open below the loaded ones).
constexpr std::chrono::duration<double> kRateTail{0.3};

using SteadyClock = std::chrono::steady_clock;

struct ServerStats {
  double requests = 0;
  double accepted = 0;
  double open = 0;
  double refused = 0;
  double accept_errors = 0;
  double cpu_ns = 0;
  double user_ns = 0;
  double sys_ns = 0;
};

std::optional<ServerStats> ask_stats(ChildProcess& server) {
  if (!server.send("stats\n")) return std::nullopt;
  const std::optional<std::string> reply = server.line(SteadyClock::now() + kStartDeadline);
  if (!reply) return std::nullopt;
  std::istringstream in(*reply);
  std::string word;
  ServerStats s;
  in >> word >> s.requests >> s.accepted >> s.open >> s.refused >> s.accept_errors >> s.cpu_ns >>
      s.user_ns >> s.sys_ns;
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

namespace {

// A loop the server rows run: a registry row's readiness loop, or a completion engine.
struct ServerLoopRow {
  std::string name;
  const Backend* backend = nullptr;  // nullptr: an engine (no fd limit, no registry row)
};

// Why the engine cannot run here, or nullopt: probed once per process (the probe constructs it).
const std::optional<std::string>& probed_engine_unavailable(const std::string& name) {
  static std::map<std::string, std::optional<std::string>, std::less<>> probed;
  auto found = probed.find(name);
  if (found == probed.end()) found = probed.emplace(name, server_loop_unavailable(name)).first;
  return found->second;
}

// Why the loop cannot serve `idle` + `conns` connections here, or "" if it can.
std::string cannot_serve(const ServerLoopRow& loop, std::int64_t idle, std::int64_t conns) {
  if (loop.backend != nullptr) {
    if (const auto& why = probed_unavailable(*loop.backend)) return fmt::format("{}", *why);
    // Every fd the server would hold must be one its Poller accepts.
    const std::int64_t highest = kServerBaseFds + idle + conns - 1;
    if (!loop.backend->polls_fd(highest)) {
      return fmt::format(
          "{}: {} idle + {} loaded connections take server fds up to about {}, above the "
          "largest fd it accepts ({})",
          loop.name, idle, conns, highest, loop.backend->capabilities.max_fd);
    }
  } else if (const auto& why = probed_engine_unavailable(loop.name)) {
    return fmt::format("{}: {}", loop.name, *why);
  }
  if (idle > largest_idle_connections()) {
    return fmt::format(
        "{} idle connections do not fit under the server's RLIMIT_NOFILE (at most {} here; "
        "raise the hard limit to run this row)",
        idle, largest_idle_connections());
  }
  return {};
}

// A program the load needs: `name` on PATH, or the program `env` names (a test simulates a
// machine without it); "" with `why` set if there is none.
std::string load_program(const char* env, std::string_view name, std::string_view package,
                         std::string& why) {
  if (const char* forced = std::getenv(env)) {
    if (::access(forced, X_OK) == 0) return forced;
    why = fmt::format("{} is not installed ('{}', from {}, is not a program)", name, forced, env);
    return {};
  }
  std::string found = find_program(name);
  if (found.empty()) {
    why = fmt::format("{} is not installed (Debian package {}; ./pollbench run installs it)", name,
                      package);
  }
  return found;
}

// Steps 1 and 2 of a row: the server process on the timed CPU, serving, with I idle
// connections held by another process on the other CPU, all accepted.
class ServerUnderLoad {
 public:
  // Starts both; `error()` says why not.
  ServerUnderLoad(const std::string& server_bin, const ServerLoopRow& loop, std::int64_t idle,
                  int server_cpu, int client_cpu)
      : loop_name_(loop.name),
        server_({server_bin, "serve", loop.name, std::to_string(server_cpu)}, -1, false) {
    const std::optional<std::string> hello = server_.line(SteadyClock::now() + kStartDeadline);
    if (!hello || std::sscanf(hello->c_str(), "listening %d", &port_) != 1) {
      fail("the server did not start");
      return;
    }
    if (idle == 0) return;
    // The holder connects in batches, each accepted by the server before the next: a batch
    // larger than the listen backlog would have SYNs dropped (a 1 s retransmit each).
    holder_.emplace(std::vector<std::string>{server_bin, "hold", std::to_string(port_)}, client_cpu,
                    false);
    const auto deadline = SteadyClock::now() + kHoldDeadline;
    for (std::int64_t held = 0; held < idle;) {
      const std::int64_t batch = std::min(kHoldBatch, idle - held);
      const bool sent = holder_->send(fmt::format("connect {}\n", batch));
      const std::optional<std::string> reply = holder_->line(deadline);
      if (!sent || !reply || *reply != fmt::format("held {}", held + batch)) {
        fail(fmt::format("the holder could not connect {} idle connections (it {})", idle,
                         holder_->wait_ended(SteadyClock::now())));
        return;
      }
      held += batch;
      for (;;) {  // the server accepts them in its loop
        const std::optional<ServerStats> s = stats();
        if (!s) {
          fail("the server stopped answering");
          return;
        }
        if (s->open >= static_cast<double>(held)) break;
        if (s->refused > 0 || s->accept_errors > 0 || SteadyClock::now() > deadline) {
          fail(
              fmt::format("the server accepted {} of {} idle connections ({} refused, {} accept "
                          "errors)",
                          s->open, held, s->refused, s->accept_errors));
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] int port() const noexcept { return port_; }
  std::optional<ServerStats> stats() { return ask_stats(server_); }

  // Waits until the server has answered a request; false (and error() says why) if it stopped
  // answering or none came before `deadline`.
  bool wait_served(SteadyClock::time_point deadline) {
    for (;;) {
      const std::optional<ServerStats> s = stats();
      if (!s) {
        fail("the server stopped answering");
        return false;
      }
      if (s->requests > 0) return true;
      if (SteadyClock::now() > deadline) {
        fail(fmt::format("the server answered no request of the load within {} s",
                         kStartDeadline.count()));
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // "<loop>: <what>", and why the server is gone, if it is.
  std::string failed(std::string_view what) {
    if (!server_.running()) {
      return fmt::format("{}: {}; the server {}", loop_name_, what,
                         server_.wait_ended(SteadyClock::now()));
    }
    return fmt::format("{}: {}", loop_name_, what);
  }
  void fail(std::string_view what) { error_ = failed(what); }

  // The server first: it resets the connections it holds, so the holder's close (its
  // destructor, after) leaves no TIME_WAIT behind; it must end by itself, with status 0.
  std::string end() {
    const std::string how = server_.end();
    if (!server_.exited_cleanly()) return fmt::format("{}: the server {}", loop_name_, how);
    return {};
  }

 private:
  std::string loop_name_;
  std::string error_;
  int port_ = 0;
  ChildProcess server_;
  std::optional<ChildProcess> holder_;
};

// The timed loop shared by both kinds of row: one window per iteration between two readings of
// the server's counters, the load generator's CPU read around them. nullopt: the row was
// skipped (the state says why).
struct Measured {
  ServerStats first;
  ServerStats last;
  double client_cpu_ns = -1;  // -1: the kernel keeps no per-task CPU time
  double seconds = 0;
};
std::optional<Measured> measure_windows(benchmark::State& state, ServerUnderLoad& server,
                                        const ChildProcess& load, double window_s) {
  const std::optional<ServerStats> first = server.stats();
  if (!first) {
    state.SkipWithError(server.failed("the server stopped answering").c_str());
    return std::nullopt;
  }
  const std::optional<std::int64_t> client_first = load.cpu_ns();
  Measured m{.first = *first, .last = *first};
  for (auto _ : state) {
    const auto t0 = SteadyClock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
    const std::optional<ServerStats> now = server.stats();
    const auto t1 = SteadyClock::now();
    if (!now) {
      state.SkipWithError(server.failed("the server stopped answering mid-row").c_str());
      break;
    }
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    m.seconds += seconds;
    m.last = *now;
  }
  if (state.error_occurred()) return std::nullopt;
  const std::optional<std::int64_t> client_last = load.cpu_ns();
  if (client_first && client_last) {
    m.client_cpu_ns = static_cast<double>(*client_last - *client_first);
  }
  if (m.last.requests - m.first.requests <= 0) {
    state.SkipWithError(server.failed("no request was served in the measured window").c_str());
    return std::nullopt;
  }
  return m;
}

// The server's side of a row, the same for both kinds: its rate, its CPU per request (user,
// system), and how busy each side was (1 = a whole CPU): client_busy near 1 with server_busy
// well below says the load generator, not the server, set the rate.
void set_server_counters(benchmark::State& state, const Measured& m) {
  const double requests = m.last.requests - m.first.requests;
  const double wall_ns = m.seconds * 1e9;
  set_counter(state, "requests_per_s", per(requests, m.seconds));
  // The same rate as a cost (lower is better, as every metric compare reads).
  set_counter(state, "ns_per_request", per(wall_ns, requests));
  set_counter(state, "cpu_ns_per_request", per(m.last.cpu_ns - m.first.cpu_ns, requests));
  set_counter(state, "user_ns_per_request", per(m.last.user_ns - m.first.user_ns, requests));
  set_counter(state, "sys_ns_per_request", per(m.last.sys_ns - m.first.sys_ns, requests));
  set_counter(state, "server_busy", per(m.last.cpu_ns - m.first.cpu_ns, wall_ns));
  if (m.client_cpu_ns >= 0) {
    set_counter(state, "client_busy", per(m.client_cpu_ns, wall_ns));
    set_counter(state, "client_cpu_ns_per_request", per(m.client_cpu_ns, requests));
  }
  set_counter(state, "requests", requests);
  set_cpus_used(state, 2);  // the server's CPU and the load's (ServerRig)
}

// What every server row needs: a loop that can serve its connections here, the server program
// and two CPUs. `error` says what is missing, else the rest is set.
struct ServerRig {
  std::string error;
  std::string server_bin;
  int server_cpu = -1;
  int client_cpu = -1;
};
ServerRig server_rig(const ServerLoopRow& loop, std::int64_t idle, std::int64_t conns) {
  ServerRig rig;
  rig.error = cannot_serve(loop, idle, conns);
  if (!rig.error.empty()) return rig;
  rig.server_bin = sibling_program("pollbench-server");
  if (rig.server_bin.empty()) {
    rig.error = "pollbench-server is not built beside pollbench-bench";
    return rig;
  }
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || placement.others.empty()) {
    rig.error = fmt::format(
        "server rows need two CPUs, the server's and the load's: the timed CPU is {} and no "
        "other CPU is listed or allowed",
        placement.timed);
    return rig;
  }
  rig.server_cpu = placement.timed;
  rig.client_cpu = placement.others.front();
  return rig;
}

// The last non-empty line a child printed: what a failed row quotes of it.
std::string_view last_line(std::string_view output) {
  const std::size_t cut = output.find_last_not_of('\n');
  const std::string_view text = output.substr(0, cut == std::string_view::npos ? 0 : cut + 1);
  const std::size_t start = text.find_last_of('\n');
  return start == std::string_view::npos ? text : text.substr(start + 1);
}

// key=value words of pollbench-load's result line ("load offered_rps=... p99_ns=...").
std::optional<std::vector<std::pair<std::string, double>>> parse_load(std::string_view output) {
  std::istringstream in{std::string(output)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("load ")) continue;
    std::vector<std::pair<std::string, double>> values;
    std::istringstream words(line.substr(5));
    for (std::string word; words >> word;) {
      const std::size_t eq = word.find('=');
      if (eq == std::string::npos) return std::nullopt;
      char* end = nullptr;
      const double v = std::strtod(word.c_str() + eq + 1, &end);
      if (end == word.c_str() + eq + 1 || *end != '\0') return std::nullopt;
      values.emplace_back(word.substr(0, eq), v);
    }
    return values;
  }
  return std::nullopt;
}

void run_server(benchmark::State& state, const ServerLoopRow& loop, std::int64_t idle,
                std::int64_t conns, double window_s) {
  const auto skip = [&](const std::string& reason) { state.SkipWithError(reason.c_str()); };
  const ServerRig rig = server_rig(loop, idle, conns);
  if (!rig.error.empty()) return skip(rig.error);
  std::string why;
  const std::string wrk = load_program("POLLBENCH_WRK", "wrk", "wrk", why);
  if (wrk.empty()) return skip(why);
  drop_fixture();  // no other row's descriptors or threads while the server runs
  try {
    // Ended in reverse order: wrk, then the holder, then the server.
    ServerUnderLoad server(rig.server_bin, loop, idle, rig.server_cpu, rig.client_cpu);
    if (!server.error().empty()) return skip(server.error());
    ChildProcess load(
        {wrk, "-t1", fmt::format("-c{}", conns), fmt::format("-d{}s", kWrkSeconds), "--latency",
         "--timeout", "2s", fmt::format("http://127.0.0.1:{}/", server.port())},
        rig.client_cpu, true);
    const bool served = server.wait_served(SteadyClock::now() + kStartDeadline);
    if (served) std::this_thread::sleep_for(kWarmUp);
    const std::optional<Measured> m =
        served ? measure_windows(state, server, load, window_s) : std::nullopt;
    if (!served) skip(server.error());
    const bool wrk_ran = load.running();
    load.signal(SIGINT);  // wrk prints its results for the time it ran
    const std::string output = load.rest(SteadyClock::now() + kEndDeadline);
    const std::string wrk_end = load.wait_ended(SteadyClock::now() + kEndDeadline);
    if (!m) return;
    if (!wrk_ran)
      return skip(server.failed(fmt::format("wrk ended before the measurement did ({})", wrk_end)));
    const WrkReport report = parse_wrk(output);
    if (!report.complete) {
      return skip(server.failed(
          fmt::format("wrk's output has no results (wrk {}): {}", wrk_end, last_line(output))));
    }
    if (std::string ended = server.end(); !ended.empty()) return skip(ended);
    set_server_counters(state, *m);
    set_counter(state, "idle", m->last.open - static_cast<double>(conns));
    set_counter(state, "wrk_requests_per_s", report.requests_per_s);
    set_counter(state, "p50_ns", report.p50_ns);
    set_counter(state, "p75_ns", report.p75_ns);
    set_counter(state, "p90_ns", report.p90_ns);
    set_counter(state, "p99_ns", report.p99_ns);
    set_counter(state, "errors", report.errors);
  } catch (const std::exception& e) {
    skip(fmt::format("{}: {}", loop.name, e.what()));
  }
}

void run_server_rate(benchmark::State& state, const ServerLoopRow& loop, std::int64_t idle,
                     std::int64_t rate, double window_s, std::int64_t windows) {
  const auto skip = [&](const std::string& reason) { state.SkipWithError(reason.c_str()); };
  const ServerRig rig = server_rig(loop, idle, kRateConns);
  if (!rig.error.empty()) return skip(rig.error);
  const std::string load_bin = sibling_program("pollbench-load");
  if (load_bin.empty()) return skip("pollbench-load is not built beside pollbench-bench");
  drop_fixture();
  try {
    ServerUnderLoad server(rig.server_bin, loop, idle, rig.server_cpu, rig.client_cpu);
    if (!server.error().empty()) return skip(server.error());
    const double measured_s = window_s * static_cast<double>(windows);
    ChildProcess load(
        {load_bin, "--port", std::to_string(server.port()), "--rate", std::to_string(rate),
         "--conns", std::to_string(kRateConns), "--warmup", fmt::format("{}", kRateWarmUp.count()),
         "--duration", fmt::format("{}", measured_s + kRateTail.count())},
        rig.client_cpu, true);
    // The load's schedule starts after its connections are up; its warm-up covers that.
    std::this_thread::sleep_for(kRateWarmUp);
    const std::optional<Measured> m = measure_windows(state, server, load, window_s);
    const std::string output = load.rest(SteadyClock::now() + kRateDrain);
    const std::string load_end = load.wait_ended(SteadyClock::now() + kEndDeadline);
    if (!m) return;
    const auto values = parse_load(output);
    if (!values || !load.exited_cleanly()) {
      return skip(server.failed(
          fmt::format("pollbench-load gave no results (it {}): {}", load_end, last_line(output))));
    }
    if (std::string ended = server.end(); !ended.empty()) return skip(ended);
    set_server_counters(state, *m);
    set_counter(state, "idle", m->last.open - static_cast<double>(kRateConns));
    // The load's own figures over its measured schedule: what it offered, what came back, the
    // latency from each request's scheduled send, and how many went out late.
    for (const auto& [key, value] : *values) {
      if (key == "user_ns" || key == "sys_ns") continue;  // client_busy says it, per window
      state.counters[key] = benchmark::Counter(value);
    }
  } catch (const std::exception& e) {
    skip(fmt::format("{}: {}", loop.name, e.what()));
  }
}

}  // namespace

Rows server_subset_rows(const Rows& rows) {
  Rows out;
  for (const Backend* b : rows) {
    if (b->has_raw_floor()) out.push_back(b);
  }
  if (const Backend* library = first_library_row(rows)) out.push_back(library);
  return out;
}

void register_server(const Sweep& sweep, const Rows& rows) {
  Rows chosen = sweep.server_grid ? rows : server_subset_rows(rows);
  if (chosen.empty() && sweep.server_engines.empty())
    chosen = rows;  // --backend chose none of the subset
  std::vector<ServerLoopRow> loops;
  for (const Backend* b : chosen) loops.push_back({std::string(b->name), b});
  for (const std::string& engine : sweep.server_engines) loops.push_back({engine, nullptr});
  // The open-loop rows: the readiness loops of the O(ready) and O(registered) mechanisms (a
  // raw floor) and the engines; a library adds its own cost, measured closed-loop.
  std::vector<ServerLoopRow> rate_loops;
  for (const ServerLoopRow& loop : loops) {
    if (loop.backend == nullptr || loop.backend->has_raw_floor()) rate_loops.push_back(loop);
  }
  const double window = sweep.server_window_s;
  for (const auto& [idle, conns] : sweep.server) {
    for (const ServerLoopRow& loop : loops) {
      register_row(RowName("server", loop.name).add("idle", idle).add("conns", conns), 0,
                   [loop, idle = idle, conns = conns, window](benchmark::State& state) {
                     run_server(state, loop, idle, conns, window);
                   })
          ->UseManualTime();
    }
  }
  const double rate_window = sweep.server_rate_window_s;
  const std::int64_t windows = sweep.server_rate_windows;
  for (const auto& [idle, rate] : sweep.server_rates) {
    for (const ServerLoopRow& loop : rate_loops) {
      register_row(RowName("server", loop.name).add("idle", idle).add("rate", rate), 0,
                   [loop, idle = idle, rate = rate, rate_window, windows](benchmark::State& state) {
                     run_server_rate(state, loop, idle, rate, rate_window, windows);
                   })
          ->UseManualTime()
          ->Iterations(windows);
    }
  }
  std::vector<std::string_view> loop_names;
  std::vector<std::string_view> engine_names;
  for (const ServerLoopRow& loop : loops) {
    loop_names.push_back(loop.name);
    if (loop.backend == nullptr) engine_names.push_back(loop.name);
  }
  describe_scenario(
      "server",
      fmt::format(R"({{"backends": {}, "loops": {}, "engines": {}, "points": {}, "rates": {}, )"
                  R"("grid": {}, "window_s": {}, "rate_window_s": {}, "rate_windows": {}, )"
                  R"("rate_conns": {}, "largest_idle": {}}})",
                  json_names(chosen), json_list(loop_names), json_list(engine_names),
                  json_pairs(sweep.server), json_pairs(sweep.server_rates),
                  sweep.server_grid ? "true" : "false", window, rate_window, windows, kRateConns,
                  largest_idle_connections()));
}

}  // namespace pollbench::bench
