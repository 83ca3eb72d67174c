// How a benchmark row gets its name and is registered.
//
// A row's name is `<scenario>/<slot>/<key>:<value>/...` (results/README.md), built by RowName
// and nothing else. The same string is the row's benchmark name (Google Benchmark appends
// /manual_time or /real_time) and the key under which its fixture is cached (common.hpp), so
// two rows can share neither. register_row() refuses a name that is already registered.
//
// register_row() wraps every scenario function the same way: before it runs, the row's name
// becomes the current fixture key; around it, sched_getcpu() is read, and every repetition
// gets these counters (none of them a measurement):
//   cpu           the CPU the timed thread was on when the repetition started
//   cpu_end       ... when it ended
//   cpu_migrated  1 if the two differ, else 0
//   exec_order    the position of the repetition's run in this process's execution order:
//                 increasing, with gaps (Google Benchmark also calls the function to pick the
//                 iteration count and to warm up). Google Benchmark 1.7.1 writes a row's
//                 repetitions together once its last one is done, so under random
//                 interleaving the order of the rows in the output is not the order in which
//                 the repetitions ran; this counter is.
//   row_wall_s    the wall time this process has spent on the row so far, every call of its
//                 function counted (the iteration-count estimation, each repetition's fixture
//                 build and its timed loop): a row's largest value is what it cost the run,
//                 which is where a sweep's wall time goes (results/README.md).
// A row whose threads are placed on CPUs of their own also records (set_cpus_used):
//   cpus_used     how many CPUs its threads were placed on: 2 or more when a wake-up crosses
//                 from one CPU to another, so the machine's cross-CPU cost, which a VM's host
//                 changes from minute to minute (sentinel/cross_cpu), is part of the row's value
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/registry.hpp"

namespace pollbench::bench {

// The registry rows this run measures, in the order they were chosen.
using Rows = std::vector<const Backend*>;

// The event loop's other descriptors (timerfd, signalfd, a self-pipe, a wake descriptor) are
// measured on the rows a raw loop measures (raw_floor) that poll any fd number: these fds are
// opened after the shared pool, so above FD_SETSIZE. In the order of `rows`.
Rows other_descriptor_rows(const Rows& rows);
// The first library row in `rows` that polls any fd number, or nullptr: the one library row a
// scenario measures when it measures one (timerfd, the server subset).
const Backend* first_library_row(const Rows& rows) noexcept;

class RowName {
 public:
  RowName(std::string_view scenario, std::string_view slot);
  RowName& add(std::string_view key, std::int64_t value);
  RowName& add(std::string_view key, std::string_view value);
  [[nodiscard]] const std::string& str() const noexcept { return text_; }

 private:
  std::string text_;
};

// Whether a row of this name is registered already.
[[nodiscard]] bool is_registered(const RowName& name);

// The largest number of pool pairs a registered row needs (the shared pool's size).
[[nodiscard]] std::size_t registered_pairs() noexcept;

// Run by the wrapper around every scenario function, outside its timed loop: what
// row_started() returns goes to row_ended(), which sets the counters above.
struct RowStart {
  std::string_view name;  // claim_row_name()'s copy
  int cpu;
  std::int64_t order;
  std::int64_t wall_ns;  // CLOCK_MONOTONIC at the start
};
RowStart row_started(std::string_view name) noexcept;
void row_ended(benchmark::State& state, RowStart start);

namespace detail {
// Records `name` (needing `pairs` pool pairs) and returns the stored copy, whose storage lives
// as long as the process; exits with a one-line error (status 1) if it is taken.
std::string_view claim_row_name(const RowName& name, std::size_t pairs);
}  // namespace detail

// Registers `body(state)` as the row `name`, which needs `pairs` pairs of the shared pool.
template <class Body>
benchmark::internal::Benchmark* register_row(const RowName& name, std::size_t pairs, Body body) {
  const std::string_view key = detail::claim_row_name(name, pairs);
  return benchmark::RegisterBenchmark(name.str().c_str(),
                                      [key, body = std::move(body)](benchmark::State& state) {
                                        const RowStart start = row_started(key);
                                        body(state);
                                        row_ended(state, start);
                                      });
}

// The cpus_used counter (above): the rigs' rows call it with the CPUs their threads were on.
void set_cpus_used(benchmark::State& state, std::size_t cpus);

// What a scenario's registration records for the results context (pollbench_scenarios): one
// JSON object per scenario, in registration order.
void describe_scenario(std::string_view scenario, std::string json_object);
[[nodiscard]] std::string scenarios_json(std::string_view sweep);

// JSON text for the context values.
[[nodiscard]] std::string json_string(std::string_view s);
[[nodiscard]] std::string json_list(const std::vector<std::int64_t>& values);
[[nodiscard]] std::string json_list(const std::vector<std::string_view>& values);
[[nodiscard]] std::string json_pairs(const std::vector<std::pair<std::int64_t, std::int64_t>>& v);
[[nodiscard]] std::string json_names(const Rows& rows);

}  // namespace pollbench::bench
