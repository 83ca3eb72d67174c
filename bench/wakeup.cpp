// wakeup: what it costs a thread blocked in wait() to learn that another thread made an fd
// ready. A waiter thread (harness/wakeup_rig.hpp) sleeps in wait(-1) on N registered fds;
// this thread, the driver, writes one byte per sample to one of up to 8 fds spread over the N
// and reads back the waiter's timestamp. Both are pinned: to one CPU (cpu:same) or to two
// (cpu:other); the driver to the timed CPU (CpuPlacement, common.hpp), the waiter to it or to
// the first other CPU. The latency, write → wait() returned, is the manual time; its distribution
// becomes the percentile counters (results/README.md).
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/cpus.hpp"
#include "harness/sample_set.hpp"
#include "harness/wakeup_rig.hpp"

namespace pollbench::bench {
namespace {

// Samples kept per repetition for the percentiles (512 KiB, reserved once per row).
constexpr std::size_t kKeptSamples = 65536;
// The driver rotates over this many fds, spread evenly over the N.
constexpr std::size_t kTargets = 8;

struct WakeupFixture final : Fixture {
  std::unique_ptr<WakeupRig> rig;
  SampleSet samples{kKeptSamples};
};

void skip(benchmark::State& state, const std::string& reason) {
  state.SkipWithError(reason.c_str());
}

// wake:<kind>: the N pool fds stay idle (tokens from kIdleTokens); the driver writes to one
// descriptor of its own, the loop's wake descriptor (token kWakeToken), as a loop is woken by
// another thread: an eventfd counter (libuv's uv_async), a pipe or a socketpair byte.
constexpr std::uint64_t kWakeToken = 0;
constexpr std::uint64_t kIdleTokens = 1;

class DescriptorWake final : public WakeSource {
 public:
  explicit DescriptorWake(const FdPool& wake) : wake_(wake) {}
  bool wake(std::int64_t /*k*/) noexcept override { return wake_.make_ready(0); }
  bool consume(const Event& event) noexcept override {
    if (event.token != kWakeToken) return false;
    return wake_.drain(0) > 0;
  }
  void drain() noexcept override { wake_.drain(0); }

 private:
  const FdPool& wake_;
};

// The wake descriptor outlives the rig that writes to it (members die in reverse order).
struct WakeKindFixture final : Fixture {
  std::unique_ptr<FdPool> wake;
  std::unique_ptr<WakeupRig> rig;
  SampleSet samples{kKeptSamples};
};

}  // namespace

void run_wakeup(benchmark::State& state, const Backend& backend, std::size_t n, bool other_cpu) {
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, n, 1, pool)) {
    return;
  }
  // The driver is the timed thread; the waiter shares its CPU or takes the first other one.
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || (other_cpu && placement.others.empty())) {
    skip(state, fmt::format("cpu:other needs a second CPU: the timed thread is on CPU {} and no "
                            "other CPU is listed or allowed",
                            placement.timed));
    return;
  }
  const int driver_cpu = placement.timed;
  const int waiter_cpu = other_cpu ? placement.others.front() : driver_cpu;
  auto* fx = row_fixture<WakeupFixture>(state, [&] {
    auto f = std::make_unique<WakeupFixture>();
    auto poller = backend.make();
    for (std::size_t i = 0; i < n; ++i) poller->add(pool->polled_fd(i), kReadable, i);
    f->rig = std::make_unique<WakeupRig>(std::move(poller), *pool,
                                         spread_subset(n, std::min(n, kTargets)), waiter_cpu);
    return f;
  });
  if (fx == nullptr) return;
  sample_wakeups(state, *fx->rig, fx->samples, driver_cpu, waiter_cpu, backend.name);
}

void sample_wakeups(benchmark::State& state, WakeupRig& rig, SampleSet& samples, int driver_cpu,
                    int waiter_cpu, std::string_view what) {
  std::optional<ScopedPin> pin;
  try {
    pin.emplace(driver_cpu);
  } catch (const std::exception& e) {
    skip(state, e.what());
    return;
  }
  samples.clear();
  // The waiter's time split (the driver's is its spinning): read by the waiter itself, before
  // and after the samples.
  ThreadUsage before;
  if (!rig.waiter_usage(before)) {
    skip(state, fmt::format("{}: {}", what, rig.failure()));
    drop_fixture();
    return;
  }
  for (auto _ : state) {
    const std::int64_t ns = rig.sample();
    if (ns < 0) {
      skip(state, fmt::format("{}: {}", what, rig.failure()));
      break;
    }
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    samples.add(ns);
  }
  ThreadUsage after;
  if (!state.error_occurred() && !rig.waiter_usage(after)) {
    skip(state, fmt::format("{}: {}", what, rig.failure()));
  }
  pin.reset();
  if (state.error_occurred()) {
    drop_fixture();  // joins the waiter (and the fixture's destructors restore what it changed)
    return;
  }
  set_latency_counters(state, samples);
  set_cpus_used(state, driver_cpu == waiter_cpu ? 1 : 2);
  set_time_split_counters(state, before, after, static_cast<double>(state.iterations()), "sample",
                          "waiter_");
}

void set_latency_counters(benchmark::State& state, SampleSet& samples) {
  set_counter(state, "min_ns", static_cast<double>(samples.min()));
  set_counter(state, "max_ns", static_cast<double>(samples.max()));
  for (const auto& [name, q] :
       {std::pair{"p10_ns", 0.10}, std::pair{"p25_ns", 0.25}, std::pair{"p50_ns", 0.50},
        std::pair{"p75_ns", 0.75}, std::pair{"p90_ns", 0.90}, std::pair{"p99_ns", 0.99},
        std::pair{"p999_ns", 0.999}}) {
    set_counter(state, name, static_cast<double>(samples.percentile(q)));
  }
  set_counter(state, "samples", static_cast<double>(samples.count()));
}

void run_wakeup_via(benchmark::State& state, const Backend& backend, std::size_t n, FdKind kind) {
  // The pool is made (at its full size) before this row's wake descriptor, which therefore
  // never takes one of the low fd numbers meant for the pool's polled ends.
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, n, 1, pool)) {
    return;
  }
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || placement.others.empty()) {
    skip(state, fmt::format("cpu:other needs a second CPU: the timed thread is on CPU {} and no "
                            "other CPU is listed or allowed",
                            placement.timed));
    return;
  }
  const int driver_cpu = placement.timed;
  const int waiter_cpu = placement.others.front();
  auto* fx = row_fixture<WakeKindFixture>(state, [&] {
    auto f = std::make_unique<WakeKindFixture>();
    f->wake = std::make_unique<FdPool>(1, kind);
    auto poller = backend.make();
    for (std::size_t i = 0; i < n; ++i) poller->add(pool->polled_fd(i), kReadable, kIdleTokens + i);
    poller->add(f->wake->polled_fd(0), kReadable, kWakeToken);
    f->rig = std::make_unique<WakeupRig>(std::move(poller),
                                         std::make_unique<DescriptorWake>(*f->wake), waiter_cpu);
    return f;
  });
  if (fx == nullptr) return;
  sample_wakeups(state, *fx->rig, fx->samples, driver_cpu, waiter_cpu,
                 fmt::format("{} woken via {}", backend.name, to_string(kind)));
}

void register_wakeup(const Sweep& sweep, const Rows& rows) {
  std::string points;
  for (const auto& [n, other] : sweep.wakeup) {
    const auto un = static_cast<std::size_t>(n);
    for (const Backend* b : rows) {
      register_row(
          RowName("wakeup", b->name).add("fds", n).add("cpu", other ? "other" : "same"), un,
          [b, un, other = other](benchmark::State& state) { run_wakeup(state, *b, un, other); })
          ->UseManualTime();
    }
    points +=
        fmt::format(R"({}[{}, "{}"])", points.empty() ? "" : ", ", n, other ? "other" : "same");
  }
  // wake:<kind>: the loop's own wake descriptor, on the first row a raw loop measures.
  Rows woken;
  if (const Rows floors = other_descriptor_rows(rows); !floors.empty()) woken = {floors.front()};
  std::vector<std::string_view> kinds;
  for (const FdKind kind : sweep.wake_kinds) kinds.push_back(to_string(kind));
  for (const Backend* b : woken) {
    for (const FdKind kind : sweep.wake_kinds) {
      const auto un = static_cast<std::size_t>(sweep.wake_fds);
      register_row(RowName("wakeup", b->name)
                       .add("fds", sweep.wake_fds)
                       .add("cpu", "other")
                       .add("wake", to_string(kind)),
                   un,
                   [b, un, kind](benchmark::State& state) { run_wakeup_via(state, *b, un, kind); })
          ->UseManualTime();
    }
  }
  describe_scenario(
      "wakeup",
      fmt::format(R"({{"backends": {}, "points": [{}], "wake": {{"backends": {}, )"
                  R"("fds": {}, "cpu": "other", "kinds": {}}}}})",
                  json_names(rows), points, json_names(woken), sweep.wake_fds, json_list(kinds)));
}

}  // namespace pollbench::bench
