#include "bench/common.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <system_error>

#include "harness/cpus.hpp"

namespace pollbench::bench {
namespace {

FdKind g_pool_kind = FdKind::kSocketPair;
std::size_t g_pool_pairs = 0;
std::unique_ptr<FdPool> g_pool;
std::string g_pool_error;  // why the pool could not be made, once and for all

CpuPlacement g_placement;

std::string_view g_row;          // the row that runs now
std::string_view g_fixture_row;  // the row whose fixture is cached
std::unique_ptr<Fixture> g_fixture;

}  // namespace

void configure_pool(std::size_t pairs, FdKind kind) {
  g_pool_pairs = pairs;
  g_pool_kind = kind;
}

const FdPool* shared_pool(std::size_t n, std::string& reason) {
  if (!g_pool && g_pool_error.empty()) {
    try {
      const std::size_t capacity = pool_capacity(g_pool_kind);
      g_pool = std::make_unique<FdPool>(std::min(g_pool_pairs, capacity), g_pool_kind);
    } catch (const std::exception& e) {
      g_pool_error = e.what();
    }
  }
  if (!g_pool) {
    reason = g_pool_error;
    return nullptr;
  }
  if (n > g_pool->size()) {
    reason = fmt::format(
        "{} fds need {} {}s, but only {} fit under RLIMIT_NOFILE (raise the hard limit to run "
        "this row)",
        n, n, to_string(g_pool_kind), g_pool->size());
    return nullptr;
  }
  return g_pool.get();
}

bool acquire_pool(benchmark::State& state, std::size_t n, std::size_t active, int max_fd,
                  std::string_view who, const FdPool*& pool) {
  std::string reason;
  if (active > n) {
    reason = fmt::format("active {} is more than fds {}", active, n);
  } else if (n == 0) {
    reason = "fds must be at least 1";
  } else if ((pool = shared_pool(n, reason)) != nullptr) {
    int highest = -1;
    for (std::size_t i = 0; i < n; ++i) highest = std::max(highest, pool->polled_fd(i));
    if (highest <= max_fd) return true;
    reason = fmt::format("{}: highest polled fd {} is above the largest fd it accepts ({})", who,
                         highest, max_fd);
  }
  state.SkipWithError(reason.c_str());
  return false;
}

namespace {

[[noreturn]] void fail(const std::string& why) {
  fmt::print(stderr, "pollbench-bench: --cpu: {}\n", why);
  std::exit(2);
}

}  // namespace

std::vector<int> CpuPlacement::herd_waiters() const {
  if (!pinned) return {};
  return others.empty() ? std::vector<int>{timed} : others;
}

void place_cpus(const std::optional<std::string>& list, const std::vector<int>& allowed_at_start) {
  CpuPlacement p;
  if (!list) {
    if (!allowed_at_start.empty()) {
      p.timed = allowed_at_start.front();
      p.others.assign(allowed_at_start.begin() + 1, allowed_at_start.end());
    }
    g_placement = p;
    return;
  }
  std::string bad;
  const std::optional<std::vector<int>> cpus = parse_cpu_list(*list, bad);
  if (!cpus) fail(fmt::format("'{}' is not a CPU number", bad));
  const std::vector<int> online = online_cpus();
  for (const int cpu : *cpus) {
    if (std::find(online.begin(), online.end(), cpu) == online.end()) {
      fail(fmt::format("CPU {} is offline", cpu));
    }
    if (std::find(allowed_at_start.begin(), allowed_at_start.end(), cpu) ==
        allowed_at_start.end()) {
      fail(fmt::format("CPU {} is not allowed for this process (allowed: {})", cpu,
                       format_cpu_list(allowed_at_start)));
    }
  }
  p.pinned = true;
  p.timed = cpus->front();
  p.others.assign(cpus->begin() + 1, cpus->end());
  if (p.others.empty()) {
    for (const int cpu : allowed_at_start) {
      if (cpu != p.timed) p.others.push_back(cpu);
    }
  }
  try {
    place_thread(::pthread_self(), std::array{p.timed});
  } catch (const std::exception& e) {
    fail(e.what());
  }
  g_placement = p;
}

const CpuPlacement& cpu_placement() noexcept {
  return g_placement;
}

const std::optional<std::string>& probed_unavailable(const Backend& backend) {
  static std::map<std::string_view, std::optional<std::string>> probed;
  auto it = probed.find(backend.name);
  if (it == probed.end()) it = probed.emplace(backend.name, unavailable_reason(backend)).first;
  return it->second;
}

bool check_available(benchmark::State& state, const Backend& backend) {
  const std::optional<std::string>& unavailable = probed_unavailable(backend);
  if (!unavailable) return true;
  const std::string reason = fmt::format("{} is unavailable here: {}", backend.name, *unavailable);
  state.SkipWithError(reason.c_str());
  return false;
}

void set_current_row(std::string_view name) noexcept {
  g_row = name;
}

Fixture* current_fixture() noexcept {
  return g_fixture && !g_row.empty() && g_fixture_row == g_row ? g_fixture.get() : nullptr;
}

void replace_fixture(std::unique_ptr<Fixture> fixture) {
  g_fixture = std::move(fixture);
  g_fixture_row = g_row;
}

void drop_fixture() noexcept {
  g_fixture.reset();
  g_fixture_row = {};
}

bool backend_row_ready(benchmark::State& state, const Backend& backend, std::size_t n,
                       std::size_t active, const FdPool*& pool) {
  return check_available(state, backend) &&
         acquire_pool(state, n, active, backend.capabilities.max_fd, backend.name, pool);
}

PollerRowFixture* poller_row_fixture(benchmark::State& state, const Backend& backend, std::size_t n,
                                     std::size_t a, const FdPool*& pool) {
  if (!backend_row_ready(state, backend, n, a, pool)) {
    return nullptr;
  }
  const FdPool& fds = *pool;
  return row_fixture<PollerRowFixture>(state, [&] {
    auto f = std::make_unique<PollerRowFixture>();
    f->poller = backend.make();
    for (std::size_t i = 0; i < n; ++i) f->poller->add(fds.polled_fd(i), kReadable, i);
    f->events.resize(n);
    f->active = spread_subset(n, a);
    // One wait with nothing ready: the libraries (libev, libuv, Asio) and io_uring do the
    // kernel's part of an add at their next wait, so the first timed wait would make all N
    // epoll_ctl calls or POLL_ADDs (20 ms at N = 8,192 here, against 5 us per event after).
    // With Google Benchmark's estimation seeing that first wait, such a row ran one
    // iteration per repetition and measured registration, not dispatch. Churn measures it.
    if (const int got = f->poller->wait(f->events, std::chrono::nanoseconds{0}); got != 0) {
      throw std::runtime_error(
          fmt::format("{}: the wait after registering {} fds returned {} with none ready",
                      backend.name, n, got));
    }
    return f;
  });
}

void release_shared_resources() noexcept {
  drop_fixture();
  g_pool.reset();
}

void set_time_split_counters(benchmark::State& state, const ThreadUsage& before,
                             const ThreadUsage& after, double count, std::string_view unit,
                             std::string_view prefix) {
  const ThreadUsage used = after - before;
  // The total is exact, its split tick-sampled (harness/thread_usage.hpp). No difference is
  // negative (the kernel keeps both clocks monotonic); clamped anyway, since the reports
  // refuse a negative counter.
  const double cpu = static_cast<double>(std::max<std::int64_t>(used.cpu_ns, 0));
  const double user = cpu * user_share(used, after);
  const auto count_of = [count](std::int64_t n) {
    return per(static_cast<double>(std::max<std::int64_t>(n, 0)), count);
  };
  set_counter(state, fmt::format("{}user_ns_per_{}", prefix, unit).c_str(), per(user, count));
  set_counter(state, fmt::format("{}sys_ns_per_{}", prefix, unit).c_str(), per(cpu - user, count));
  set_counter(state, fmt::format("{}vcsw_per_{}", prefix, unit).c_str(),
              count_of(used.voluntary_switches));
  set_counter(state, fmt::format("{}ivcsw_per_{}", prefix, unit).c_str(),
              count_of(used.involuntary_switches));
}

void set_dispatch_counters(benchmark::State& state, double loop_ns, std::size_t events,
                           std::size_t waits) {
  const auto iterations = static_cast<double>(state.iterations());
  set_counter(state, "events_per_iter", per(static_cast<double>(events), iterations));
  set_counter(state, "ns_per_event", per(loop_ns, static_cast<double>(events)));
  set_counter(state, "waits_per_iter", per(static_cast<double>(waits), iterations));
}

void fail_lost_events(benchmark::State& state, std::string_view who, const FdPool& pool,
                      std::size_t n, int last_wait, std::size_t collected, std::size_t expected) {
  const std::string reason =
      last_wait < 0
          ? fmt::format("{}: wait failed: {}", who, std::generic_category().message(-last_wait))
          : fmt::format("{}: waits stopped reporting: {} of {} events collected in an iteration",
                        who, collected, expected);
  state.SkipWithError(reason.c_str());
  drop_fixture();
  for (std::size_t i = 0; i < n; ++i) pool.drain(i);
}

}  // namespace pollbench::bench
