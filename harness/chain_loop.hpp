// The chain, libevent test/bench.c's workload: bench/chain.cpp times it, tools/syscalls.cpp
// counts its syscalls, so both run this one loop. Pairs 0..n-1 of a pool are registered in a
// Poller with their index as token; the `active` pairs get one byte each, and every byte read
// is forwarded to the next pair while writes remain (bench.c's EVLOOP_ONCE | EVLOOP_NONBLOCK:
// waits with timeout 0).
#pragma once

#include <chrono>
#include <cstddef>
#include <span>

#include "backends/poller.hpp"
#include "harness/fd_pool.hpp"

namespace pollbench {

// A wait that finds nothing although bytes are queued would spin forever; this many empty
// waits in one loop mean the backend lost an event.
inline constexpr std::size_t kMaxEmptyWaits = 1000;

struct ChainOutcome {
  std::size_t received = 0;  // bytes read: writes + active.size() unless events were lost
  int last_wait = 0;         // the last wait's result: negative errno, 0 or the events
};

// One chain: makes the `active` pairs ready, then reads every pair each wait reports and
// forwards its bytes to the next pair while `writes` remain, until writes + active.size()
// bytes are read, a wait fails or kMaxEmptyWaits waits find nothing. Inlined into the timed
// loop: it never allocates, logs or throws.
inline ChainOutcome chain_once(Poller& poller, const FdPool& pool, std::span<Event> events,
                               std::span<const std::size_t> active, std::size_t n,
                               std::size_t writes) noexcept {
  for (const std::size_t i : active) pool.make_ready(i);
  const std::size_t expected = writes + active.size();
  ChainOutcome out;
  std::size_t empty_waits = 0;
  while (out.received < expected) {
    out.last_wait = poller.wait(events, std::chrono::nanoseconds{0});
    if (out.last_wait <= 0) {
      if (out.last_wait < 0 || ++empty_waits > kMaxEmptyWaits) break;
      continue;
    }
    for (int e = 0; e < out.last_wait; ++e) {
      const auto pair = static_cast<std::size_t>(events[static_cast<std::size_t>(e)].token);
      const std::size_t bytes = pool.drain(pair);
      out.received += bytes;
      const std::size_t next = pair + 1 == n ? 0 : pair + 1;
      for (std::size_t b = 0; b < bytes && writes > 0; ++b, --writes) pool.make_ready(next);
    }
  }
  return out;
}

}  // namespace pollbench
