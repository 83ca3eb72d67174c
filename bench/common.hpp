// What every scenario shares: the one descriptor pool, the one live row fixture, the skip
// checks and wall-clock counters.
//
// Google Benchmark calls a benchmark function several times per row (while it picks the
// iteration count, then once per repetition), so descriptors are set up once and cached:
//  - one FdPool for the whole process, sized to the largest N registered; a row with N fds
//    polls pairs 0..N-1, which hold the lowest fd numbers (select reaches as many as it can);
//  - one row fixture (a Poller with its N registrations, or a raw epoll set, ...) for the row
//    that runs now, replaced when the row changes. Only one is alive at a time, because two
//    epoll sets watching the same fds would make every write pay for both.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/registry.hpp"
#include "harness/chain_loop.hpp"
#include "harness/fd_pool.hpp"
#include "harness/thread_usage.hpp"

namespace pollbench::bench {

// chain's W: libevent test/bench.c's -w (its default is 100; pollbench states 1,000).
inline constexpr std::size_t kChainWrites = 1000;

// main() sets the shared pool before the run: its size, the largest N of any registered row,
// and the kind of its pairs, the run's (RunConfig::fd_kind), which every scenario polls.
void configure_pool(std::size_t pairs, FdKind kind);

// The shared pool if it holds at least `n` pairs (creating it on first use), else nullptr and
// `reason` says why.
const FdPool* shared_pool(std::size_t n, std::string& reason);

// Skips the row (SkipWithError + false) unless `n` pairs with `active` of them made ready
// fit here and every polled fd is at most `max_fd`. `who` names the backend in the reason.
// On success returns the pool through `pool`.
bool acquire_pool(benchmark::State& state, std::size_t n, std::size_t active, int max_fd,
                  std::string_view who, const FdPool*& pool);

// Where the threads of a run go. The timed thread is the benchmark's own (main) thread; the
// rigs' other threads (the wakeup waiter, the herd waiters) go on the other CPUs.
struct CpuPlacement {
  bool pinned = false;      // --pollbench_cpu given: the main thread is pinned to `timed`
  int timed = -1;           // pinned: the first listed CPU; else the first allowed at start
  std::vector<int> others;  // the other listed CPUs, else the other CPUs allowed at start
  // The herd waiters' CPUs: `others` (or `timed` if there is none) when pinned; empty, i.e.
  // wherever the process may run, when not.
  [[nodiscard]] std::vector<int> herd_waiters() const;
};

// Validates --pollbench_cpu's `list` against the CPUs online and `allowed_at_start` (exits
// with a one-line error, status 2), pins the calling thread to its first CPU and records the
// placement. Without a list nothing is pinned and the placement derives from
// `allowed_at_start`.
void place_cpus(const std::optional<std::string>& list, const std::vector<int>& allowed_at_start);
const CpuPlacement& cpu_placement() noexcept;

// Skips the row if `backend` cannot run on this machine (probed once per backend).
bool check_available(benchmark::State& state, const Backend& backend);

// What every row on one backend checks first: check_available, then acquire_pool for `n`
// pairs, `active` of them made ready, within the row's own max_fd. False: skipped (the state
// says why); else `pool` is set.
bool backend_row_ready(benchmark::State& state, const Backend& backend, std::size_t n,
                       std::size_t active, const FdPool*& pool);
// Why `backend` cannot run here, or nullopt: registry.hpp's unavailable_reason, probed once per
// process (the probe constructs the backend) and shared by check_available and the context.
const std::optional<std::string>& probed_unavailable(const Backend& backend);

// The fixture of the row that runs now.
struct Fixture {
  Fixture() = default;
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  Fixture(Fixture&&) = delete;
  Fixture& operator=(Fixture&&) = delete;
  virtual ~Fixture() = default;

  // Whether warm_up() has run the row's timed step on this fixture (below).
  bool warmed = false;
};

// The row that runs now (its name, rows.hpp): set by the wrapper around every scenario
// function, it is the key under which the row's fixture is cached.
void set_current_row(std::string_view name) noexcept;

// The cached fixture if it belongs to the row that runs now, else nullptr.
Fixture* current_fixture() noexcept;
// Caches `fixture` as the current row's.
void replace_fixture(std::unique_ptr<Fixture> fixture);
// Forgets the fixture, e.g. after a failure left its registrations half done.
void drop_fixture() noexcept;
// Closes everything the run keeps across rows (the fixture, the shared pool), so main() can
// check that the process holds the descriptors it started with.
void release_shared_resources() noexcept;

// The current row's fixture, built by `make()` (returning std::unique_ptr<T>) when the row
// changed. If make() throws, the row is skipped with the exception's message and nullptr is
// returned.
template <class T, class Make>
T* row_fixture(benchmark::State& state, Make&& make) {
  if (Fixture* f = current_fixture()) return static_cast<T*>(f);
  drop_fixture();  // before make(): the old row's descriptors must not outlive it
  try {
    std::unique_ptr<T> made = std::forward<Make>(make)();
    T* raw = made.get();
    replace_fixture(std::move(made));
    // The row cache now owns the fixture and keeps it alive past this call.
    // cppcheck-suppress returnDanglingLifetime
    return raw;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return nullptr;
  }
}

// The row fixture of the scenarios that drive one Poller from one thread (dispatch, chain):
// the first n polled fds registered for reading with their index as token, an event buffer
// with room for all n (so one wait can collect every active fd), and the A active pairs
// spread evenly. Checks first that the backend runs here and that the pool holds the row
// (check_available, acquire_pool); nullptr if the row was skipped, else `pool` is set.
struct PollerRowFixture final : Fixture {
  std::unique_ptr<Poller> poller;
  std::vector<Event> events;
  std::vector<std::size_t> active;
};
PollerRowFixture* poller_row_fixture(benchmark::State& state, const Backend& backend, std::size_t n,
                                     std::size_t a, const FdPool*& pool);

using Clock = std::chrono::steady_clock;

// How long warm_up() runs a fresh fixture's timed step at most.
inline constexpr std::chrono::microseconds kWarmUpTime{1000};

// Runs `step` (one iteration of the timed loop's body, returning whether it went right) a few
// times on `fixture` unless it has run there already, before the timed loop: for
// iterations / 10 steps, stopping after kWarmUpTime. Why: interleaved, a row's
// fixture is rebuilt before every repetition (only one is alive at a time), while Google
// Benchmark warms a row up (or estimates its iteration count) only before its first one, so
// every later repetition would time its first iterations on cold caches and fresh kernel
// objects — O(1) rows read 0-9% higher interleaved than run plainly. Returns false at the
// first step that fails; the caller reports it as its loop would.
template <class Step>
bool warm_up(benchmark::State& state, Fixture& fixture, Step&& step) {
  if (fixture.warmed) return true;
  fixture.warmed = true;
  // None for a row of fewer than 10 iterations: one of its iterations is long enough that a
  // cold start is lost in it, and a step of it (a chain over 9,000 fds: seconds) would cost more.
  const benchmark::IterationCount steps = state.max_iterations / 10;
  const auto until = Clock::now() + kWarmUpTime;
  for (benchmark::IterationCount i = 0; i < steps; ++i) {
    if (!step()) return false;
    if (Clock::now() >= until) break;
  }
  return true;
}

inline double elapsed_ns(Clock::time_point from, Clock::time_point to) noexcept {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// A plain counter: reported as is, averaged over repetitions by the aggregates.
inline void set_counter(benchmark::State& state, const char* name, double value) {
  state.counters[name] = benchmark::Counter(value);
}

// `total` divided by `count`, 0 when nothing was counted (a skipped or empty run).
inline double per(double total, double count) noexcept {
  return count > 0 ? total / count : 0.0;
}

// The time split of a timed loop (results/README.md): what the thread used from `before` to
// `after` (thread_usage() around the loop) per `count` things, as <prefix>user_ns_per_<unit>,
// <prefix>sys_ns_per_<unit>, <prefix>vcsw_per_<unit>, <prefix>ivcsw_per_<unit>. Explanations, not
// metrics: no report compares them (plots/scenarios.py lists the metrics).
void set_time_split_counters(benchmark::State& state, const ThreadUsage& before,
                             const ThreadUsage& after, double count, std::string_view unit,
                             std::string_view prefix = {});

// The dispatch/raw counters: events_per_iter, ns_per_event, waits_per_iter.
void set_dispatch_counters(benchmark::State& state, double loop_ns, std::size_t events,
                           std::size_t waits);

// Failure path of a timed loop whose waits stopped collecting: skips the row with the reason
// (`last_wait` is the last wait's result: negative errno, or 0), forgets the fixture and
// drains pairs 0..n-1 so the next row starts clean. The caller breaks out of its loop.
void fail_lost_events(benchmark::State& state, std::string_view who, const FdPool& pool,
                      std::size_t n, int last_wait, std::size_t collected, std::size_t expected);

// The timed loop of dispatch and raw, which differ in `wait_step` alone: one wait (timeout 0)
// that drains every fd it reports and returns how many (0: nothing ready; negative: -errno).
// Each iteration makes the `active` pairs (of the n polled) ready and waits until all are
// collected; `who` names the row in a failure. A lambda passed here is inlined: the loop has
// no indirect call that the step itself does not make. A fresh `fixture` (the row's) is
// warmed first (warm_up); the thread's time split over the loop becomes counters.
template <class WaitStep>
void dispatch_loop(benchmark::State& state, Fixture& fixture, const FdPool& pool,
                   std::span<const std::size_t> active, std::size_t n, std::string_view who,
                   WaitStep&& wait_step) {
  const std::size_t a = active.size();
  std::size_t waits = 0;
  std::size_t collected = 0;
  int got = 0;
  // One iteration: false if its waits stopped collecting (`got`, `collected` say how).
  const auto iterate = [&]() noexcept {
    for (const std::size_t i : active) pool.make_ready(i);
    collected = 0;
    std::size_t empty_waits = 0;
    while (collected < a) {
      got = wait_step();
      ++waits;
      if (got <= 0) {
        if (got < 0 || ++empty_waits > kMaxEmptyWaits) break;
        continue;
      }
      collected += static_cast<std::size_t>(got);
    }
    return collected == a;
  };
  if (!warm_up(state, fixture, iterate)) {
    fail_lost_events(state, who, pool, n, got, collected, a);
    return;
  }
  waits = 0;
  std::size_t collected_total = 0;
  const ThreadUsage before = thread_usage();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    const bool all = iterate();
    collected_total += collected;
    if (!all) {
      fail_lost_events(state, who, pool, n, got, collected, a);
      break;
    }
  }
  const auto t1 = Clock::now();
  const ThreadUsage after = thread_usage();
  if (state.error_occurred()) return;
  set_dispatch_counters(state, elapsed_ns(t0, t1), collected_total, waits);
  set_time_split_counters(state, before, after, static_cast<double>(collected_total), "event");
}

}  // namespace pollbench::bench

namespace pollbench::bench {

struct Sweep;

// Adds the pollbench_* machine metadata (results/README.md lists the keys) to the context
// Google Benchmark writes before the first row. `sweep` (its name and fd kind), `flags` and the
// measured `rows` describe this run; the registered scenarios add their parameters
// (pollbench_scenarios). `allowed_at_start` and `cpu_list` (--pollbench_cpu as given, or
// "none") describe the placement.
void add_machine_context(const Sweep& sweep, std::string_view flags,
                         const std::vector<const Backend*>& rows,
                         const std::vector<int>& allowed_at_start, std::string_view cpu_list);

// pollbench_registry: every registry row, in preference order, as a JSON array of objects
// (results/README.md), each with "measured": whether it is one of `measured`.
std::string registry_json(const std::vector<const Backend*>& measured);

}  // namespace pollbench::bench
