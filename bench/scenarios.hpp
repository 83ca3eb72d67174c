// The scenarios' entry points, registered by main.cpp for every registry row. Each reads
// state.range(0) as N (fds) and, where it has one, state.range(1) as A (active).
#pragma once

#include <benchmark/benchmark.h>

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

}  // namespace pollbench::bench
