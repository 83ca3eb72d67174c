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
//   --pollbench_plan           print the sweep's plan (processes, repetitions, ...) as JSON, exit
// (bench/options.cpp checks them) and supplies its sweep's plan (sweep.hpp) as the defaults for
// --benchmark_repetitions, --benchmark_min_time, --benchmark_min_warmup_time and
// --benchmark_enable_random_interleaving, unless given: alone, it runs one process of the plan.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "bench/common.hpp"
#include "bench/options.hpp"
#include "bench/scenario_table.hpp"
#include "bench/scenarios.hpp"
#include "harness/cpus.hpp"
#include "harness/fd_pool.hpp"

namespace {

namespace pb = pollbench::bench;

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
  const pb::Options options = pb::take_options(args);
  pb::Sweep sweep = pb::make_sweep(options.config);
  sweep.server_engines = options.engines;
  if (options.print_plan) {
    fmt::print("{}\n", pb::plan_json(sweep));
    return 0;
  }
  // Read before anything is pinned: the rigs' other threads fall back to these CPUs.
  std::vector<int> allowed_at_start;
  try {
    allowed_at_start = pollbench::allowed_cpus();
  } catch (const std::exception& e) {
    fmt::print(stderr, "pollbench-bench: {}\n", e.what());
    return 1;
  }
  pb::place_cpus(options.cpu_list, allowed_at_start);
  if (!options.fds.empty()) pb::apply_custom_sizes(sweep, options.fds, options.actives);

  // A run that names its rows gets the full grid (the filter then chooses among it); without
  // a filter the sweep keeps the points of its time budget.
  if (has_flag(args, "--benchmark_filter")) pb::use_full_grid(sweep);

  // The sweep's defaults, unless the caller chose: given as flags (not per benchmark) so that
  // the command line still overrides them and the names carry no /repeats: suffix.
  const auto default_flag = [&](std::string_view flag, const std::string& value) {
    if (has_flag(args, flag)) return;
    args.push_back(fmt::format("{}={}", flag, value));
  };
  default_flag("--benchmark_repetitions", fmt::format("{}", sweep.plan.repetitions));
  default_flag("--benchmark_min_time", fmt::format("{}", sweep.plan.min_time));
  default_flag("--benchmark_min_warmup_time", fmt::format("{}", sweep.plan.min_warmup_time));
  // Every repetition of every row at a random point of the sweep: a burst of noise then lands
  // on many rows a little instead of on one row entirely. The rows' exec_order counter says
  // when each repetition ran (Google Benchmark writes a row's repetitions together).
  default_flag("--benchmark_enable_random_interleaving",
               sweep.plan.interleaving ? "true" : "false");

  std::string flags;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i].starts_with("--benchmark_")) flags += (flags.empty() ? "" : " ") + args[i];
  }

  // The scenarios in the table's order (the order they run in when the repetitions are not
  // interleaved), with a sentinel row before the first, between every two and after the last.
  pb::register_sentinel();
  for (const pb::Scenario& scenario : pb::scenarios()) {
    if (scenario.register_rows == nullptr && scenario.register_sized == nullptr) continue;
    pb::register_scenario(scenario, sweep, options.rows);
    pb::register_sentinel();
  }
  pb::configure_pool(pb::registered_pairs(), sweep.fd_kind);
  pb::add_machine_context(sweep, flags, options.rows, allowed_at_start,
                          options.cpu_list.value_or("none"));

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
