// pollbench-bench: registers every scenario for every registry row, adds the machine
// metadata and runs the sweep. Google Benchmark's flags all work; pollbench adds:
//   --pollbench_quick          the same shape at fewer points, shorter repetitions (`run --quick`)
//   --pollbench_fds=N,N,...    instead of the sweep's sizes: these N for every scenario
//   --pollbench_active=A,...   with these A (default 1) for dispatch, raw and chain
//   --pollbench_backends=B,... only these registry rows (and their raw baselines) and server
//                              engines (harness/server_loop.hpp)
//   --pollbench_fd_kind=KIND   the kind of the polled pairs: socketpair (default), pipe, eventfd,
//                              tcp (loopback connections); a scenario that cannot use it skips
//   --pollbench_cpu=LIST       pin the timed thread to LIST's first CPU ("0", "0,1", "1-3"); the
//                              rigs' other threads go on the other listed CPUs (else on the
//                              other CPUs allowed at start)
// and supplies its sweep's defaults for --benchmark_repetitions, --benchmark_min_time and
// --benchmark_min_warmup_time, and --benchmark_enable_random_interleaving=true, unless given.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backends/registry.hpp"
#include "bench/common.hpp"
#include "bench/scenarios.hpp"
#include "harness/fd_pool.hpp"
#include "harness/rigs.hpp"
#include "harness/server_loop.hpp"

namespace {

using pollbench::Backend;
namespace pb = pollbench::bench;

// The scenarios, in the order their rows are registered (and run, when the repetitions are not
// interleaved), with a sentinel row before the first, between every two and after the last.
constexpr std::array kScenarios{
    pb::register_dispatch,  // and raw
    pb::register_chain,    pb::register_churn,  pb::register_wakeup,
    pb::register_herd,     // and herd_shared
    pb::register_timeout,  // and raw_timeout, timerfd
    pb::register_signal,   pb::register_server,
};

// The registry rows and server engines this run measures: all of them unless
// --pollbench_backends chose (an engine's name chooses it for the server rows).
struct Chosen {
  pb::Rows rows;
  std::vector<std::string> engines;
};
Chosen select_rows(std::string_view list) {
  Chosen chosen;
  if (list.empty()) {
    for (const Backend& b : pollbench::backends()) chosen.rows.push_back(&b);
    for (const pollbench::ServerEngine& e : pollbench::server_engines()) {
      chosen.engines.emplace_back(e.name);
    }
    return chosen;
  }
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, comma - start);
    start = comma + 1;
    if (const Backend* b = pollbench::find_backend(name)) {
      if (std::find(chosen.rows.begin(), chosen.rows.end(), b) == chosen.rows.end()) {
        chosen.rows.push_back(b);
      }
      continue;
    }
    if (pollbench::find_server_engine(name) != nullptr) {
      if (std::find(chosen.engines.begin(), chosen.engines.end(), name) == chosen.engines.end()) {
        chosen.engines.emplace_back(name);
      }
      continue;
    }
    std::string known;
    for (const Backend& k : pollbench::backends()) {
      known += known.empty() ? "" : ", ";
      known += k.name;
    }
    for (const pollbench::ServerEngine& e : pollbench::server_engines()) {
      known += ", ";
      known += e.name;
    }
    fmt::print(stderr, "pollbench-bench: unknown backend '{}' (known: {})\n", name, known);
    std::exit(2);
  }
  return chosen;
}

// "16,1024" -> {16, 1024}; exits with a one-line error (status 2) on anything else.
std::vector<std::int64_t> parse_sizes(std::string_view flag, std::string_view list) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string item(list.substr(start, comma - start));
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || value < 1) {
      fmt::print(stderr, "pollbench-bench: {}: '{}' is not a positive whole number\n", flag, item);
      std::exit(2);
    }
    out.push_back(value);
    start = comma + 1;
  }
  return out;
}

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
  for (const std::string& arg : args) {
    if (arg == flag || arg.starts_with(fmt::format("{}=", flag))) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const int fds_at_start = pollbench::count_open_fds();
  std::vector<std::string> args(argv, argv + argc);
  bool quick = false;
  std::string fds_list;
  std::string active_list;
  std::string backend_list;
  std::optional<std::string> cpu_list;  // --pollbench_cpu
  std::string fd_kind = "socketpair";
  std::erase_if(args, [&](const std::string& arg) {
    if (arg == "--pollbench_quick") {
      quick = true;
    } else if (arg.starts_with("--pollbench_fds=")) {
      fds_list = arg.substr(std::strlen("--pollbench_fds="));
    } else if (arg.starts_with("--pollbench_active=")) {
      active_list = arg.substr(std::strlen("--pollbench_active="));
    } else if (arg.starts_with("--pollbench_backends=")) {
      backend_list = arg.substr(std::strlen("--pollbench_backends="));
    } else if (arg.starts_with("--pollbench_fd_kind=")) {
      fd_kind = arg.substr(std::strlen("--pollbench_fd_kind="));
    } else if (arg.starts_with("--pollbench_cpu=")) {
      cpu_list = arg.substr(std::strlen("--pollbench_cpu="));
    } else {
      return false;
    }
    return true;
  });
  try {
    pb::set_fd_kind(pollbench::parse_fd_kind(fd_kind));
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pollbench-bench: --fd-kind: {}\n", e.what());
    return 2;
  }
  const Chosen chosen = select_rows(backend_list);
  const pb::Rows& rows = chosen.rows;
  // Read before anything is pinned: the rigs' other threads fall back to these CPUs.
  std::vector<int> allowed_at_start;
  try {
    allowed_at_start = pollbench::allowed_cpus();
  } catch (const std::exception& e) {
    fmt::print(stderr, "pollbench-bench: {}\n", e.what());
    return 1;
  }
  pb::place_cpus(cpu_list, allowed_at_start);
  pb::Sweep sweep = pb::make_sweep(quick);
  sweep.server_engines = chosen.engines;
  if (!fds_list.empty() || !active_list.empty()) {
    if (fds_list.empty()) {
      fmt::print(stderr,
                 "pollbench-bench: --active (--pollbench_active) needs --fds (--pollbench_fds)\n");
      return 2;
    }
    pb::apply_custom_sizes(
        sweep, parse_sizes("--fds", fds_list),
        active_list.empty() ? std::vector<std::int64_t>{1} : parse_sizes("--active", active_list));
  }

  // A run that names its rows gets the server scenario's full grid (the filter then chooses
  // among it); without a filter the sweep keeps its small subset.
  if (has_flag(args, "--benchmark_filter")) pb::use_server_grid(sweep);

  // The sweep's defaults, unless the caller chose: given as flags (not per benchmark) so that
  // the command line still overrides them and the names carry no /repeats: suffix.
  const auto default_flag = [&](std::string_view flag, const std::string& value) {
    if (has_flag(args, flag)) return;
    args.push_back(fmt::format("{}={}", flag, value));
  };
  default_flag("--benchmark_repetitions", fmt::format("{}", sweep.repetitions));
  default_flag("--benchmark_min_time", fmt::format("{}", sweep.min_time));
  default_flag("--benchmark_min_warmup_time", fmt::format("{}", sweep.min_warmup_time));
  // Every repetition of every row at a random point of the sweep: a burst of noise then lands
  // on many rows a little instead of on one row entirely. The rows' exec_order counter says
  // when each repetition ran (Google Benchmark writes a row's repetitions together).
  default_flag("--benchmark_enable_random_interleaving", "true");

  std::string flags;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i].starts_with("--benchmark_")) flags += (flags.empty() ? "" : " ") + args[i];
  }

  pb::register_sentinel();
  for (const auto register_scenario : kScenarios) {
    register_scenario(sweep, rows);
    pb::register_sentinel();
  }
  pb::set_pool_pairs(pb::registered_pairs());
  pb::add_machine_context(sweep.name, flags, rows, allowed_at_start, cpu_list.value_or("none"));

  std::vector<char*> cargv;
  cargv.reserve(args.size() + 1);
  for (std::string& arg : args) cargv.push_back(arg.data());
  cargv.push_back(nullptr);
  int cargc = static_cast<int>(args.size());
  benchmark::Initialize(&cargc, cargv.data());
  if (benchmark::ReportUnrecognizedArguments(cargc, cargv.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Every row must give back what it opened: a leak would make later rows measure a process
  // with more fds (and, for select, higher fd numbers) than they say.
  pb::release_shared_resources();
  pb::release_sentinel();
  if (const int fds_at_end = pollbench::count_open_fds(); fds_at_end != fds_at_start) {
    fmt::print(stderr,
               "pollbench-bench: descriptor leak: {} fds open at start, {} after the run and "
               "its cleanup\n",
               fds_at_start, fds_at_end);
    return 3;
  }
  return 0;
}
