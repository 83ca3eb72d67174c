#include "bench/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "bench/common.hpp"
#include "bench/scenarios.hpp"
#include "harness/fd_pool.hpp"

namespace pollbench::bench {
namespace {

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
std::int64_t top_fds(FdKind kind) {
  std::size_t capacity = 0;
  try {
    capacity = pool_capacity(kind);
  } catch (const std::exception&) {
    // The rows report it when they try.
  }
  std::int64_t n = 16;
  while (static_cast<std::size_t>(2 * n) <= capacity) n *= 2;
  return n;
}

// The largest size of a row limited to fds below FD_SETSIZE (1,024): a few low fd numbers are
// taken before the pool is made.
constexpr std::int64_t kFdLimitedLargestFds = 1000;

// dispatch/raw, chain and churn of the full sweep. Within the sweep's time budget: every
// fourth power of two and the largest (six points span the curve for the fits and charts),
// chain without 5,000, churn at four sizes; else every point (a run with a filter).
void set_full_sizes(Sweep& s, std::int64_t top, bool budget) {
  const std::int64_t active_fds = std::min<std::int64_t>(4096, top);
  std::vector<std::int64_t> fds;
  for (std::int64_t n = 16; n < top; n *= budget ? 4 : 2) fds.push_back(n);
  fds.push_back(top);
  s.scaling = scaling_points(fds, active_fds, {1, 4, 16, 64, 256, 1024, active_fds});
  s.fd_limited_scaling =
      scaling_points(fds, kFdLimitedLargestFds, {1, 4, 16, 64, 256, kFdLimitedLargestFds});
  s.chain.clear();
  for (const std::int64_t n : {100, 1000, 5000, 9000}) {
    if (budget && n == 5000) continue;
    for (const std::int64_t a : {1, 100}) s.chain.emplace_back(n, a);
  }
  s.churn = budget ? std::vector<std::int64_t>{16, 256, 1024, top}
                   : std::vector<std::int64_t>{16, 64, 256, 1024, 4096, top};
}

}  // namespace

Sweep make_sweep(const RunConfig& config) {
  const std::int64_t top = top_fds(config.fd_kind);
  const std::int64_t active_fds = std::min<std::int64_t>(4096, top);
  constexpr std::int64_t kLimited = kFdLimitedLargestFds;
  Sweep s{};
  s.fd_kind = config.fd_kind;
  s.top_fds = top;
  if (config.quick) {
    s.name = "quick";
    // Three sizes for the N-sweep: its ends and the fd-limited rows' largest, inside the minute.
    s.scaling = scaling_points({16, 1024, top}, active_fds, {1, 16, active_fds});
    s.fd_limited_scaling = scaling_points({16, 512}, kLimited, {1, 16, kLimited});
    // Not 9,000: there one chain iteration of an O(N) backend takes a second.
    s.chain = {{100, 1}, {1000, 1}};
    // Not the largest N: there a churn iteration registers thousands of fds twice over.
    s.churn = {64, 1024};
    s.library_chain = s.chain;
    s.library_churn = s.churn;
    // One point each: a cpu:same row costs ~4x its latency in wall time (two context
    // switches per sample), so quick measures cpu:other only.
    s.wakeup = {{16, true}};
    s.herd = {4};
    s.timeout_us = {50};
    s.timerfd_us = {50};
    s.wake_kinds = {FdKind::kEventFd, FdKind::kPipe, FdKind::kSocketPair};
    s.signal_vias = {SignalVia::kSignalFd, SignalVia::kSelfPipe};
    // One point, inside the minute: 1,000 idle connections, which an O(registered) wait walks
    // per request, beside 32 loaded ones, where the server, not the round trip, sets the
    // pace: its CPU per request.
    s.server = {{1000, 32}};
    s.server_window_s = 0.08;
    // Two processes of two short repetitions: the quick run's minute (results/README.md
    // gives the wall times and the A/A pair that chose this).
    s.plan = {.processes = 2,
              .repetitions = 2,
              .min_time = 0.01,
              .min_warmup_time = 0,
              .interleaving = true};
  } else {
    s.name = "full";
    set_full_sizes(s, top, /*budget=*/true);
    // 1,000 and 9,000: bench.c's sizes, where a library's cost is quoted against its
    // mechanism's; 100 for the small end.
    s.library_chain = {{100, 1}, {1000, 1}, {9000, 1}};
    s.library_churn = {16, 1024, top};
    // N = 1,000 is select's largest size (its rows at the top skip with the reason). cpu:same
    // rows cost ~4x their latency in wall time (two context switches per sample): at N = 16
    // only, to stay inside the sweep's five minutes.
    s.wakeup = {{16, true}, {16, false}, {kLimited, true}, {top, true}};
    s.herd = {1, 2, 4, 8};
    s.timeout_us = {50, 1000, 10000};
    // T = 50 µs only: where a millisecond API's rounding and a timerfd's nanoseconds differ.
    s.timerfd_us = {50};
    s.wake_kinds = {FdKind::kEventFd, FdKind::kPipe, FdKind::kSocketPair};
    s.signal_vias = {SignalVia::kSignalFd, SignalVia::kSelfPipe};
    s.server = {{1000, 1}, {0, 32}};
    s.server_window_s = 0.08;
    s.plan = {.processes = 3,
              .repetitions = 3,
              .min_time = 0.02,
              .min_warmup_time = 0,
              .interleaving = true};
  }
  return s;
}

void apply_custom_sizes(Sweep& sweep, const std::vector<std::int64_t>& fds,
                        const std::vector<std::int64_t>& actives) {
  const std::size_t capacity = pool_capacity(sweep.fd_kind);
  Points points;
  for (const std::int64_t n : fds) {
    if (static_cast<std::size_t>(n) > capacity) {
      fmt::print(stderr,
                 "pollbench-bench: --fds {}: only {} {}s fit under RLIMIT_NOFILE here (raise the "
                 "hard limit: ulimit -Hn, LimitNOFILE=)\n",
                 n, capacity, to_string(sweep.fd_kind));
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
  sweep.custom_fds = fds;
  sweep.scaling = points;
  sweep.fd_limited_scaling = points;
  sweep.chain = points;
  sweep.churn = fds;
  sweep.library_chain = points;  // the caller's sizes are for every row
  sweep.library_churn = fds;
  sweep.wakeup.clear();
  for (const std::int64_t n : fds) {
    for (const bool other : {true, false}) sweep.wakeup.emplace_back(n, other);
  }
}

std::string plan_json(const Sweep& sweep) {
  const Plan& p = sweep.plan;
  return fmt::format(R"({{"sweep": "{}", "processes": {}, "repetitions": {}, "min_time": {}, )"
                     R"("min_warmup_time": {}, "interleaving": {}}})",
                     sweep.name, p.processes, p.repetitions, p.min_time, p.min_warmup_time,
                     p.interleaving);
}

bool has_point(const Points& points, std::int64_t n, std::int64_t a) noexcept {
  return std::find(points.begin(), points.end(), std::pair{n, a}) != points.end();
}

bool has_size(const std::vector<std::int64_t>& sizes, std::int64_t n) noexcept {
  return std::find(sizes.begin(), sizes.end(), n) != sizes.end();
}

void use_full_grid(Sweep& sweep) {
  if (sweep.name == "full") set_full_sizes(sweep, top_fds(sweep.fd_kind), /*budget=*/false);
  use_server_grid(sweep);
}

void use_server_grid(Sweep& sweep) {
  sweep.server.clear();
  std::vector<std::int64_t> idle = {0, 1000, 4000};
  if (const std::int64_t top = largest_idle_connections(); top > 4000) idle.push_back(top);
  for (const std::int64_t conns : {1, 32}) {
    for (const std::int64_t i : idle) sweep.server.emplace_back(i, conns);
  }
  // Offered rates from well below to beyond what one CPU serves with any loop here, at no
  // idle connection and at the most that fit.
  sweep.server_rates.clear();
  for (const std::int64_t i : {std::int64_t{0}, idle.back()}) {
    for (const std::int64_t rate : {10000, 25000, 50000, 75000, 100000, 125000, 150000}) {
      sweep.server_rates.emplace_back(i, rate);
    }
  }
  sweep.server_grid = true;
  sweep.server_window_s = 0.5;
}

std::int64_t largest_fds(const Points& points) noexcept {
  std::int64_t largest = 0;
  for (const auto& [n, a] : points) largest = std::max(largest, n);
  return largest;
}

}  // namespace pollbench::bench
