// WakeupRig: one waiter thread blocked in Poller::wait(-1) on N fds; sample() is one
// driver-side measurement of wake → return (results/README.md describes the protocol). Kept
// apart from Google Benchmark so that tests/rigs_test.cpp runs it under ThreadSanitizer.
//
// Every timestamp is monotonic_ns(). sample() never allocates, logs or throws. Destroying the
// rig stops and joins its thread, whatever state it is in.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/poller.hpp"
#include "harness/fd_pool.hpp"
#include "harness/rig_threads.hpp"
#include "harness/thread_usage.hpp"

namespace pollbench {

// What wakes a WakeupRig's waiter, and what the waiter does with the events it gets: a byte
// written to a pool pair (the wakeup scenario), a signal sent to the process (the signal
// scenario). wake() and consume() run on timed paths: no allocation, logging or throwing.
class WakeSource {
 public:
  WakeSource() = default;
  WakeSource(const WakeSource&) = delete;
  WakeSource& operator=(const WakeSource&) = delete;
  WakeSource(WakeSource&&) = delete;
  WakeSource& operator=(WakeSource&&) = delete;
  virtual ~WakeSource() = default;

  // Driver, sample k (k < 0: the rig is stopping): makes the waiter's wait() return. false on
  // failure, with errno set.
  virtual bool wake(std::int64_t k) noexcept = 0;
  // Waiter, for each event a wait() reported: consumes it (drains the fd) and says whether it
  // was the driver's wake, identified (for a signal: its number read back).
  virtual bool consume(const Event& event) noexcept = 0;
  // Waiter thread, once, before its first wait (e.g. to unblock a signal in that thread).
  virtual void on_waiter_start() noexcept {}
  // After the waiter is joined: drops whatever the last wakes left pending.
  virtual void drain() noexcept = 0;
};

class WakeupRig {
 public:
  // Starts the waiter thread on `poller` (fds already registered, tokens = pool indices),
  // pinned to `waiter_cpu` (or unpinned if negative). `targets` are the pool indices the
  // driver writes to in turn. Throws std::system_error if the thread cannot be placed.
  WakeupRig(std::unique_ptr<Poller> poller, const FdPool& pool, std::vector<std::size_t> targets,
            int waiter_cpu);
  // The same with any wake source: `poller` watches what `source` wakes it through.
  WakeupRig(std::unique_ptr<Poller> poller, std::unique_ptr<WakeSource> source, int waiter_cpu);
  WakeupRig(const WakeupRig&) = delete;
  WakeupRig& operator=(const WakeupRig&) = delete;
  WakeupRig(WakeupRig&&) = delete;
  WakeupRig& operator=(WakeupRig&&) = delete;
  ~WakeupRig();

  // One measurement, from the driver thread: waits until the waiter sleeps in wait(), takes
  // the time, wakes it (writes one byte to the next target) and waits for the waiter's
  // timestamp: taken when wait() returns with the wake among its events (identified).
  // Returns return − write in ns, or −1 on failure (see failure()).
  std::int64_t sample() noexcept;
  // From the driver thread, outside any sample: the waiter's own thread_usage(), read by the
  // waiter at the top of its loop (getrusage reads only the calling thread). A waiter asleep in
  // wait() is woken for it with nothing to time, so a reading taken after samples covers them
  // and that one wake-up. false on failure (see failure()). Never allocates, logs or throws.
  bool waiter_usage(ThreadUsage& out) noexcept;
  [[nodiscard]] std::string failure() const;

 private:
  void waiter() noexcept;
  void stop() noexcept;
  bool fail(const char* why, int err = 0) noexcept;

  std::unique_ptr<Poller> poller_;
  std::unique_ptr<WakeSource> source_;
  std::vector<Event> events_;  // the waiter's
  std::unique_ptr<ThreadState> state_;
  std::thread thread_;
  std::int64_t next_ = 0;  // driver: samples taken

  std::atomic<pid_t> tid_{0};
  std::atomic<bool> go_{false};           // setup done: the waiter may start waiting
  std::atomic<std::int64_t> armed_{-1};   // waiter: "entering wait() for sample k"
  std::atomic<std::int64_t> written_{0};  // driver: samples whose byte is written
  std::atomic<std::int64_t> acked_{0};    // waiter: samples whose return is timestamped
  std::atomic<std::int64_t> return_ns_{0};
  std::atomic<int> wait_error_{0};  // waiter: the negative errno of a failed wait()
  std::atomic<bool> stop_{false};
  std::atomic<bool> exited_{false};
  std::atomic<std::int64_t> usage_wanted_{0};  // driver: readings of the waiter asked for
  std::atomic<std::int64_t> usage_taken_{0};   // waiter: readings taken; usage_ is the last
  ThreadUsage usage_;                          // written before usage_taken_ (release)
  const char* failure_ = nullptr;              // driver
  int failure_errno_ = 0;
};

}  // namespace pollbench
