#include "bench/scenario_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "bench/scenarios.hpp"

namespace pollbench::bench {

// The register functions of the scenarios with sizes of their own, each defined in its
// bench/<scenario>.cpp (RegisterSized).

namespace {

constexpr std::array<std::string_view, 1> kCost{"ns_per_event"};
constexpr std::array<std::string_view, 2> kChurn{"ns_per_add", "ns_per_remove"};
constexpr std::array<std::string_view, 2> kLatency{"p50_ns", "p99_ns"};
constexpr std::array<std::string_view, 2> kHerd{"woken_per_event", "first_return_ns"};
constexpr std::array<std::string_view, 2> kLateness{"late_p50_ns", "late_p99_ns"};
constexpr std::array<std::string_view, 5> kTimerfd{"late_p50_ns", "late_p99_ns", "arm_ns",
                                                   "wait0_ns", "armed_wait0_ns"};
// ns_per_request is requests_per_s as a cost; the server's CPU per request and its split.
constexpr std::array<std::string_view, 7> kServer{
    "ns_per_request",     "p99_ns", "cpu_ns_per_request", "p50_ns", "user_ns_per_request",
    "sys_ns_per_request", "p999_ns"};
constexpr std::array<std::string_view, 1> kSentinel{"ns_per_roundtrip"};

const std::array kScenarios{
    Scenario{"dispatch", Slot::kRow, Timing::kCpu, kCost, register_dispatch},
    Scenario{"raw", Slot::kRaw, Timing::kCpu, kCost, nullptr, "dispatch"},
    Scenario{"chain", Slot::kRow, Timing::kCpu, kCost, register_chain},
    Scenario{"churn", Slot::kRow, Timing::kCpu, kChurn, register_churn},
    Scenario{"wakeup", Slot::kRow, Timing::kManual, kLatency, register_wakeup},
    Scenario{"herd", Slot::kRow, Timing::kReal, kHerd, register_herd},
    Scenario{"herd_shared", Slot::kRow, Timing::kReal, kHerd, nullptr, "herd"},
    Scenario{"timeout", Slot::kRow, Timing::kManual, kLateness, register_timeout},
    Scenario{"raw_timeout", Slot::kPath, Timing::kManual, kLateness, nullptr, "timeout"},
    Scenario{"timerfd", Slot::kRow, Timing::kManual, kTimerfd, nullptr, "timeout"},
    Scenario{"signal", Slot::kRow, Timing::kManual, kLatency, register_signal},
    Scenario{"server", Slot::kLoop, Timing::kManual, kServer, register_server},
    Scenario{"sentinel", Slot::kPath, Timing::kCpu, kSentinel},
};

}  // namespace

std::span<const Scenario> scenarios() noexcept {
  return kScenarios;
}

std::string_view to_string(Slot slot) noexcept {
  switch (slot) {
    case Slot::kRow:
      return "row";
    case Slot::kRaw:
      return "raw";
    case Slot::kPath:
      return "path";
    case Slot::kLoop:
      return "loop";
  }
  return "row";
}

std::string_view to_string(Timing timing) noexcept {
  switch (timing) {
    case Timing::kCpu:
      return "cpu";
    case Timing::kReal:
      return "real";
    case Timing::kManual:
      return "manual";
  }
  return "cpu";
}

std::vector<std::int64_t> sizes_for(const Scenario& scenario, const Sweep& sweep) {
  if (sweep.name == "custom") return sweep.custom_fds;
  const std::span<const std::int64_t> listed =
      sweep.name == "quick" ? scenario.sizes.quick : scenario.sizes.full;
  std::vector<std::int64_t> sizes;
  for (const std::int64_t n : listed) {
    const std::int64_t size = n == kLargestFds ? sweep.top_fds : n;
    if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) sizes.push_back(size);
  }
  return sizes;
}

Rows rows_for(const Scenario& scenario, const Rows& rows) {
  if (scenario.runs_on == nullptr) return rows;
  Rows kept;
  for (const Backend* b : rows) {
    if ((b->*scenario.runs_on)()) kept.push_back(b);
  }
  return kept;
}

void register_scenario(const Scenario& scenario, const Sweep& sweep, const Rows& rows) {
  if (scenario.register_sized != nullptr) {
    const Rows kept = rows_for(scenario, rows);
    const std::vector<std::int64_t> fds = sizes_for(scenario, sweep);
    scenario.register_sized(kept, fds);
    describe_scenario(scenario.name, fmt::format(R"({{"backends": {}, "fds": {}}})",
                                                 json_names(kept), json_list(fds)));
  } else if (scenario.register_rows != nullptr) {
    scenario.register_rows(sweep, rows);
  }
}

std::string scenario_table_json() {
  std::string out = "[";
  for (const Scenario& s : kScenarios) {
    std::string metrics;
    for (const std::string_view m : s.metrics) {
      metrics += fmt::format(R"({}"{}")", metrics.empty() ? "" : ", ", m);
    }
    out += fmt::format(
        R"({}{{"name": "{}", "slot": "{}", "timing": "{}", "metrics": [{}], "registered_by": {}}})",
        out.size() > 1 ? ", " : "", s.name, to_string(s.slot), to_string(s.timing), metrics,
        s.registered_by.empty() ? std::string("null") : fmt::format(R"("{}")", s.registered_by));
  }
  return out + "]";
}

}  // namespace pollbench::bench
