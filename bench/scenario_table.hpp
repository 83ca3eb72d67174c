// The scenario table, the twin of the backend registry (backends/registry.cpp): one row per
// scenario with what is fixed about it — its name, what its name's second segment is, how it
// is timed, its metrics, which registry rows it runs, its sizes and the function that registers
// its rows. main() registers the scenarios in this order; the table is written into the results
// whole (pollbench_scenario_table), where plots/ reads the names, slots and metrics and
// tests/python/test_scenario_table.py checks plots/scenarios.py's descriptors against it.
// A new scenario is its bench/<scenario>.cpp (built by bench/CMakeLists.txt's glob) and its
// entry in scenario_table.cpp: the declaration of its register function and its row.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/registry.hpp"
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

// In a scenario's sizes: the largest N whose pairs fit under the fd limit (the sweep's top).
inline constexpr std::int64_t kLargestFds = -1;

// A scenario's own sizes (its N, the number of polled fds) in the full and the quick sweep;
// --pollbench_fds replaces both.
struct Sizes {
  std::span<const std::int64_t> full;
  std::span<const std::int64_t> quick;
};

// Registers the rows of a scenario with sizes of its own: one per N of `fds` (the table's
// sizes for this sweep, kLargestFds resolved) and per registry row of `rows` (those of the
// measured rows the table's predicate keeps).
using RegisterSized = void (*)(const Rows& rows, std::span<const std::int64_t> fds);

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
  // Which of the measured registry rows it runs, by a named predicate of the registry row
  // (Backend::is_library, has_raw_floor, polls_any_fd, fd_limited); nullptr: every one. Read by
  // the scenarios registered by register_sized (the others choose their rows themselves).
  bool (Backend::*runs_on)() const noexcept = nullptr;
  // A scenario with sizes of its own: its registration, given its rows and its sizes (main()
  // records both in pollbench_scenarios), instead of register_rows.
  Sizes sizes = {};
  RegisterSized register_sized = nullptr;
};

// The row of a scenario with sizes of its own, on the measured rows `runs_on` keeps (nullptr:
// every one): one line of the table.
constexpr Scenario sized(std::string_view name, Slot slot, Timing timing,
                         std::span<const std::string_view> metrics, Sizes sizes,
                         RegisterSized register_sized,
                         bool (Backend::*runs_on)() const noexcept = nullptr) {
  return Scenario{.name = name,
                  .slot = slot,
                  .timing = timing,
                  .metrics = metrics,
                  .runs_on = runs_on,
                  .sizes = sizes,
                  .register_sized = register_sized};
}

// Every scenario, in registration order.
std::span<const Scenario> scenarios() noexcept;

// The table as a JSON array: [{"name", "slot", "timing", "metrics", "registered_by"}, ...].
std::string scenario_table_json();

// A scenario's sizes for `sweep`: the caller's (--pollbench_fds) in a custom sweep, else the
// row's full or quick list with kLargestFds as the sweep's largest N.
std::vector<std::int64_t> sizes_for(const Scenario& scenario, const Sweep& sweep);
// The measured rows a scenario runs: those of `rows` its predicate keeps, in their order.
Rows rows_for(const Scenario& scenario, const Rows& rows);
// Registers a scenario's rows: its register_sized with its rows and sizes (and describes them
// in pollbench_scenarios), or its register_rows; nothing for a scenario registered by another.
void register_scenario(const Scenario& scenario, const Sweep& sweep, const Rows& rows);

std::string_view to_string(Slot slot) noexcept;
std::string_view to_string(Timing timing) noexcept;

}  // namespace pollbench::bench
