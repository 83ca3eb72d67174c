// The machine metadata results.json carries, so that two runs can be told apart (and
// compared only when they are comparable). Anything unreadable is "unknown", never an error:
// containers hide much of /sys.
#include <dirent.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenario_table.hpp"
#include "bench/sweep.hpp"
#include "harness/cpus.hpp"
#include "harness/fd_pool.hpp"
#include "harness/rig_threads.hpp"

namespace pollbench::bench {
namespace {

constexpr std::string_view kUnknown = "unknown";

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::string(kUnknown);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  }
  return std::string(kUnknown);
}

std::string mitigations() {
  const std::string dir = "/sys/devices/system/cpu/vulnerabilities";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::string(kUnknown);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  ::closedir(d);
  if (names.empty()) return std::string(kUnknown);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += "; ";
    out += fmt::format("{}={}", name, first_line(fmt::format("{}/{}", dir, name)));
  }
  return out;
}

std::string kernel_release() {
  utsname u{};
  if (::uname(&u) != 0) return std::string(kUnknown);
  return u.release;
}

std::string hostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return std::string(kUnknown);
  return buf.data();
}

std::string rlimit_nofile() {
  try {
    raise_fd_limit();
  } catch (const std::exception&) {
    // Reported as it stands.
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return std::string(kUnknown);
  const auto show = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{}", v);
  };
  return fmt::format("{}/{}", show(lim.rlim_cur), show(lim.rlim_max));
}

std::string compiler() {
#if defined(__clang__)
  return fmt::format("Clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return std::string(kUnknown);
#endif
}

// Output of a shell command's first line, or "" (not "unknown": callers decide).
std::string command_line(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {};
  std::array<char, 256> buf{};
  std::string out;
  if (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out = buf.data();
  const int status = ::pclose(p);
  if (status != 0) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string git_commit() {
  if (const char* forced = std::getenv("POLLBENCH_GIT_COMMIT"); forced != nullptr && *forced) {
    return forced;
  }
  const std::string repo = fmt::format("git -C '{}'", POLLBENCH_SOURCE_DIR);
  std::string commit = command_line(repo + " rev-parse --short=12 HEAD 2>/dev/null");
  if (commit.empty()) return std::string(kUnknown);
  // Tracked files changed since the commit: the numbers are not that commit's.
  if (!command_line(repo + " status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    commit += "-dirty";
  }
  return commit;
}

std::string fmt_version() {
  return fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
}

// The niceness the sweep ran at: `./pollbench run` raises the priority where it may, so that
// neighbours on a shared machine take less of the benchmark's CPU.
std::string niceness() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  return errno != 0 ? std::string(kUnknown) : fmt::format("{}", nice);
}

// The timer slack added to this thread's sleeps (the timeout scenario's lateness includes it).
std::string timer_slack_ns() {
  const int slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  return slack < 0 ? std::string(kUnknown) : fmt::format("{}", slack);
}

std::string or_unknown(std::string_view s) {
  return s.empty() ? std::string(kUnknown) : std::string(s);
}

// Where the threads went, in words (pollbench_rig_cpus).
std::string rig_cpus(const CpuPlacement& p) {
  const std::string other =
      p.others.empty() ? std::string("none") : fmt::format("{}", p.others.front());
  const std::vector<int> herd = p.herd_waiters();
  return fmt::format(
      "timed thread {}{}; wakeup waiter {} (cpu:other) or {} (cpu:same); herd waiters {}", p.timed,
      p.pinned ? "" : " (wakeup driver only; otherwise unpinned)", other, p.timed,
      herd.empty() ? std::string("unpinned") : format_cpu_list(herd));
}

std::string_view to_string(WaitCost cost) noexcept {
  return cost == WaitCost::kPerReady ? "per_ready" : "per_registered";
}

// A row's syscall_set() as a JSON object of calls per event: "epoll_wait epoll_wait epoll_ctl"
// -> {"epoll_wait": 2, "epoll_ctl": 1}, in the order of first mention.
std::string syscall_set_json(std::string_view set) {
  std::vector<std::pair<std::string_view, int>> calls;
  while (!set.empty()) {
    const std::size_t end = std::min(set.find(' '), set.size());
    const std::string_view call = set.substr(0, end);
    set.remove_prefix(std::min(end + 1, set.size()));
    if (call.empty()) continue;
    auto seen =
        std::find_if(calls.begin(), calls.end(), [&](const auto& c) { return c.first == call; });
    if (seen == calls.end()) {
      calls.emplace_back(call, 1);
    } else {
      ++seen->second;
    }
  }
  std::string out = "{";
  for (const auto& [call, times] : calls) {
    out += fmt::format("{}{}: {}", out.size() > 1 ? ", " : "", json_string(call), times);
  }
  return out + "}";
}

}  // namespace

std::string registry_json(const Rows& measured) {
  std::string out = "[";
  for (const Backend& b : backends()) {
    const std::optional<std::string>& unavailable = probed_unavailable(b);
    const Capabilities& c = b.capabilities;
    const bool is_measured = std::find(measured.begin(), measured.end(), &b) != measured.end();
    out += fmt::format(
        R"({}{{"name": {}, "description": {}, "available": {}, "unavailable_reason": {}, )"
        R"("edge_triggered": {}, "wait_cost": {}, "max_fd": {}, "one_shot": {}, )"
        R"("bad_fd_error": {}, "survives_close_while_registered": {}, )"
        R"("survives_close_while_file_open": {}, "reports_after_close_while_file_open": {}, )"
        R"("signal_ends_wait": {}, "socket_error": {}, )"
        R"("hangup": {}, "raw_floor": {}, "wraps": {}, "syscalls_per_event": {}, )"
        R"("measured": {}}})",
        out.size() > 1 ? ", " : "", json_string(b.name), json_string(b.description), !unavailable,
        json_string(unavailable.value_or("")), c.edge_triggered,
        json_string(to_string(c.wait_cost)), c.max_fd, c.one_shot, c.bad_fd_error,
        c.survives_close_while_registered, c.survives_close_while_file_open,
        c.reports_after_close_while_file_open, c.signal_ends_wait, c.socket_error, c.hangup,
        json_string(b.raw_floor), json_string(b.wraps), syscall_set_json(syscall_set(b)),
        is_measured);
  }
  return out + "]";
}

void add_machine_context(const Sweep& sweep, std::string_view flags, const Rows& rows,
                         const std::vector<int>& allowed_at_start, std::string_view cpu_list) {
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::string max_pairs(kUnknown);
  try {
    max_pairs = fmt::format("{}", pool_capacity(sweep.fd_kind));
  } catch (const std::exception&) {
    // Stays unknown.
  }
  const std::array<std::pair<const char*, std::string>, 19> context{{
      {"pollbench_kernel", kernel_release()},
      {"pollbench_cpu_model", cpu_model()},
      {"pollbench_cores", cores > 0 ? fmt::format("{}", cores) : std::string(kUnknown)},
      {"pollbench_cpu_governor",
       first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")},
      {"pollbench_mitigations", mitigations()},
      {"pollbench_rlimit_nofile", rlimit_nofile()},
      {"pollbench_fd_kind", std::string(to_string(sweep.fd_kind))},
      {"pollbench_compiler", compiler()},
      {"pollbench_cxx_flags", or_unknown(POLLBENCH_CXX_FLAGS)},
      {"pollbench_benchmark_version", or_unknown(POLLBENCH_BENCHMARK_VERSION)},
      {"pollbench_fmt_version", fmt_version()},
      {"pollbench_git_commit", git_commit()},
      {"pollbench_hostname", hostname()},
      {"pollbench_max_pairs", max_pairs},
      {"pollbench_nice", niceness()},
      {"pollbench_sweep", or_unknown(sweep.name)},
      {"pollbench_benchmark_flags", or_unknown(flags)},
      {"pollbench_clock", std::string(kRigClock)},
      {"pollbench_timer_slack_ns", timer_slack_ns()},
  }};
  for (const auto& [key, value] : context) benchmark::AddCustomContext(key, value);
  benchmark::AddCustomContext("pollbench_affinity", format_cpu_list(allowed_at_start));
  benchmark::AddCustomContext("pollbench_cpu", std::string(cpu_list));
  benchmark::AddCustomContext("pollbench_rig_cpus", rig_cpus(cpu_placement()));
  benchmark::AddCustomContext("pollbench_registry", registry_json(rows));
  benchmark::AddCustomContext("pollbench_scenarios", scenarios_json(sweep.name));
  benchmark::AddCustomContext("pollbench_scenario_table", scenario_table_json());
}

}  // namespace pollbench::bench
