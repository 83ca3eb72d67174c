// churn: registration cost. Each iteration registers the N polled fds with an empty Poller,
// waits once (timeout 0, nothing ready), removes them and waits once more. The waits are part
// of the measure because several backends only record an add or a remove in user space and
// make the kernel's part of it at the next wait: io_uring writes a POLL_ADD / POLL_REMOVE SQE
// and the wait submits it, libev and libuv queue the change and apply it (epoll_ctl) at the
// start of their loop pass, Asio runs a removed fd's aborted handlers there. Timing add() and
// remove() alone would charge those rows their bookkeeping and nothing else. A program pays
// the deferred part before its next event anyway, so the row is "register N, wait once,
// unregister N, wait once", charged per operation, and each part is also reported on its own.
// For poll and select the wait after the adds scans the N fds: that scan is where their model
// puts the kernel's share of registering (the set is handed over at every call), so it
// belongs to the row as epoll_ctl belongs to epoll's; a dispatch row pays it at every wait.
// The wait after the removes costs every row about one syscall (nothing is registered).
#include <fmt/format.h>

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"

namespace pollbench::bench {
namespace {

struct ChurnFixture final : Fixture {
  std::unique_ptr<Poller> poller;
  std::vector<Event> events;  // the waits' buffer, room for all N: made here, not when timed
};

// The wait that follows a batch: timeout 0, and with every pair drained nothing is ready.
// Returns 0, or what the wait returned instead (-errno, or a count of events nobody caused).
int wait_after_batch(Poller& poller, std::span<Event> events) noexcept {
  return poller.wait(events, std::chrono::nanoseconds{0});
}

std::string wait_failure(std::string_view who, const char* after, int got) {
  if (got < 0) {
    return fmt::format("{}: the wait after the {} failed: {}", who, after,
                       std::generic_category().message(-got));
  }
  return fmt::format("{}: the wait after the {} reported {} events with nothing written", who,
                     after, got);
}

}  // namespace

void run_churn(benchmark::State& state, const Backend& backend, std::size_t n) {
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, n, 0, pool)) {
    return;
  }
  auto* fx = row_fixture<ChurnFixture>(state, [&] {
    auto f = std::make_unique<ChurnFixture>();
    f->poller = backend.make();
    f->events.resize(n);
    // One round outside the timing, so that any bookkeeping a backend grows on first use
    // (poll's pollfd array, epoll's event buffer, libev's arrays at its first loop pass) is in
    // place before timing starts.
    for (std::size_t i = 0; i < n; ++i) f->poller->add(pool->polled_fd(i), kReadable, i);
    int got = wait_after_batch(*f->poller, f->events);
    if (got != 0) throw std::runtime_error(wait_failure(backend.name, "adds", got));
    for (std::size_t i = 0; i < n; ++i) f->poller->remove(pool->polled_fd(i));
    got = wait_after_batch(*f->poller, f->events);
    if (got != 0) throw std::runtime_error(wait_failure(backend.name, "removes", got));
    return f;
  });
  if (fx == nullptr) return;

  Poller& poller = *fx->poller;
  const std::span<Event> events = fx->events;
  double add_ns = 0;
  double wait_after_adds_ns = 0;
  double remove_ns = 0;
  double wait_after_removes_ns = 0;
  try {
    for (auto _ : state) {
      const auto t0 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) poller.add(pool->polled_fd(i), kReadable, i);
      const auto t1 = Clock::now();
      const int after_adds = wait_after_batch(poller, events);
      const auto t2 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) poller.remove(pool->polled_fd(i));
      const auto t3 = Clock::now();
      const int after_removes = wait_after_batch(poller, events);
      const auto t4 = Clock::now();
      if (after_adds != 0 || after_removes != 0) {
        // Failure path only: the message is built here, and this Poller is not reused.
        const std::string reason = after_adds != 0
                                       ? wait_failure(backend.name, "adds", after_adds)
                                       : wait_failure(backend.name, "removes", after_removes);
        state.SkipWithError(reason.c_str());
        drop_fixture();
        for (std::size_t i = 0; i < n; ++i) pool->drain(i);
        break;
      }
      add_ns += elapsed_ns(t0, t1);
      wait_after_adds_ns += elapsed_ns(t1, t2);
      remove_ns += elapsed_ns(t2, t3);
      wait_after_removes_ns += elapsed_ns(t3, t4);
    }
  } catch (const std::exception& e) {
    // Registration refused half way: this Poller's state is unknown, so it is not reused.
    drop_fixture();
    state.SkipWithError(e.what());
    return;
  }
  if (state.error_occurred()) return;
  const auto iterations = static_cast<double>(state.iterations());
  const double ops = iterations * static_cast<double>(n);
  // The main metrics: what an add (a remove) costs, its share of the wait after the batch
  // included. The parts: the calls alone, and one wait after a batch.
  set_counter(state, "ns_per_add", per(add_ns + wait_after_adds_ns, ops));
  set_counter(state, "ns_per_remove", per(remove_ns + wait_after_removes_ns, ops));
  set_counter(state, "ns_per_add_call", per(add_ns, ops));
  set_counter(state, "ns_per_remove_call", per(remove_ns, ops));
  set_counter(state, "ns_per_wait_after_adds", per(wait_after_adds_ns, iterations));
  set_counter(state, "ns_per_wait_after_removes", per(wait_after_removes_ns, iterations));
}

void register_churn(const Sweep& sweep, const Rows& rows) {
  for (const std::int64_t n : sweep.churn) {
    const auto un = static_cast<std::size_t>(n);
    for (const Backend* b : rows) {
      if (b->is_library() && !has_size(sweep.library_churn, n)) continue;  // sweep.hpp
      register_row(RowName("churn", b->name).add("fds", n), un,
                   [b, un](benchmark::State& state) { run_churn(state, *b, un); });
    }
  }
  describe_scenario(
      "churn", fmt::format(R"({{"backends": {}, "fds": {}, "library_fds": {}}})", json_names(rows),
                           json_list(sweep.churn), json_list(sweep.library_churn)));
}

}  // namespace pollbench::bench
