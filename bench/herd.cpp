// herd and herd_shared: how many of W threads waiting on one fd the kernel wakes for one byte.
// herd/<backend>: each waiter has its own Poller (the rows herd_rows() picks: select, poll,
// epoll_lt, epoll_exclusive today);
// herd_shared/<epoll_lt|epoll_et>: all share one epoll fd. One iteration is one round of
// harness/herd_rig.hpp's HerdRig: every waiter asleep, one byte, a settle window, the drain.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/herd_rig.hpp"

namespace pollbench::bench {
namespace {

// Long enough for every woken waiter to run and be counted on a busy two-CPU machine; a round
// ends earlier once all W have returned.
constexpr std::chrono::microseconds kSettle{1000};
// First-return latencies kept per repetition (rounds beyond this are still counted).
constexpr std::size_t kKeptRounds = 65536;

struct HerdFixture final : Fixture {
  std::unique_ptr<HerdRig> rig;
};

template <class Make>
void run_rounds(benchmark::State& state, std::string_view who, int max_fd, Make&& make) {
  const FdPool* pool = nullptr;
  if (!acquire_pool(state, 1, 1, max_fd, who, pool)) return;
  auto* fx = row_fixture<HerdFixture>(state, [&] {
    auto f = std::make_unique<HerdFixture>();
    f->rig = std::forward<Make>(make)(*pool);
    return f;
  });
  if (fx == nullptr) return;
  HerdRig& rig = *fx->rig;
  rig.reset(std::min<std::size_t>(static_cast<std::size_t>(state.max_iterations), kKeptRounds));
  const auto fail = [&] {
    const std::string reason = fmt::format("{}: {}", who, rig.failure());
    state.SkipWithError(reason.c_str());
  };
  for (auto _ : state) {
    if (!rig.round(kSettle)) {
      fail();
      break;
    }
  }
  if (!state.error_occurred() && !rig.finish()) fail();
  if (state.error_occurred()) {
    drop_fixture();  // joins the waiters
    return;
  }
  const std::span<std::int64_t> firsts = rig.first_returns();
  double median = 0;
  if (!firsts.empty()) {
    const auto mid = firsts.begin() + static_cast<std::ptrdiff_t>((firsts.size() - 1) / 2);
    std::nth_element(firsts.begin(), mid, firsts.end());
    median = static_cast<double>(*mid);
  }
  set_counter(state, "woken_per_event",
              per(static_cast<double>(rig.woken()), static_cast<double>(rig.rounds())));
  set_counter(state, "first_return_ns", median);
  set_counter(state, "rounds", static_cast<double>(rig.rounds()));
  // The driver's CPU and the waiters' (CpuPlacement::herd_waiters): the others, or anywhere the
  // process may run, which is the same set.
  set_cpus_used(state, 1 + cpu_placement().others.size());
}

}  // namespace

void run_herd(benchmark::State& state, const Backend& backend, std::size_t waiters) {
  if (!check_available(state, backend)) return;
  run_rounds(state, backend.name, backend.capabilities.max_fd, [&](const FdPool& pool) {
    return HerdRig::per_waiter(pool, 0, waiters, backend.make, cpu_placement().herd_waiters());
  });
}

void run_herd_shared(benchmark::State& state, const Backend& slot, bool edge_triggered,
                     std::size_t waiters) {
  const std::string who = fmt::format("herd_shared/{}", slot.name);
  run_rounds(state, who, slot.capabilities.max_fd, [&](const FdPool& pool) {
    return HerdRig::shared_epoll(pool, 0, waiters, edge_triggered, cpu_placement().herd_waiters());
  });
}

namespace {

// herd/<row> measures how many waiters the kernel wakes for one byte, so it takes the rows that
// report every waiter's readiness as the mechanism does: level-triggered (an edge-triggered
// waiter that lost the race sees nothing the next round), not one-shot (a disarmed fd would
// need a re-arm per waiter) and not a library (it would count the library's dispatch, not the
// kernel's wakeups) — select, poll, epoll_lt and epoll_exclusive today.
bool herd_row(const Backend& b) noexcept {
  return !b.capabilities.edge_triggered && !b.capabilities.one_shot && !b.is_library();
}

// herd_shared/<slot>: one epoll fd shared by all waiters, driven with bare epoll_wait; the
// slot is registered while its registry row is measured.
constexpr std::array<std::pair<std::string_view, bool>, 2> kSharedEpoll{
    {{"epoll_lt", false}, {"epoll_et", true}}};

}  // namespace

void register_herd(const Sweep& sweep, const Rows& rows) {
  Rows herd_rows;
  for (const Backend* b : rows) {
    if (herd_row(*b)) herd_rows.push_back(b);
  }
  std::vector<std::pair<const Backend*, bool>> shared;
  std::vector<std::string_view> slots;
  for (const auto& entry : kSharedEpoll) {
    const std::string_view slot = entry.first;
    const auto it =
        std::find_if(rows.begin(), rows.end(), [&](const Backend* b) { return b->name == slot; });
    if (it != rows.end()) {
      shared.emplace_back(*it, entry.second);
      slots.push_back(slot);
    }
  }
  for (const std::int64_t w : sweep.herd) {
    const auto uw = static_cast<std::size_t>(w);
    for (const Backend* b : herd_rows) {
      register_row(RowName("herd", b->name).add("waiters", w), 1, [b, uw](benchmark::State& state) {
        run_herd(state, *b, uw);
      })->UseRealTime();
    }
    for (const auto& [slot, edge] : shared) {
      register_row(RowName("herd_shared", slot->name).add("waiters", w), 1,
                   [slot = slot, edge = edge, uw](benchmark::State& state) {
                     run_herd_shared(state, *slot, edge, uw);
                   })
          ->UseRealTime();
    }
  }
  describe_scenario("herd", fmt::format(R"({{"backends": {}, "waiters": {}}})",
                                        json_names(herd_rows), json_list(sweep.herd)));
  describe_scenario("herd_shared", fmt::format(R"({{"slots": {}, "waiters": {}}})",
                                               json_list(slots), json_list(sweep.herd)));
}

}  // namespace pollbench::bench
