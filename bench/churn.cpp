// churn: registration cost. Each iteration adds the N polled fds to an empty Poller, then
// removes them: epoll_ctl against pollfd bookkeeping against fd_set bits.
#include <fmt/format.h>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"

namespace pollbench::bench {
namespace {

struct ChurnFixture final : Fixture {
  std::unique_ptr<Poller> poller;
};

}  // namespace

void run_churn(benchmark::State& state, const Backend& backend, std::size_t n) {
  const FdPool* pool = nullptr;
  if (!check_available(state, backend) ||
      !acquire_pool(state, n, 0, backend.capabilities.max_fd, backend.name, pool)) {
    return;
  }
  auto* fx = row_fixture<ChurnFixture>(state, [&] {
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
