// Rigs: the multi-threaded machinery of the wakeup and herd scenarios, kept apart from Google
// Benchmark so that tests/rigs_test.cpp runs it under ThreadSanitizer (results/README.md
// describes the protocols).
//
//  - WakeupRig: one waiter thread blocked in Poller::wait(-1) on N fds; sample() is one
//    driver-side measurement of write → return.
//  - HerdRig: W waiter threads on one fd (a Poller each, or one shared epoll fd); round() is
//    one written byte, counted once per waiter that the kernel woke.
//  - SampleSet: a bounded sample buffer with exact min/max/mean and nearest-rank percentiles.
//
// Every timestamp is monotonic_ns() (CLOCK_MONOTONIC). Driver-side calls (sample(), round(),
// SampleSet::add) never allocate, log or throw. Destroying a rig stops and joins its threads,
// whatever state they are in.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "backends/poller.hpp"
#include "harness/fd_pool.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench {

// clock_gettime(CLOCK_MONOTONIC), in nanoseconds.
std::int64_t monotonic_ns() noexcept;
inline constexpr std::string_view kRigClock = "CLOCK_MONOTONIC";

// The CPUs the calling thread may run on (sched_getaffinity), in increasing order.
std::vector<int> allowed_cpus();

// The online CPUs (/sys/devices/system/cpu/online; if unreadable, 0 .. configured − 1).
std::vector<int> online_cpus();

// A CPU list as taskset and /sys write it: "0", "0,1", "1-3", "0,2-3". Returns the CPUs in the
// order given, each once; nullopt if an item is not a CPU number or an increasing range, and
// then `bad` holds that item.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text, std::string& bad);

// {3, 0, 1} -> "0-1,3": sorted, runs joined; "" for none.
std::string format_cpu_list(std::vector<int> cpus);

// Restricts `thread` to `cpus` (at least one); throws std::system_error naming
// pthread_setaffinity_np.
void place_thread(pthread_t thread, std::span<const int> cpus);

// Pins the calling thread to `cpu` and restores its previous mask on destruction.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu);  // throws std::system_error naming pthread_setaffinity_np
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  ScopedPin(ScopedPin&&) = delete;
  ScopedPin& operator=(ScopedPin&&) = delete;
  ~ScopedPin();

 private:
  cpu_set_t saved_{};
};

// Whether a thread of this process is asleep (state S in /proc/self/task/<tid>/stat, kept
// open and re-read with pread).
class ThreadState {
 public:
  explicit ThreadState(pid_t tid);  // throws std::system_error if the file cannot be opened
  [[nodiscard]] bool sleeping() const noexcept;

 private:
  UniqueFd fd_;
};

// Up to `capacity` samples kept (a uniform reservoir beyond that), reserved at construction;
// count, min, max and mean cover every sample added.
class SampleSet {
 public:
  explicit SampleSet(std::size_t capacity);
  void clear() noexcept;
  void add(std::int64_t value) noexcept;
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] std::int64_t min() const noexcept { return min_; }
  [[nodiscard]] std::int64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept;
  // Nearest-rank percentile of the kept samples, q in [0, 1]; 0 when empty. Sorts them: not
  // for timed paths.
  [[nodiscard]] std::int64_t percentile(double q);

 private:
  std::vector<std::int64_t> kept_;
  std::size_t capacity_;
  std::size_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  bool sorted_ = true;
};

// How long a driver waits for its waiters before it declares the row failed.
inline constexpr std::chrono::seconds kRigPatience{2};

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
  const char* failure_ = nullptr;  // driver
  int failure_errno_ = 0;
};

class HerdRig {
 public:
  // W waiters, each with its own Poller from `make` watching pool pair `pair` (herd/<backend>).
  // The waiter threads run on `waiter_cpus`, or where their creator may if it is empty.
  static std::unique_ptr<HerdRig> per_waiter(const FdPool& pool, std::size_t pair,
                                             std::size_t waiters, std::unique_ptr<Poller> (*make)(),
                                             std::vector<int> waiter_cpus = {});
  // W waiters in epoll_wait on one epoll fd watching pair `pair` (herd_shared/epoll_lt|et).
  static std::unique_ptr<HerdRig> shared_epoll(const FdPool& pool, std::size_t pair,
                                               std::size_t waiters, bool edge_triggered,
                                               std::vector<int> waiter_cpus = {});

  HerdRig(const HerdRig&) = delete;
  HerdRig& operator=(const HerdRig&) = delete;
  HerdRig(HerdRig&&) = delete;
  HerdRig& operator=(HerdRig&&) = delete;
  ~HerdRig();

  // Forgets the tallies and keeps room for `max_rounds` first-return latencies.
  void reset(std::size_t max_rounds);
  // One round, from the driver thread: waits until every waiter sleeps in its wait (and tallies
  // the previous round), writes one byte, waits until all W returned or `settle` has passed
  // with at least one return, and drains the byte. false on failure (see failure()).
  bool round(std::chrono::nanoseconds settle) noexcept;
  // Tallies the last round (waits until every waiter sleeps again). false on failure.
  bool finish() noexcept;

  [[nodiscard]] std::size_t waiters() const noexcept { return waits_.size(); }
  [[nodiscard]] std::size_t rounds() const noexcept { return rounds_; }
  [[nodiscard]] std::size_t woken() const noexcept { return woken_; }
  // write → first return, one per tallied round (up to the room reset() made).
  [[nodiscard]] std::span<std::int64_t> first_returns() noexcept { return first_returns_; }
  [[nodiscard]] std::string failure() const;

  class Wait;  // what one waiter blocks in

 private:
  HerdRig(const FdPool& pool, std::size_t pair, std::vector<int> waiter_cpus);
  void start(std::vector<std::unique_ptr<Wait>> waits);
  void waiter(std::size_t w) noexcept;
  void stop() noexcept;
  bool all_asleep() noexcept;
  void tally() noexcept;
  bool fail(const char* why, int err = 0) noexcept;

  struct Slot {
    std::atomic<pid_t> tid{0};
    std::atomic<bool> waiting{false};     // between "entering wait" and "wait returned"
    std::atomic<std::uint32_t> round{0};  // the round of its last return
    std::atomic<std::int64_t> return_ns{0};
    std::unique_ptr<ThreadState> state;
  };

  const FdPool& pool_;
  std::size_t pair_;
  std::vector<int> waiter_cpus_;  // empty: inherited
  UniqueFd shared_epfd_;          // herd_shared only
  std::vector<std::unique_ptr<Wait>> waits_;
  std::unique_ptr<Slot[]> slots_;  // NOLINT(modernize-avoid-c-arrays): atomics do not move
  std::vector<std::thread> threads_;

  std::atomic<bool> go_{false};            // setup done: the waiters may start waiting
  std::atomic<std::uint32_t> round_{0};    // driver: the round whose byte is written
  std::atomic<std::uint32_t> drained_{0};  // driver: the last round whose byte is drained
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> exited_{0};
  std::atomic<int> wait_error_{0};

  // driver
  bool pending_ = false;  // a round is written but not tallied yet
  std::int64_t write_ns_ = 0;
  std::size_t rounds_ = 0;
  std::size_t woken_ = 0;
  std::vector<std::int64_t> first_returns_;
  const char* failure_ = nullptr;
  int failure_errno_ = 0;
};

}  // namespace pollbench
