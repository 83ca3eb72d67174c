// The points a run registers: the default sweep, the quick one, or the caller's sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/fd_pool.hpp"

namespace pollbench::bench {

// How the signal scenario's waiter learns of a signal: a signalfd in the Poller, or a pipe
// written by the signal's handler.
enum class SignalVia : std::uint8_t { kSignalFd, kSelfPipe };

using Points = std::vector<std::pair<std::int64_t, std::int64_t>>;  // (fds, active)

// What the command line chose for the whole run (bench/options.hpp reads it): handed to the
// sweep, and through it to the pool, the scenarios and the metadata.
struct RunConfig {
  bool quick = false;                    // --pollbench_quick
  FdKind fd_kind = FdKind::kSocketPair;  // --pollbench_fd_kind: the kind of the polled pairs
};

// How `./pollbench run` measures a sweep: P processes one after another, each with R
// repetitions of every row in a random interleaved order. The one place these are chosen:
// the binary supplies them as Google Benchmark's defaults (a process of its own is one process
// of the run) and prints them for the pipeline (--pollbench_plan). Each process repeats the
// pool set-up and the iteration-count estimation of every row, so a process costs more than a
// repetition; results/README.md gives the measurements that chose these.
struct Plan {
  int processes;
  int repetitions;  // per process
  double min_time;  // seconds per repetition
  // No warm-up before a row's first repetition: interleaved, every repetition runs after other
  // rows anyway, and the iteration-count estimation (its runs are discarded) warms the row up.
  // The warm-up was most of what an extra process costs.
  double min_warmup_time;  // seconds
  bool interleaving;       // every repetition of every row at a random point of the process
};

// Many short repetitions rather than a few long ones: on a shared machine the noise comes in
// bursts, and the median of many short samples steps over a burst that one long mean absorbs.
struct Sweep {
  std::string_view name;  // "full", "quick" or "custom"
  FdKind fd_kind;         // the run's (RunConfig::fd_kind)
  Plan plan;
  // The largest power of two whose pairs fit under the fd limit: a scenario's kLargestFds
  // (scenario_table.hpp).
  std::int64_t top_fds = 16;
  // --pollbench_fds: every scenario's N in a custom sweep.
  std::vector<std::int64_t> custom_fds;
  Points scaling;  // dispatch + raw
  // dispatch + raw for a row that cannot poll fds as high as the largest N of `scaling`
  // (capabilities.max_fd below it: select's FD_SETSIZE): sizes up to 1,000 and the A-sweep
  // there, instead of the A-sweep at an N it cannot reach.
  Points fd_limited_scaling;
  Points chain;
  std::vector<std::int64_t> churn;
  // A library row (registry `wraps`) answers one question — what the library adds over its
  // mechanism — so it runs a subset, for the sweep's time budget: dispatch at A = 1 only (the
  // N-sweep), and these chain points and churn sizes.
  Points library_chain;
  std::vector<std::int64_t> library_churn;
  std::vector<std::pair<std::int64_t, bool>> wakeup;  // (N, cpu:other?), every backend
  std::vector<std::int64_t> herd;                     // W, herd and herd_shared
  std::vector<std::int64_t> timeout_us;               // T, timeout and raw_timeout
  // The event loop's other descriptors (few rows: the sweep's time budget).
  std::vector<std::int64_t> timerfd_us;  // T, timerfd/<row>
  std::int64_t wake_fds = 16;            // N of wakeup/.../wake:<kind> (cpu:other)
  std::vector<FdKind> wake_kinds;        // wakeup/.../wake:<kind>
  std::vector<SignalVia> signal_vias;    // signal/<row>/via:<...>
  // server/<row>/idle:<I>/conns:<C>: (I, C). A small subset by default (rows too:
  // server_subset_rows); the full grid, every measured row, when server_grid is set.
  std::vector<std::pair<std::int64_t, std::int64_t>> server;
  // server/<loop>/idle:<I>/rate:<R>: (I, R), each measured over server_rate_windows windows of
  // server_rate_window_s after a warm-up.
  std::vector<std::pair<std::int64_t, std::int64_t>> server_rates;
  // The io_uring completion engines the server rows run besides the registry rows' loops
  // (harness/server_loop.hpp): every available one unless --backend names some.
  std::vector<std::string> server_engines;
  bool server_grid = false;
  double server_window_s = 0.08;  // one iteration: the server's requests over this window
  double server_rate_window_s = 0.25;
  std::int64_t server_rate_windows = 4;
};

Sweep make_sweep(const RunConfig& config);

// The plan as one JSON object: {"sweep": ..., "processes": P, "repetitions": R, ...}.
std::string plan_json(const Sweep& sweep);

// The caller's sizes replace the sweep's: every (N, A) for dispatch/raw/chain, every N for
// churn and wakeup (herd and timeout have no N). Exits with a one-line error (status 2) when
// an N does not fit under the fd limit or an A is larger than an N.
void apply_custom_sizes(Sweep& sweep, const std::vector<std::int64_t>& fds,
                        const std::vector<std::int64_t>& actives);

// Whether `points` holds (n, a); whether `sizes` holds n.
bool has_point(const Points& points, std::int64_t n, std::int64_t a) noexcept;
bool has_size(const std::vector<std::int64_t>& sizes, std::int64_t n) noexcept;

// The server scenario's full grid, I in {0, 1,000, 4,000, the largest that fits} x C in {1, 32}
// on every measured row, with longer windows: what a run that names its rows (a
// --benchmark_filter, `run --filter '^server/'`) registers instead of the subset.
void use_server_grid(Sweep& sweep);

// What a run that names its rows (a --benchmark_filter) registers, the filter then choosing
// among them: the full sweep's every power of two for dispatch and raw, chain at 5,000 too,
// churn at six sizes — points the default sweep leaves out for its time budget — and the
// server grid (use_server_grid). The quick sweep keeps its sizes.
void use_full_grid(Sweep& sweep);

// The largest N of `points` (0 if none).
std::int64_t largest_fds(const Points& points) noexcept;

}  // namespace pollbench::bench
