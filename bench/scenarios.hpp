// The scenarios: each bench/<scenario>.cpp holds run_<scenario>, the benchmark function of one
// row, and register_<scenario>, which registers its rows for a sweep and the chosen registry
// rows (main.cpp calls the registrations in order). A row's parameters are passed to its
// function; its name comes from RowName (rows.hpp).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "backends/registry.hpp"
#include "bench/rows.hpp"
#include "bench/sweep.hpp"
#include "harness/fd_pool.hpp"
#include "harness/sample_set.hpp"
#include "harness/wakeup_rig.hpp"

namespace pollbench::bench {

// dispatch/<row> and, before the first row that wraps it, raw/<raw_floor> at every point.
void register_dispatch(const Sweep& sweep, const Rows& rows);
void run_dispatch(benchmark::State& state, const Backend& backend, std::size_t n, std::size_t a);

void register_chain(const Sweep& sweep, const Rows& rows);
void run_chain(benchmark::State& state, const Backend& backend, std::size_t n, std::size_t a,
               FdKind kind);

void register_churn(const Sweep& sweep, const Rows& rows);
void run_churn(benchmark::State& state, const Backend& backend, std::size_t n);

// sentinel/roundtrip/at:<k> and sentinel/cross_cpu/at:<k>, k = 0, 1, ... in registration order.
void register_sentinel();
void run_sentinel(benchmark::State& state);
void run_cross_cpu_sentinel(benchmark::State& state);
// Closes the sentinel's socketpair (main() checks for leaked descriptors after the run).
void release_sentinel() noexcept;

// The bare syscalls that the raw scenario loops on (kUringPoll: an io_uring of multishot polls).
enum class RawMechanism : std::uint8_t { kSelect, kPoll, kEpoll, kUringPoll };
std::string_view to_string(RawMechanism mechanism) noexcept;
// The mechanism called `name` (a registry row's raw_floor), if there is one.
std::optional<RawMechanism> raw_mechanism(std::string_view name) noexcept;
// raw/<row.raw_floor>/fds:<n>/active:<a>, unless it is registered already, polling fds up to
// the row's limit (its mechanism's: select's FD_SETSIZE); exits with a one-line error
// (status 1) if the raw floor names no mechanism.
void register_raw(const Backend& row, std::int64_t n, std::int64_t a);
void run_raw(benchmark::State& state, RawMechanism mechanism, int max_fd, std::size_t n,
             std::size_t a);

// The multi-threaded and timeout scenarios (results/README.md). wakeup: n fds, waiter and
// driver on one CPU or two; herd: one Poller per waiter; herd_shared: one epoll fd for all.
void register_wakeup(const Sweep& sweep, const Rows& rows);
void run_wakeup(benchmark::State& state, const Backend& backend, std::size_t n, bool other_cpu);
// wakeup/<row>/fds:<N>/cpu:other/wake:<eventfd|pipe|socketpair>: the N pool fds idle, the
// waiter woken through a descriptor of that kind of its own.
void run_wakeup_via(benchmark::State& state, const Backend& backend, std::size_t n, FdKind kind);
// A wakeup rig's timed loop on the driver CPU: one sample per iteration (manual time), the
// latency counters and cpus_used (the driver's and the waiter's CPUs) at the end; a failed
// sample skips the row as "<what>: <why>" and drops the fixture (its waiter joined, whatever
// it changed restored).
void sample_wakeups(benchmark::State& state, WakeupRig& rig, SampleSet& samples, int driver_cpu,
                    int waiter_cpu, std::string_view what);
// The latency counters of a rig's samples (min_ns, p10_ns ... p999_ns, max_ns, samples).
void set_latency_counters(benchmark::State& state, SampleSet& samples);
// herd/<row> and herd_shared/<epoll_lt|epoll_et>.
void register_herd(const Sweep& sweep, const Rows& rows);
void run_herd(benchmark::State& state, const Backend& backend, std::size_t waiters);
// herd_shared/<slot>: `slot`, the registry row of the same epoll mode, gives its fd limit.
void run_herd_shared(benchmark::State& state, const Backend& slot, bool edge_triggered,
                     std::size_t waiters);
// timeout/<row> and raw_timeout/<ppoll|epoll_pwait2>, the bare nanosecond-resolution waits.
void register_timeout(const Sweep& sweep, const Rows& rows);
void run_timeout(benchmark::State& state, const Backend& backend, std::int64_t timeout_us);
enum class RawTimeout : std::uint8_t { kPpoll, kEpollPwait2 };
std::string_view to_string(RawTimeout path) noexcept;
void run_timeout_raw(benchmark::State& state, RawTimeout path, std::int64_t timeout_us);
// timerfd/<row>/us:<T>: a timerfd registered in the Poller, armed for T before each wait(-1);
// registered by register_timeout for other_descriptor_rows and the first library row.
void run_timerfd(benchmark::State& state, const Backend& backend, std::int64_t timeout_us);

// signal/<row>/via:<signalfd|selfpipe>: send (kill) -> the waiter's return with the signal
// identified, for other_descriptor_rows.
void register_signal(const Sweep& sweep, const Rows& rows);
void run_signal(benchmark::State& state, const Backend& backend, SignalVia via);
std::string_view to_string(SignalVia via) noexcept;

// server/<loop>/idle:<I>/conns:<C> (wrk, closed loop) and server/<loop>/idle:<I>/rate:<R>
// (pollbench-load, a fixed schedule): an HTTP/1.1 keep-alive server in a process of its own,
// its loop a registry row's readiness loop or an io_uring completion engine
// (harness/server_loop.hpp), I idle connections held by another process (bench/server.cpp).
// The default and quick sweeps measure server_subset_rows and every engine; the full grid every
// measured row.
void register_server(const Sweep& sweep, const Rows& rows);
// The rows a raw loop measures (raw_floor) and the first library row that polls any fd
// (first_library_row), in the order of `rows`.
Rows server_subset_rows(const Rows& rows);
// The largest number of idle connections one server process can hold under RLIMIT_NOFILE
// beside the grid's largest load (rounded down to thousands from 5,000 on).
std::int64_t largest_idle_connections();

// What wrk printed (--latency): negative where a figure is missing.
struct WrkReport {
  double requests_per_s = -1;
  double requests = -1;
  double p50_ns = -1;
  double p75_ns = -1;
  double p90_ns = -1;
  double p99_ns = -1;
  double errors = 0;  // socket errors (connect, read, write, timeout) + non-2xx/3xx responses
  bool complete = false;
};
WrkReport parse_wrk(std::string_view output);

}  // namespace pollbench::bench
