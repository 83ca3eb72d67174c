#include "harness/wakeup_rig.hpp"

#include <pthread.h>

#include <cerrno>
#include <utility>

#include "harness/cpus.hpp"

namespace pollbench {
namespace {

using rig_detail::await_release;
using rig_detail::await_tid;
using rig_detail::current_tid;
using rig_detail::describe;
using rig_detail::kPatienceNs;
using rig_detail::release;
using rig_detail::sleep_ns;
using rig_detail::throw_sys;

// The wakeup scenario's source: one byte written to the next of `targets`, pool pairs whose
// polled ends the poller watches with their index as token.
class PoolWake final : public WakeSource {
 public:
  PoolWake(const FdPool& pool, std::vector<std::size_t> targets)
      : pool_(pool), targets_(std::move(targets)) {
    if (targets_.empty()) throw_sys(EINVAL, "wakeup rig: no target fds");
  }
  bool wake(std::int64_t k) noexcept override {
    const auto i = k < 0 ? 0 : static_cast<std::size_t>(k) % targets_.size();
    return pool_.make_ready(targets_[i]);
  }
  bool consume(const Event& event) noexcept override {
    pool_.drain(static_cast<std::size_t>(event.token));
    return true;
  }
  void drain() noexcept override {
    for (const std::size_t t : targets_) pool_.drain(t);
  }

 private:
  const FdPool& pool_;
  std::vector<std::size_t> targets_;
};

}  // namespace

WakeupRig::WakeupRig(std::unique_ptr<Poller> poller, const FdPool& pool,
                     std::vector<std::size_t> targets, int waiter_cpu)
    : WakeupRig(std::move(poller), std::make_unique<PoolWake>(pool, std::move(targets)),
                waiter_cpu) {}

WakeupRig::WakeupRig(std::unique_ptr<Poller> poller, std::unique_ptr<WakeSource> source,
                     int waiter_cpu)
    : poller_(std::move(poller)), source_(std::move(source)), events_(64) {
  thread_ = std::thread([this] { waiter(); });
  try {
    const pid_t tid = await_tid(tid_);
    if (waiter_cpu >= 0) place_thread(thread_.native_handle(), std::array{waiter_cpu});
    state_ = std::make_unique<ThreadState>(tid);
  } catch (...) {
    stop();
    throw;
  }
  release(go_);
}

WakeupRig::~WakeupRig() {
  stop();
}

void WakeupRig::waiter() noexcept {
  tid_.store(current_tid(), std::memory_order_release);
  await_release(go_);  // placed and watched before the first wait
  source_->on_waiter_start();
  std::int64_t acked = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    // Outside every sample: the driver asked for this thread's usage (waiter_usage).
    if (const std::int64_t wanted = usage_wanted_.load(std::memory_order_acquire);
        wanted != usage_taken_.load(std::memory_order_relaxed)) {
      usage_ = thread_usage();
      usage_taken_.store(wanted, std::memory_order_release);
    }
    armed_.store(acked, std::memory_order_release);
    const int got = poller_->wait(events_, std::chrono::nanoseconds{-1});
    const std::int64_t now = monotonic_ns();
    if (stop_.load(std::memory_order_acquire)) break;
    if (got < 0) {
      wait_error_.store(got, std::memory_order_release);
      break;
    }
    if (got == 0) continue;  // a signal (for a self-pipe: its handler has run; wait again)
    bool identified = false;
    for (int i = 0; i < got; ++i) {
      identified = source_->consume(events_[static_cast<std::size_t>(i)]) || identified;
    }
    if (!identified) continue;
    const std::int64_t written = written_.load(std::memory_order_acquire);
    if (written == acked) continue;  // not the driver's byte: nothing to time
    return_ns_.store(now, std::memory_order_relaxed);
    acked = written;
    acked_.store(acked, std::memory_order_release);
  }
  exited_.store(true, std::memory_order_release);
}

bool WakeupRig::fail(const char* why, int err) noexcept {
  failure_ = why;
  failure_errno_ = err;
  return false;
}

std::int64_t WakeupRig::sample() noexcept {
  const std::int64_t k = next_;
  std::int64_t deadline = monotonic_ns() + kPatienceNs;
  // The waiter has announced this sample's wait() and is asleep in it: the byte below wakes a
  // sleeping thread, never one that would find the fd already ready.
  while (armed_.load(std::memory_order_acquire) != k || !state_->sleeping()) {
    if (exited_.load(std::memory_order_acquire)) {
      const int err = wait_error_.load(std::memory_order_acquire);
      fail("the waiter's wait() failed", -err);
      return -1;
    }
    if (monotonic_ns() > deadline) {
      fail("the waiter did not go back to sleep in wait() within 2 s");
      return -1;
    }
    ::sched_yield();
  }
  written_.store(k + 1, std::memory_order_release);
  const std::int64_t write_ns = monotonic_ns();
  if (!source_->wake(k)) {
    fail("write to the target fd (or the wake signal) failed", errno);
    return -1;
  }
  deadline = write_ns + kPatienceNs;
  while (acked_.load(std::memory_order_acquire) != k + 1) {
    if (exited_.load(std::memory_order_acquire)) {
      fail("the waiter's wait() failed", -wait_error_.load(std::memory_order_acquire));
      return -1;
    }
    if (monotonic_ns() > deadline) {
      fail("the waiter's wait() did not return within 2 s of the write or signal (lost event)");
      return -1;
    }
    ::sched_yield();
  }
  next_ = k + 1;
  return return_ns_.load(std::memory_order_relaxed) - write_ns;
}

bool WakeupRig::waiter_usage(ThreadUsage& out) noexcept {
  const std::int64_t wanted = usage_wanted_.load(std::memory_order_relaxed) + 1;
  usage_wanted_.store(wanted, std::memory_order_release);
  const std::int64_t deadline = monotonic_ns() + kPatienceNs;
  bool woken = false;
  while (usage_taken_.load(std::memory_order_acquire) != wanted) {
    if (exited_.load(std::memory_order_acquire)) {
      return fail("the waiter's wait() failed", -wait_error_.load(std::memory_order_acquire));
    }
    if (monotonic_ns() > deadline) {
      return fail("the waiter did not read its usage within 2 s");
    }
    // Asleep in the wait of the next sample before it saw the request: one wake, which it
    // consumes as a byte not to time (written_ == acked), brings it to the top of its loop.
    if (!woken && armed_.load(std::memory_order_acquire) == next_ && state_->sleeping() &&
        usage_taken_.load(std::memory_order_acquire) != wanted) {
      if (!source_->wake(-1))
        return fail("write to the target fd (or the wake signal) failed", errno);
      woken = true;
    }
    ::sched_yield();
  }
  out = usage_;
  return true;
}

std::string WakeupRig::failure() const {
  return describe(failure_, failure_errno_);
}

void WakeupRig::stop() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  release(go_);
  // A byte wakes the waiter (a new edge for edge-triggered backends); repeated in case the
  // waiter was between waits and re-entered after the first one was drained.
  while (!exited_.load(std::memory_order_acquire)) {
    source_->wake(-1);
    sleep_ns(200'000);
  }
  thread_.join();
  source_->drain();
}

}  // namespace pollbench
