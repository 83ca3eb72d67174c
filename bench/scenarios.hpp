// The scenarios' entry points, registered by main.cpp for every registry row. Each reads
// state.range(0) as N (fds) and, where it has one, state.range(1) as A (active) — except the
// wakeup, herd and timeout scenarios, whose rows are registered under their full names (`cpu`
// is not a number) and take their parameters as arguments.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "backends/registry.hpp"

namespace pollbench::bench {

void run_dispatch(benchmark::State& state, const Backend& backend);
void run_chain(benchmark::State& state, const Backend& backend);
void run_churn(benchmark::State& state, const Backend& backend);
void run_sentinel(benchmark::State& state);
// Closes the sentinel's socketpair (main() checks for leaked descriptors after the run).
void release_sentinel() noexcept;

// The bare syscalls that the raw scenario loops on (kUringPoll: an io_uring of multishot polls).
enum class RawMechanism : std::uint8_t { kSelect, kPoll, kEpoll, kUringPoll };
std::string_view to_string(RawMechanism mechanism) noexcept;
void run_raw(benchmark::State& state, RawMechanism mechanism);
// The raw mechanism whose loop `backend` wraps, if any (epoll_lt ↔ epoll, uring_multishot ↔
// uring_poll; epoll_et has none).
std::optional<RawMechanism> raw_counterpart(std::string_view backend) noexcept;

// The multi-threaded and timeout scenarios (results/README.md). wakeup: n fds, waiter and
// driver on one CPU or two; herd: one Poller per waiter; herd_shared: one epoll fd for all.
void run_wakeup(benchmark::State& state, const Backend& backend, std::size_t n, bool other_cpu);
void run_herd(benchmark::State& state, const Backend& backend, std::size_t waiters);
void run_herd_shared(benchmark::State& state, bool edge_triggered, std::size_t waiters);
void run_timeout(benchmark::State& state, const Backend& backend, std::int64_t timeout_us);
// timeout/ppoll and timeout/epoll_pwait2: the bare nanosecond-resolution waits.
enum class RawTimeout : std::uint8_t { kPpoll, kEpollPwait2 };
std::string_view to_string(RawTimeout path) noexcept;
void run_timeout_raw(benchmark::State& state, RawTimeout path, std::int64_t timeout_us);

}  // namespace pollbench::bench
