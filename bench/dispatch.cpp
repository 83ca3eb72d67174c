// dispatch: the Poller interface on libevent test/bench.c's kind of loop, without a library in
// between. Same thread, timeout 0: each iteration writes one byte to each of the A active
// pairs, then waits and drains every reported fd until all A are collected. The loop is
// dispatch_loop (common.hpp), shared with raw: the two rows differ only in the wait step.
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "bench/sweep.hpp"

namespace pollbench::bench {

void run_dispatch(benchmark::State& state, const Backend& backend, std::size_t n, std::size_t a) {
  const FdPool* pool = nullptr;
  auto* fx = poller_row_fixture(state, backend, n, a, pool);
  if (fx == nullptr) return;

  Poller& poller = *fx->poller;
  const std::span<Event> events(fx->events);
  dispatch_loop(state, *fx, *pool, fx->active, n, backend.name, [&]() noexcept {
    const int got = poller.wait(events, std::chrono::nanoseconds{0});
    for (int e = 0; e < got; ++e) {
      pool->drain(static_cast<std::size_t>(events[static_cast<std::size_t>(e)].token));
    }
    return got;
  });
}

// Rows are registered point by point, each raw row right before the first dispatch row that
// wraps it, so that the two rows a ratio compares run seconds apart, not minutes (when the
// repetitions are not interleaved).
void register_dispatch(const Sweep& sweep, const Rows& rows) {
  const std::int64_t largest = largest_fds(sweep.scaling);
  // A row that cannot poll fds as high as the largest N gets the fd-limited sweep instead of
  // the A-sweep it cannot reach; its rows beyond its reach are registered anyway at A = 1 and
  // skip with the reason, so the results say why the curve stops.
  const auto limited = [&](const Backend& b) { return !b.polls_fd(largest); };
  const auto in_scaling = [&](std::int64_t n, std::int64_t a) {
    return std::find(sweep.scaling.begin(), sweep.scaling.end(), std::pair{n, a}) !=
           sweep.scaling.end();
  };
  Rows limited_rows;
  Rows other_rows;
  std::vector<std::string_view> raw_mechanisms;
  std::vector<std::string_view> limited_mechanisms;
  for (const Backend* b : rows) {
    (limited(*b) ? limited_rows : other_rows).push_back(b);
    if (!b->has_raw_floor()) continue;
    auto& list = limited(*b) ? limited_mechanisms : raw_mechanisms;
    if (std::find(list.begin(), list.end(), b->raw_floor) == list.end()) {
      list.push_back(b->raw_floor);
    }
  }

  const auto row = [](const Backend& b, std::int64_t n, std::int64_t a) {
    if (b.has_raw_floor()) register_raw(b, n, a);
    const auto un = static_cast<std::size_t>(n);
    const auto ua = static_cast<std::size_t>(a);
    register_row(RowName("dispatch", b.name).add("fds", n).add("active", a), un,
                 [&b, un, ua](benchmark::State& state) { run_dispatch(state, b, un, ua); });
  };
  Points limited_points;
  for (const auto& [n, a] : sweep.scaling) {
    if (a == 1) limited_points.emplace_back(n, a);
    for (const Backend* b : rows) {
      if ((limited(*b) || b->is_library()) && a != 1) continue;  // libraries: sweep.hpp
      row(*b, n, a);
    }
  }
  for (const auto& [n, a] : sweep.fd_limited_scaling) {
    // The A = 1 points of the main sweep ran with the others.
    if (a == 1 && in_scaling(n, a)) continue;
    limited_points.emplace_back(n, a);
    for (const Backend* b : limited_rows) {
      if (!b->is_library() || a == 1) row(*b, n, a);
    }
  }

  const auto describe = [](std::string_view slot, const auto& names, const Points& points,
                           const auto& limited_names, const Points& fd_limited_points) {
    return fmt::format(R"({{"{}": {}, "points": {}, "fd_limited": {{"{}": {}, "points": {}}}}})",
                       slot, names, json_pairs(points), slot, limited_names,
                       json_pairs(fd_limited_points));
  };
  describe_scenario("dispatch", describe("backends", json_names(other_rows), sweep.scaling,
                                         json_names(limited_rows), limited_points));
  describe_scenario("raw", describe("mechanisms", json_list(raw_mechanisms), sweep.scaling,
                                    json_list(limited_mechanisms), limited_points));
}

}  // namespace pollbench::bench
