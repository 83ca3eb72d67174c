// chain: libevent test/bench.c's workload, so pollbench's numbers sit beside the ones people
// already quote. N pairs are registered, A of them (every N/A-th) get one byte; every byte
// read is forwarded to the next pair while writes remain, until W + A bytes have been read.
// One iteration is those W + A events; bench.c times the same loop of non-blocking waits
// (EVLOOP_ONCE | EVLOOP_NONBLOCK).
//
// bench.c's callback reads one byte per event; here every reported fd is drained and each
// byte counts as one event (bench.c's `count += n`). The two agree whenever a pair holds one
// byte — almost always — and an edge-triggered backend, which reports a pair again only
// when new data arrives, cannot strand a second byte.
#include <fmt/format.h>

#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/chain_loop.hpp"

namespace pollbench::bench {

void run_chain(benchmark::State& state, const Backend& backend, std::size_t n, std::size_t a,
               FdKind kind) {
  if (kind == FdKind::kEventFd) {
    // A byte read is an event here; an eventfd's read returns its whole counter (8 bytes).
    state.SkipWithError(
        "chain forwards bytes from pair to pair, and an eventfd holds a counter, "
        "not bytes (--fd-kind eventfd)");
    return;
  }
  const FdPool* pool = nullptr;
  auto* fx = poller_row_fixture(state, backend, n, a, pool);
  if (fx == nullptr) return;

  Poller& poller = *fx->poller;
  const std::span<Event> events(fx->events);
  const std::size_t per_iteration = kChainWrites + a;
  ChainOutcome chain{};
  const auto iterate = [&]() noexcept {
    chain = chain_once(poller, *pool, events, fx->active, n, kChainWrites);
    return chain.received >= per_iteration;
  };
  if (!warm_up(state, *fx, iterate)) {
    fail_lost_events(state, backend.name, *pool, n, chain.last_wait, chain.received, per_iteration);
    return;
  }
  std::size_t received_total = 0;
  const ThreadUsage before = thread_usage();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    const bool all = iterate();
    received_total += chain.received;
    if (!all) {
      fail_lost_events(state, backend.name, *pool, n, chain.last_wait, chain.received,
                       per_iteration);
      break;
    }
  }
  const auto t1 = Clock::now();
  const ThreadUsage after = thread_usage();
  if (state.error_occurred()) return;
  const auto iterations = static_cast<double>(state.iterations());
  set_counter(state, "ns_per_event", per(elapsed_ns(t0, t1), static_cast<double>(received_total)));
  set_counter(state, "events_per_iter", per(static_cast<double>(received_total), iterations));
  set_counter(state, "writes", static_cast<double>(kChainWrites));
  set_time_split_counters(state, before, after, static_cast<double>(received_total), "event");
}

// A library row runs the library chain points (sweep.hpp), but one over a mechanism that walks
// every registered fd not beyond 1,000 fds: at 9,000 one event costs ~2.7 ms of poll(2) here,
// the library's microsecond is lost in it (the mechanism's own row shows that cost), and each
// such row would add 25 s to the default run.
static bool library_runs_chain_at(const Sweep& sweep, const Backend& b, std::int64_t n,
                                  std::int64_t a) {
  if (!has_point(sweep.library_chain, n, a)) return false;
  return b.capabilities.wait_cost == WaitCost::kPerReady || n <= 1000 || sweep.name == "custom";
}

void register_chain(const Sweep& sweep, const Rows& rows) {
  for (const auto& [n, a] : sweep.chain) {
    const auto un = static_cast<std::size_t>(n);
    const auto ua = static_cast<std::size_t>(a);
    for (const Backend* b : rows) {
      if (b->is_library() && !library_runs_chain_at(sweep, *b, n, a)) continue;
      register_row(RowName("chain", b->name).add("fds", n).add("active", a), un,
                   [b, un, ua, kind = sweep.fd_kind](benchmark::State& state) {
                     run_chain(state, *b, un, ua, kind);
                   });
    }
  }
  describe_scenario(
      "chain",
      fmt::format(R"({{"backends": {}, "points": {}, "library_points": {}, "writes": {}}})",
                  json_names(rows), json_pairs(sweep.chain), json_pairs(sweep.library_chain),
                  kChainWrites));
}

}  // namespace pollbench::bench
