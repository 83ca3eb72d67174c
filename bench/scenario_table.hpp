// The scenario table, the twin of the backend registry (backends/registry.cpp): one row per
// scenario with what is fixed about it — its name, what its name's second segment is, how it
// is timed, its metrics, and the function that registers its rows. main() registers the
// scenarios in this order; the table is written into the results whole
// (pollbench_scenario_table), where tests/python/test_scenario_table.py checks
// plots/scenarios.py's descriptors against it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bench/rows.hpp"
#include "bench/sweep.hpp"

namespace pollbench::bench {

// What a row name's second segment is: a registry row, a raw mechanism (a row's raw_floor),
// a name of the scenario's own (a raw timeout path, the sentinel's probe), or a server loop (a
// registry row or a server engine).
enum class Slot : std::uint8_t { kRow, kRaw, kPath, kLoop };
// How Google Benchmark times its rows: CPU time (the default), wall time (/real_time), or the
// time the scenario reports itself (/manual_time).
enum class Timing : std::uint8_t { kCpu, kReal, kManual };

struct Scenario {
  std::string_view name;
  Slot slot;
  Timing timing;
  // Every one a cost (lower is better); the main one first.
  std::span<const std::string_view> metrics;
  // Registers the scenario's rows for the sweep and the measured registry rows; nullptr when
  // `registered_by`'s function registers them (raw beside dispatch) or main() does (the sentinel).
  void (*register_rows)(const Sweep&, const Rows&) = nullptr;
  std::string_view registered_by = {};  // the scenario whose function registers its rows
};

// Every scenario, in registration order.
std::span<const Scenario> scenarios() noexcept;

// The table as a JSON array: [{"name", "slot", "timing", "metrics", "registered_by"}, ...].
std::string scenario_table_json();

std::string_view to_string(Slot slot) noexcept;
std::string_view to_string(Timing timing) noexcept;

}  // namespace pollbench::bench
