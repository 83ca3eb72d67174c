#include "bench/rows.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "bench/common.hpp"

namespace pollbench::bench {
namespace {

// Node-based: the names handed out by claim_row_name() never move.
std::set<std::string, std::less<>> g_names;
std::size_t g_pairs = 0;
std::vector<std::pair<std::string, std::string>> g_scenarios;  // (scenario, JSON object)
// Keyed by the names in g_names: the wall time spent on each row so far (row_wall_s).
std::map<std::string_view, std::int64_t> g_row_wall_ns;

std::int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Rows other_descriptor_rows(const Rows& rows) {
  Rows out;
  for (const Backend* b : rows) {
    if (b->has_raw_floor() && b->polls_any_fd()) out.push_back(b);
  }
  return out;
}

const Backend* first_library_row(const Rows& rows) noexcept {
  const auto it = std::find_if(rows.begin(), rows.end(), [](const Backend* b) {
    return b->is_library() && b->polls_any_fd();
  });
  return it == rows.end() ? nullptr : *it;
}

RowName::RowName(std::string_view scenario, std::string_view slot)
    : text_(fmt::format("{}/{}", scenario, slot)) {}

RowName& RowName::add(std::string_view key, std::int64_t value) {
  text_ += fmt::format("/{}:{}", key, value);
  return *this;
}

RowName& RowName::add(std::string_view key, std::string_view value) {
  text_ += fmt::format("/{}:{}", key, value);
  return *this;
}

bool is_registered(const RowName& name) {
  return g_names.contains(name.str());
}

std::size_t registered_pairs() noexcept {
  return g_pairs;
}

std::string_view detail::claim_row_name(const RowName& name, std::size_t pairs) {
  const auto [it, fresh] = g_names.insert(name.str());
  if (!fresh) {
    fmt::print(stderr, "pollbench-bench: two rows are named '{}'\n", name.str());
    std::exit(1);
  }
  g_pairs = std::max(g_pairs, pairs);
  return *it;
}

RowStart row_started(std::string_view name) noexcept {
  static std::int64_t calls = 0;
  set_current_row(name);
  return RowStart{
      .name = name, .cpu = ::sched_getcpu(), .order = calls++, .wall_ns = monotonic_ns()};
}

void row_ended(benchmark::State& state, RowStart start) {
  const int cpu_end = ::sched_getcpu();
  set_counter(state, "cpu", start.cpu);
  set_counter(state, "cpu_end", cpu_end);
  set_counter(state, "cpu_migrated", start.cpu != cpu_end ? 1 : 0);
  set_counter(state, "exec_order", static_cast<double>(start.order));
  std::int64_t& spent = g_row_wall_ns[start.name];
  spent += monotonic_ns() - start.wall_ns;
  set_counter(state, "row_wall_s", static_cast<double>(spent) * 1e-9);
}

void set_cpus_used(benchmark::State& state, std::size_t cpus) {
  state.counters["cpus_used"] = benchmark::Counter(static_cast<double>(cpus));
}

void describe_scenario(std::string_view scenario, std::string json_object) {
  g_scenarios.emplace_back(scenario, std::move(json_object));
}

std::string scenarios_json(std::string_view sweep) {
  std::string out = fmt::format("{{\"sweep\": {}", json_string(sweep));
  for (const auto& [scenario, object] : g_scenarios) {
    out += fmt::format(", {}: {}", json_string(scenario), object);
  }
  return out + "}";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::int64_t>& values) {
  return fmt::format("[{}]", fmt::join(values, ", "));
}

std::string json_list(const std::vector<std::string_view>& values) {
  std::string out = "[";
  for (const std::string_view v : values) out += (out.size() > 1 ? ", " : "") + json_string(v);
  return out + "]";
}

std::string json_pairs(const std::vector<std::pair<std::int64_t, std::int64_t>>& v) {
  std::string out = "[";
  for (const auto& [first, second] : v) {
    out += fmt::format("{}[{}, {}]", out.size() > 1 ? ", " : "", first, second);
  }
  return out + "]";
}

std::string json_names(const Rows& rows) {
  std::vector<std::string_view> names;
  names.reserve(rows.size());
  for (const Backend* b : rows) names.push_back(b->name);
  return json_list(names);
}

}  // namespace pollbench::bench
