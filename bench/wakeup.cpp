// wakeup: what it costs a thread blocked in wait() to learn that another thread made an fd
// ready. A waiter thread (harness/rigs.hpp, WakeupRig) sleeps in wait(-1) on N registered fds;
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
#include "harness/rigs.hpp"

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

}  // namespace

void run_wakeup(benchmark::State& state, const Backend& backend, std::size_t n, bool other_cpu) {
  const FdPool* pool = nullptr;
  if (!check_available(state, backend) ||
      !acquire_pool(state, n, 1, backend.capabilities.max_fd, backend.name, pool)) {
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
  std::optional<ScopedPin> pin;
  try {
    pin.emplace(driver_cpu);
  } catch (const std::exception& e) {
    skip(state, e.what());
    return;
  }

  WakeupRig& rig = *fx->rig;
  SampleSet& samples = fx->samples;
  samples.clear();
  for (auto _ : state) {
    const std::int64_t ns = rig.sample();
    if (ns < 0) {
      skip(state, fmt::format("{}: {}", backend.name, rig.failure()));
      break;
    }
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    samples.add(ns);
  }
  pin.reset();
  if (state.error_occurred()) {
    drop_fixture();  // joins the waiter
    return;
  }
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
  describe_scenario("wakeup",
                    fmt::format(R"({{"backends": {}, "points": [{}]}})", json_names(rows), points));
}

}  // namespace pollbench::bench
