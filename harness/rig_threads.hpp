// What the threads of the wakeup and herd rigs share: the clock every timestamp is read on,
// how long a driver waits for its waiters, whether a waiter sleeps, and the start handshake.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness/unique_fd.hpp"

namespace pollbench {

// clock_gettime(CLOCK_MONOTONIC), in nanoseconds.
std::int64_t monotonic_ns() noexcept;
inline constexpr std::string_view kRigClock = "CLOCK_MONOTONIC";

// How long a driver waits for its waiters before it declares the row failed.
inline constexpr std::chrono::seconds kRigPatience{2};

// Whether a thread of this process is asleep (state S in /proc/self/task/<tid>/stat, kept
// open and re-read with pread).
class ThreadState {
 public:
  explicit ThreadState(pid_t tid);  // throws std::system_error if the file cannot be opened
  [[nodiscard]] bool sleeping() const noexcept;

 private:
  UniqueFd fd_;
};

// The rigs' own helpers (harness/wakeup_rig.cpp, harness/herd_rig.cpp; the start handshake
// also serves the sentinel's cross-CPU peer, bench/sentinel.cpp).
namespace rig_detail {

inline constexpr std::int64_t kPatienceNs =
    std::chrono::duration_cast<std::chrono::nanoseconds>(kRigPatience).count();

[[noreturn]] void throw_sys(int err, const std::string& what);
void sleep_ns(std::int64_t ns) noexcept;
pid_t current_tid() noexcept;
// Waits (yielding) until the thread behind `tid` has published its id, for kRigPatience.
pid_t await_tid(const std::atomic<pid_t>& tid);
// The start handshake: waiters block until the constructor has finished their setup.
void release(std::atomic<bool>& go) noexcept;
void await_release(const std::atomic<bool>& go) noexcept;
// "why: strerror(err)", or "no failure".
std::string describe(const char* failure, int err);

}  // namespace rig_detail

}  // namespace pollbench
