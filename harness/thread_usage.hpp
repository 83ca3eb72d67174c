// What the calling thread has used so far: its CPU time, split into user and system time, and
// its voluntary and involuntary context switches (getrusage(RUSAGE_THREAD)). Read before and after
// a timed loop (never inside it), the difference says where the loop's time went.
//
// Resolution. The switch counts are exact. getrusage's user and system times, on a kernel
// with CONFIG_TICK_CPU_ACCOUNTING (the usual distribution kernel; the development VM's 6.18
// has it, HZ=250, no CONFIG_VIRT_CPU_ACCOUNTING_GEN), come from ticks: the kernel counts at
// each tick whether the thread was in user space or in the kernel and scales the two to the
// thread's runtime as of its last scheduler update — which may be a tick old. So here the
// total is taken from CLOCK_THREAD_CPUTIME_ID (brought up to date when read) and only the
// split from getrusage: over a window of C ns of CPU the split is good to about one tick (4 ms)
// of C, ~15% of one 30 ms repetition, a few percent for the median of many. (Measured here:
// the getrusage sum agreed with CLOCK_THREAD_CPUTIME_ID within 0.5% from 10 ms of CPU on, but
// over 1 ms it was off by 4 ms.) With CONFIG_VIRT_CPU_ACCOUNTING_GEN the split is exact.
#pragma once

#include <sys/resource.h>
#include <sys/time.h>

#include <cstdint>
#include <ctime>

namespace pollbench {

struct ThreadUsage {
  std::int64_t cpu_ns = 0;   // CLOCK_THREAD_CPUTIME_ID: user + system, exact
  std::int64_t user_ns = 0;  // getrusage: tick-sampled, scaled (see above)
  std::int64_t sys_ns = 0;
  std::int64_t voluntary_switches = 0;    // the thread slept (a blocking wait)
  std::int64_t involuntary_switches = 0;  // the scheduler took the CPU away (preemption)
};

inline ThreadUsage thread_usage() noexcept {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);  // cannot fail for RUSAGE_THREAD with a valid pointer
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  const auto ns = [](const timeval& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 +
           static_cast<std::int64_t>(t.tv_usec) * 1'000;
  };
  return ThreadUsage{.cpu_ns = static_cast<std::int64_t>(cpu.tv_sec) * 1'000'000'000 + cpu.tv_nsec,
                     .user_ns = ns(u.ru_utime),
                     .sys_ns = ns(u.ru_stime),
                     .voluntary_switches = u.ru_nvcsw,
                     .involuntary_switches = u.ru_nivcsw};
}

// The user share of `used` (a difference of two readings): getrusage's split of the
// difference, or, if no tick fell inside it, of everything the thread used until `later` (the
// kernel's own fallback).
inline double user_share(const ThreadUsage& used, const ThreadUsage& later) noexcept {
  const ThreadUsage& basis = used.user_ns + used.sys_ns > 0 ? used : later;
  const std::int64_t total = basis.user_ns + basis.sys_ns;
  return total > 0 ? static_cast<double>(basis.user_ns) / static_cast<double>(total) : 0.0;
}

// What was used between two readings of one thread.
inline ThreadUsage operator-(const ThreadUsage& later, const ThreadUsage& earlier) noexcept {
  return ThreadUsage{
      .cpu_ns = later.cpu_ns - earlier.cpu_ns,
      .user_ns = later.user_ns - earlier.user_ns,
      .sys_ns = later.sys_ns - earlier.sys_ns,
      .voluntary_switches = later.voluntary_switches - earlier.voluntary_switches,
      .involuntary_switches = later.involuntary_switches - earlier.involuntary_switches};
}

}  // namespace pollbench
