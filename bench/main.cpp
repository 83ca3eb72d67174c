// pollbench-bench: registers every scenario for every registry row, adds the machine
// metadata and runs the sweep. Google Benchmark's flags all work; pollbench adds:
//   --pollbench_quick          the same shape at fewer points, shorter repetitions (`run --quick`)
//   --pollbench_fds=N,N,...    instead of the sweep's sizes: these N for every scenario
//   --pollbench_active=A,...   with these A (default 1) for dispatch, raw and chain
//   --pollbench_backends=B,... only these registry rows (and their raw baselines)
// and supplies its sweep's defaults for --benchmark_repetitions, --benchmark_min_time and
// --benchmark_min_warmup_time unless they are given.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/registry.hpp"
#include "bench/common.hpp"
#include "bench/scenarios.hpp"
#include "harness/fd_pool.hpp"

namespace {

using pollbench::Backend;
using Points = std::vector<std::pair<std::int64_t, std::int64_t>>;  // (fds, active)

// Many short repetitions rather than a few long ones: on a shared machine the noise comes in
// bursts, and the median of many short samples steps over a burst that one long mean absorbs.
struct Sweep {
  std::string_view name;
  Points scaling;         // dispatch + raw, every backend but select
  Points select_scaling;  // dispatch/select + raw/select
  Points chain;
  std::vector<std::int64_t> churn;
  std::vector<std::pair<std::int64_t, bool>> wakeup;  // (N, cpu:other?), every backend
  std::vector<std::int64_t> herd;                     // W, herd and herd_shared
  std::vector<std::int64_t> timeout_us;               // T, every backend + ppoll + epoll_pwait2
  int repetitions;
  double min_time;         // seconds per repetition
  double min_warmup_time;  // seconds, before the first repetition of each row
};

// The N-sweep at A = 1 followed by the A-sweep at `active_fds`, without duplicates.
Points scaling_points(const std::vector<std::int64_t>& fds, std::int64_t active_fds,
                      const std::vector<std::int64_t>& actives) {
  Points points;
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  const auto push = [&](std::int64_t n, std::int64_t a) {
    if (seen.insert({n, a}).second) points.emplace_back(n, a);
  };
  for (const std::int64_t n : fds) push(n, 1);
  for (const std::int64_t a : actives) push(active_fds, a);
  return points;
}

// The largest power of two whose pairs fit under the fd limit (8,192 with a hard limit of
// 20,000), never below 16.
std::int64_t largest_fds() {
  std::size_t capacity = 0;
  try {
    capacity = pollbench::pool_capacity(pollbench::bench::kFdKind);
  } catch (const std::exception&) {
    // The rows report it when they try.
  }
  std::int64_t n = 16;
  while (static_cast<std::size_t>(2 * n) <= capacity) n *= 2;
  return n;
}

// select's largest size: its polled fds must stay below FD_SETSIZE (1,024), and a few low fd
// numbers are taken before the pool is made.
constexpr std::int64_t kSelectLargestFds = 1000;

Sweep make_sweep(bool quick) {
  const std::int64_t top = largest_fds();
  const std::int64_t active_fds = std::min<std::int64_t>(4096, top);
  Sweep s{};
  if (quick) {
    s.name = "quick";
    // No N = 64 (since the wakeup, herd and timeout points joined, to stay under a minute).
    s.scaling = scaling_points({16, 512, 1024, top}, active_fds, {1, 16, active_fds});
    s.select_scaling = scaling_points({16, 512}, kSelectLargestFds, {1, 16, kSelectLargestFds});
    // Not 9,000: there one chain iteration of an O(N) backend takes a second.
    s.chain = {{100, 1}, {1000, 1}};
    s.churn = {64, top};
    // One point each: a cpu:same row costs ~4x its latency in wall time (two context
    // switches per sample), so quick measures cpu:other only.
    s.wakeup = {{16, true}};
    s.herd = {4};
    s.timeout_us = {50};
    s.repetitions = 7;
    s.min_time = 0.02;
    s.min_warmup_time = 0.01;
  } else {
    s.name = "full";
    std::vector<std::int64_t> fds;
    for (std::int64_t n = 16; n <= top; n *= 2) fds.push_back(n);
    s.scaling = scaling_points(fds, active_fds, {1, 4, 16, 64, 256, 1024, active_fds});
    s.select_scaling =
        scaling_points(fds, kSelectLargestFds, {1, 4, 16, 64, 256, kSelectLargestFds});
    for (const std::int64_t n : {100, 1000, 5000, 9000}) {
      for (const std::int64_t a : {1, 100}) s.chain.emplace_back(n, a);
    }
    s.churn = {16, 64, 256, 1024, 4096, top};
    // N = 1,000 is select's largest size (its rows at the top skip with the reason). cpu:same
    // rows cost ~4x their latency in wall time (two context switches per sample): at N = 16
    // only, to stay inside the sweep's five minutes.
    s.wakeup = {{16, true}, {16, false}, {kSelectLargestFds, true}, {top, true}};
    s.herd = {1, 2, 4, 8};
    s.timeout_us = {50, 1000, 10000};
    s.repetitions = 9;
    s.min_time = 0.03;
    s.min_warmup_time = 0.02;
  }
  return s;
}

benchmark::internal::Benchmark* with_fds_active(benchmark::internal::Benchmark* b, std::int64_t n,
                                                std::int64_t a) {
  return b->ArgsProduct({{n}, {a}})->ArgNames({"fds", "active"});
}

// The registry rows this run measures: all of them unless --pollbench_backends chose.
std::vector<const Backend*> g_rows;

const std::vector<const Backend*>& rows() {
  return g_rows;
}

void select_rows(std::string_view list) {
  g_rows.clear();
  if (list.empty()) {
    for (const Backend& b : pollbench::backends()) g_rows.push_back(&b);
    return;
  }
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, comma - start);
    const Backend* b = pollbench::find_backend(name);
    if (b == nullptr) {
      std::string known;
      for (const Backend& k : pollbench::backends()) {
        known += known.empty() ? "" : ", ";
        known += k.name;
      }
      fmt::print(stderr, "pollbench-bench: unknown backend '{}' (known: {})\n", name, known);
      std::exit(2);
    }
    if (std::find(g_rows.begin(), g_rows.end(), b) == g_rows.end()) g_rows.push_back(b);
    start = comma + 1;
  }
}

int sentinel_position = 0;

void register_sentinel() {
  benchmark::RegisterBenchmark("sentinel/roundtrip", pollbench::bench::run_sentinel)
      ->ArgsProduct({{sentinel_position++}})
      ->ArgNames({"at"});
}

// Rows are registered point by point, each raw row right before its backend's dispatch row,
// so that the two rows a ratio compares run seconds apart, not minutes.
std::int64_t register_sweep(const Sweep& sweep) {
  namespace pb = pollbench::bench;
  std::int64_t largest = 0;
  const auto note = [&](std::int64_t n) { largest = std::max(largest, n); };

  register_sentinel();
  const auto scaling_row = [&](const Backend& b, std::int64_t n, std::int64_t a) {
    note(n);
    if (const auto raw = pb::raw_counterpart(b.name)) {
      const std::string name = fmt::format("raw/{}", pb::to_string(*raw));
      with_fds_active(benchmark::RegisterBenchmark(name.c_str(), pb::run_raw, *raw), n, a);
    }
    const std::string name = fmt::format("dispatch/{}", b.name);
    with_fds_active(benchmark::RegisterBenchmark(name.c_str(), pb::run_dispatch, b), n, a);
  };
  // select reaches ~1,000 fds: its rows beyond that are registered anyway and skip with the
  // reason, so the results say why the curve stops.
  for (const auto& [n, a] : sweep.scaling) {
    for (const Backend* b : rows()) {
      if (b->name == "select" && a != 1) continue;
      scaling_row(*b, n, a);
    }
  }
  for (const auto& [n, a] : sweep.select_scaling) {
    const Backend* select = pollbench::find_backend("select");
    if (std::find(rows().begin(), rows().end(), select) != rows().end()) {
      // The A = 1 points below 1,000 ran with the others.
      const bool already = a == 1 && std::find(sweep.scaling.begin(), sweep.scaling.end(),
                                               std::pair{n, a}) != sweep.scaling.end();
      if (!already) scaling_row(*select, n, a);
    }
  }
  register_sentinel();

  for (const auto& [n, a] : sweep.chain) {
    note(n);
    for (const Backend* b : rows()) {
      const std::string name = fmt::format("chain/{}", b->name);
      with_fds_active(benchmark::RegisterBenchmark(name.c_str(), pb::run_chain, *b), n, a);
    }
  }
  register_sentinel();

  for (const std::int64_t n : sweep.churn) {
    note(n);
    for (const Backend* b : rows()) {
      const std::string name = fmt::format("churn/{}", b->name);
      benchmark::RegisterBenchmark(name.c_str(), pb::run_churn, *b)
          ->ArgsProduct({{n}})
          ->ArgNames({"fds"});
    }
  }
  register_sentinel();

  // Full names (cpu is not a number); Google Benchmark appends /manual_time or /real_time.
  const auto selected = [&](std::string_view name) {
    const Backend* b = pollbench::find_backend(name);
    return b != nullptr && std::find(rows().begin(), rows().end(), b) != rows().end() ? b : nullptr;
  };
  for (const auto& [n, other] : sweep.wakeup) {
    note(n);
    for (const Backend* b : rows()) {
      const std::string name =
          fmt::format("wakeup/{}/fds:{}/cpu:{}", b->name, n, other ? "other" : "same");
      benchmark::RegisterBenchmark(name.c_str(), pb::run_wakeup, *b, static_cast<std::size_t>(n),
                                   other)
          ->UseManualTime();
    }
  }
  register_sentinel();

  for (const std::int64_t w : sweep.herd) {
    note(1);
    for (const std::string_view backend : {"select", "poll", "epoll_lt", "epoll_exclusive"}) {
      if (const Backend* b = selected(backend)) {
        const std::string name = fmt::format("herd/{}/waiters:{}", b->name, w);
        benchmark::RegisterBenchmark(name.c_str(), pb::run_herd, *b, static_cast<std::size_t>(w))
            ->UseRealTime();
      }
    }
    for (const std::string_view backend : {"epoll_lt", "epoll_et"}) {
      if (selected(backend) != nullptr) {
        const std::string name = fmt::format("herd_shared/{}/waiters:{}", backend, w);
        benchmark::RegisterBenchmark(name.c_str(), pb::run_herd_shared, backend == "epoll_et",
                                     static_cast<std::size_t>(w))
            ->UseRealTime();
      }
    }
  }
  register_sentinel();

  for (const std::int64_t t : sweep.timeout_us) {
    note(1);
    for (const Backend* b : rows()) {
      const std::string name = fmt::format("timeout/{}/us:{}", b->name, t);
      benchmark::RegisterBenchmark(name.c_str(), pb::run_timeout, *b, t)->UseManualTime();
    }
    // The bare nanosecond paths, with the backends they underlie (as raw/ with dispatch/).
    for (const auto& [path, with] : {std::pair{pb::RawTimeout::kPpoll, "poll"},
                                     std::pair{pb::RawTimeout::kEpollPwait2, "epoll_lt"}}) {
      if (selected(with) == nullptr) continue;
      const std::string name = fmt::format("timeout/{}/us:{}", pb::to_string(path), t);
      benchmark::RegisterBenchmark(name.c_str(), pb::run_timeout_raw, path, t)->UseManualTime();
    }
  }
  register_sentinel();
  return largest;
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

// The caller's sizes replace the sweep's: every (N, A) for dispatch/raw/chain, every N for churn
// and wakeup (herd and timeout have no N).
void apply_custom_sizes(Sweep& sweep, const std::vector<std::int64_t>& fds,
                        const std::vector<std::int64_t>& actives) {
  const std::size_t capacity = pollbench::pool_capacity(pollbench::bench::kFdKind);
  Points points;
  for (const std::int64_t n : fds) {
    if (static_cast<std::size_t>(n) > capacity) {
      fmt::print(stderr,
                 "pollbench-bench: --fds {}: only {} {}s fit under RLIMIT_NOFILE here (raise the "
                 "hard limit: ulimit -Hn, LimitNOFILE=)\n",
                 n, capacity, pollbench::to_string(pollbench::bench::kFdKind));
      std::exit(2);
    }
    for (const std::int64_t a : actives) {
      if (a > n) {
        fmt::print(stderr, "pollbench-bench: --active {} is larger than --fds {}\n", a, n);
        std::exit(2);
      }
      points.emplace_back(n, a);
    }
  }
  sweep.name = "custom";
  sweep.scaling = points;
  sweep.select_scaling = points;
  sweep.chain = points;
  sweep.churn = fds;
  sweep.wakeup.clear();
  for (const std::int64_t n : fds) {
    for (const bool other : {true, false}) sweep.wakeup.emplace_back(n, other);
  }
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
  std::erase_if(args, [&](const std::string& arg) {
    if (arg == "--pollbench_quick") {
      quick = true;
    } else if (arg.starts_with("--pollbench_fds=")) {
      fds_list = arg.substr(std::strlen("--pollbench_fds="));
    } else if (arg.starts_with("--pollbench_active=")) {
      active_list = arg.substr(std::strlen("--pollbench_active="));
    } else if (arg.starts_with("--pollbench_backends=")) {
      backend_list = arg.substr(std::strlen("--pollbench_backends="));
    } else {
      return false;
    }
    return true;
  });
  select_rows(backend_list);
  Sweep sweep = make_sweep(quick);
  if (!fds_list.empty() || !active_list.empty()) {
    if (fds_list.empty()) {
      fmt::print(stderr,
                 "pollbench-bench: --active (--pollbench_active) needs --fds (--pollbench_fds)\n");
      return 2;
    }
    apply_custom_sizes(
        sweep, parse_sizes("--fds", fds_list),
        active_list.empty() ? std::vector<std::int64_t>{1} : parse_sizes("--active", active_list));
  }

  // The sweep's defaults, unless the caller chose: given as flags (not per benchmark) so that
  // the command line still overrides them and the names carry no /repeats: suffix.
  const auto default_flag = [&](std::string_view flag, const std::string& value) {
    if (has_flag(args, flag)) return;
    args.push_back(fmt::format("{}={}", flag, value));
  };
  default_flag("--benchmark_repetitions", fmt::format("{}", sweep.repetitions));
  default_flag("--benchmark_min_time", fmt::format("{}", sweep.min_time));
  default_flag("--benchmark_min_warmup_time", fmt::format("{}", sweep.min_warmup_time));

  std::string flags;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i].starts_with("--benchmark_")) flags += (flags.empty() ? "" : " ") + args[i];
  }

  pollbench::bench::set_pool_pairs(static_cast<std::size_t>(register_sweep(sweep)));
  pollbench::bench::add_machine_context(sweep.name, flags);

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
  pollbench::bench::release_shared_resources();
  pollbench::bench::release_sentinel();
  if (const int fds_at_end = pollbench::count_open_fds(); fds_at_end != fds_at_start) {
    fmt::print(stderr,
               "pollbench-bench: descriptor leak: {} fds open at start, {} after the run and "
               "its cleanup\n",
               fds_at_start, fds_at_end);
    return 3;
  }
  return 0;
}
