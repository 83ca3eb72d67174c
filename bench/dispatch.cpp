// dispatch: the Poller interface on libevent test/bench.c's kind of loop, without a library in
// between. Same thread, timeout 0: each iteration writes one byte to each of the A active
// pairs, then waits and drains every reported fd until all A are collected.
#include <fmt/format.h>

#include <vector>

#include "bench/common.hpp"
#include "bench/scenarios.hpp"

namespace pollbench::bench {

void run_dispatch(benchmark::State& state, const Backend& backend) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto a = static_cast<std::size_t>(state.range(1));
  const FdPool* pool = nullptr;
  if (!check_available(state, backend) ||
      !acquire_pool(state, n, a, backend.capabilities.max_fd, backend.name, pool)) {
    return;
  }
  auto* fx = poller_row_fixture(state, "dispatch", backend, *pool, n, a);
  if (fx == nullptr) return;

  Poller& poller = *fx->poller;
  const std::span<Event> events(fx->events);
  std::size_t collected_total = 0;
  std::size_t waits = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    for (const std::size_t i : fx->active) pool->make_ready(i);
    std::size_t collected = 0;
    std::size_t empty_waits = 0;
    int got = 0;
    while (collected < a) {
      got = poller.wait(events, std::chrono::nanoseconds{0});
      ++waits;
      if (got <= 0) {
        if (got < 0 || ++empty_waits > kMaxEmptyWaits) break;
        continue;
      }
      for (int e = 0; e < got; ++e) {
        pool->drain(static_cast<std::size_t>(events[static_cast<std::size_t>(e)].token));
      }
      collected += static_cast<std::size_t>(got);
    }
    collected_total += collected;
    if (collected < a) {
      fail_lost_events(state, backend.name, *pool, n, got, collected, a);
      break;
    }
  }
  const auto t1 = Clock::now();
  if (state.error_occurred()) return;
  set_dispatch_counters(state, elapsed_ns(t0, t1), collected_total, waits);
}

}  // namespace pollbench::bench
