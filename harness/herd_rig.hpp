// HerdRig: W waiter threads on one fd (a Poller each, or one shared epoll fd); round() is one
// written byte, counted once per waiter that the kernel woke (results/README.md describes the
// protocol). Kept apart from Google Benchmark so that tests/rigs_test.cpp runs it under
// ThreadSanitizer.
//
// Every timestamp is monotonic_ns(). round() never allocates, logs or throws. Destroying the
// rig stops and joins its threads, whatever state they are in.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "backends/poller.hpp"
#include "harness/fd_pool.hpp"
#include "harness/rig_threads.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench {

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
