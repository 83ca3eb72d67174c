// churn: registration cost. Each iteration adds the N polled fds to an empty Poller, then
// removes them: epoll_ctl against pollfd bookkeeping against fd_set bits.
#include <fmt/format.h>

#include "bench/common.hpp"
#include "bench/scenarios.hpp"

namespace pollbench::bench {
namespace {

struct ChurnFixture final : Fixture {
  std::unique_ptr<Poller> poller;
};

}  // namespace

void run_churn(benchmark::State& state, const Backend& backend) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const FdPool* pool = nullptr;
  if (!check_available(state, backend) ||
      !acquire_pool(state, n, 0, backend.capabilities.max_fd, backend.name, pool)) {
    return;
  }
  auto* fx = row_fixture<ChurnFixture>(state, fmt::format("churn/{}/{}", backend.name, n), [&] {
    auto f = std::make_unique<ChurnFixture>();
    f->poller = backend.make();
    // One add/remove round outside the timing, so that any bookkeeping a backend grows on
    // first use (poll's pollfd array, epoll's event buffer) is in place before timing starts.
    for (std::size_t i = 0; i < n; ++i) f->poller->add(pool->polled_fd(i), kReadable, i);
    for (std::size_t i = 0; i < n; ++i) f->poller->remove(pool->polled_fd(i));
    return f;
  });
  if (fx == nullptr) return;

  Poller& poller = *fx->poller;
  double add_ns = 0;
  double remove_ns = 0;
  try {
    for (auto _ : state) {
      const auto t0 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) poller.add(pool->polled_fd(i), kReadable, i);
      const auto t1 = Clock::now();
      for (std::size_t i = 0; i < n; ++i) poller.remove(pool->polled_fd(i));
      const auto t2 = Clock::now();
      add_ns += elapsed_ns(t0, t1);
      remove_ns += elapsed_ns(t1, t2);
    }
  } catch (const std::exception& e) {
    // Registration refused half way: this Poller's state is unknown, so it is not reused.
    drop_fixture();
    state.SkipWithError(e.what());
    return;
  }
  const double ops = static_cast<double>(state.iterations()) * static_cast<double>(n);
  set_counter(state, "ns_per_add", per(add_ns, ops));
  set_counter(state, "ns_per_remove", per(remove_ns, ops));
}

}  // namespace pollbench::bench
