#include "harness/herd_rig.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "harness/cpus.hpp"

namespace pollbench {

using rig_detail::await_release;
using rig_detail::await_tid;
using rig_detail::current_tid;
using rig_detail::describe;
using rig_detail::kPatienceNs;
using rig_detail::release;
using rig_detail::sleep_ns;
using rig_detail::throw_sys;

class HerdRig::Wait {
 public:
  Wait() = default;
  Wait(const Wait&) = delete;
  Wait& operator=(const Wait&) = delete;
  Wait(Wait&&) = delete;
  Wait& operator=(Wait&&) = delete;
  virtual ~Wait() = default;
  // Blocks until something is reported: > 0 events, 0 for a signal, < 0 a negative errno.
  virtual int wait() noexcept = 0;
};

namespace {

class PollerWait final : public HerdRig::Wait {
 public:
  PollerWait(std::unique_ptr<Poller> poller, int fd) : poller_(std::move(poller)) {
    poller_->add(fd, kReadable, 0);
  }
  int wait() noexcept override { return poller_->wait(events_, std::chrono::nanoseconds{-1}); }

 private:
  std::unique_ptr<Poller> poller_;
  std::array<Event, 4> events_{};
};

class SharedEpollWait final : public HerdRig::Wait {
 public:
  explicit SharedEpollWait(int epfd) : epfd_(epfd) {}
  int wait() noexcept override {
    const int got = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), -1);
    if (got < 0) return errno == EINTR ? 0 : -errno;
    return got;
  }

 private:
  int epfd_;
  std::array<epoll_event, 4> events_{};
};

}  // namespace

HerdRig::HerdRig(const FdPool& pool, std::size_t pair, std::vector<int> waiter_cpus)
    : pool_(pool), pair_(pair), waiter_cpus_(std::move(waiter_cpus)) {}

std::unique_ptr<HerdRig> HerdRig::per_waiter(const FdPool& pool, std::size_t pair,
                                             std::size_t waiters, std::unique_ptr<Poller> (*make)(),
                                             std::vector<int> waiter_cpus) {
  // NOLINTNEXTLINE(modernize-make-unique): the constructor is private
  std::unique_ptr<HerdRig> rig(new HerdRig(pool, pair, std::move(waiter_cpus)));
  std::vector<std::unique_ptr<Wait>> waits;
  for (std::size_t w = 0; w < waiters; ++w) {
    waits.push_back(std::make_unique<PollerWait>(make(), pool.polled_fd(pair)));
  }
  rig->start(std::move(waits));
  return rig;
}

std::unique_ptr<HerdRig> HerdRig::shared_epoll(const FdPool& pool, std::size_t pair,
                                               std::size_t waiters, bool edge_triggered,
                                               std::vector<int> waiter_cpus) {
  // NOLINTNEXTLINE(modernize-make-unique): the constructor is private
  std::unique_ptr<HerdRig> rig(new HerdRig(pool, pair, std::move(waiter_cpus)));
  rig->shared_epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!rig->shared_epfd_) throw_sys(errno, "herd_shared: epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN | (edge_triggered ? EPOLLET : 0U);
  ev.data.u64 = 0;
  if (::epoll_ctl(rig->shared_epfd_.get(), EPOLL_CTL_ADD, pool.polled_fd(pair), &ev) != 0) {
    throw_sys(errno, "herd_shared: epoll_ctl(ADD)");
  }
  std::vector<std::unique_ptr<Wait>> waits;
  for (std::size_t w = 0; w < waiters; ++w) {
    waits.push_back(std::make_unique<SharedEpollWait>(rig->shared_epfd_.get()));
  }
  rig->start(std::move(waits));
  return rig;
}

void HerdRig::start(std::vector<std::unique_ptr<Wait>> waits) {
  if (waits.empty()) throw_sys(EINVAL, "herd rig: no waiters");
  waits_ = std::move(waits);
  slots_ = std::make_unique<Slot[]>(waits_.size());  // NOLINT(modernize-avoid-c-arrays)
  threads_.reserve(waits_.size());
  try {
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      threads_.emplace_back([this, w] { waiter(w); });
    }
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      slots_[w].state = std::make_unique<ThreadState>(await_tid(slots_[w].tid));
      // Placed before the release: every wait runs where it was put.
      if (!waiter_cpus_.empty()) place_thread(threads_[w].native_handle(), waiter_cpus_);
    }
  } catch (...) {
    stop();
    throw;
  }
  release(go_);
}

HerdRig::~HerdRig() {
  stop();
}

void HerdRig::waiter(std::size_t w) noexcept {
  Slot& slot = slots_[w];
  Wait& wait = *waits_[w];
  slot.tid.store(current_tid(), std::memory_order_release);
  await_release(go_);  // watched before the first wait
  while (!stop_.load(std::memory_order_acquire)) {
    slot.waiting.store(true, std::memory_order_release);
    const int got = wait.wait();
    const std::int64_t now = monotonic_ns();
    slot.waiting.store(false, std::memory_order_release);
    if (stop_.load(std::memory_order_acquire)) break;
    if (got < 0) {
      wait_error_.store(got, std::memory_order_release);
      break;
    }
    if (got == 0) continue;  // a signal
    // The driver writes round r's byte only while every waiter sleeps, and moves round_ on only
    // when every waiter sleeps again: the round read here is the one whose byte woke us.
    const std::uint32_t r = round_.load(std::memory_order_acquire);
    slot.return_ns.store(now, std::memory_order_relaxed);
    slot.round.store(r, std::memory_order_release);
    // Not again before the byte is drained: a level-triggered wait would return at once.
    for (std::uint32_t d = drained_.load(std::memory_order_acquire); d < r && !stop_.load();
         d = drained_.load(std::memory_order_acquire)) {
      drained_.wait(d, std::memory_order_acquire);
    }
  }
  exited_.fetch_add(1, std::memory_order_acq_rel);
}

bool HerdRig::fail(const char* why, int err) noexcept {
  failure_ = why;
  failure_errno_ = err;
  return false;
}

void HerdRig::reset(std::size_t max_rounds) {
  rounds_ = 0;
  woken_ = 0;
  first_returns_.clear();
  first_returns_.reserve(max_rounds);
}

bool HerdRig::all_asleep() noexcept {
  const std::int64_t deadline = monotonic_ns() + kPatienceNs;
  for (std::size_t w = 0; w < waits_.size(); ++w) {
    while (!slots_[w].waiting.load(std::memory_order_acquire) || !slots_[w].state->sleeping()) {
      if (exited_.load(std::memory_order_acquire) != 0) {
        return fail("a waiter's wait failed", -wait_error_.load(std::memory_order_acquire));
      }
      if (monotonic_ns() > deadline) {
        return fail("a waiter did not go back to sleep in its wait within 2 s");
      }
      ::sched_yield();
    }
  }
  return true;
}

void HerdRig::tally() noexcept {
  if (!pending_) return;
  pending_ = false;
  const std::uint32_t r = round_.load(std::memory_order_relaxed);
  std::size_t woken = 0;
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (std::size_t w = 0; w < waits_.size(); ++w) {
    if (slots_[w].round.load(std::memory_order_acquire) != r) continue;
    ++woken;
    first = std::min(first, slots_[w].return_ns.load(std::memory_order_relaxed));
  }
  ++rounds_;
  woken_ += woken;
  if (woken > 0 && first_returns_.size() < first_returns_.capacity()) {
    first_returns_.push_back(first - write_ns_);  // room made by reset(): no allocation
  }
}

bool HerdRig::round(std::chrono::nanoseconds settle) noexcept {
  if (!all_asleep()) return false;
  tally();
  const std::uint32_t r = round_.load(std::memory_order_relaxed) + 1;
  round_.store(r, std::memory_order_release);
  pending_ = true;
  write_ns_ = monotonic_ns();
  if (!pool_.make_ready(pair_)) return fail("write to the herd fd failed", errno);
  const std::int64_t settle_end = write_ns_ + settle.count();
  const std::int64_t deadline = write_ns_ + kPatienceNs;
  while (true) {
    std::size_t returned = 0;
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      returned += static_cast<std::size_t>(slots_[w].round.load(std::memory_order_acquire) == r);
    }
    if (returned == waits_.size()) break;
    const std::int64_t now = monotonic_ns();
    if (returned > 0 && now >= settle_end) break;
    if (now > deadline) return fail("no waiter returned within 2 s of the write (lost event)");
    sleep_ns(20'000);  // leave the CPUs to the waiters
  }
  pool_.drain(pair_);
  drained_.store(r, std::memory_order_release);
  drained_.notify_all();
  return true;
}

bool HerdRig::finish() noexcept {
  if (!all_asleep()) return false;
  tally();
  return true;
}

std::string HerdRig::failure() const {
  return describe(failure_, failure_errno_);
}

void HerdRig::stop() noexcept {
  if (threads_.empty()) return;
  stop_.store(true, std::memory_order_release);
  release(go_);
  drained_.store(std::numeric_limits<std::uint32_t>::max(), std::memory_order_release);
  drained_.notify_all();
  // One byte wakes at least one waiter (EPOLLEXCLUSIVE and edge-triggered shared waits wake
  // one per write), so write until all have left.
  std::size_t running = 0;
  for (const std::thread& t : threads_) running += static_cast<std::size_t>(t.joinable());
  while (exited_.load(std::memory_order_acquire) < running) {
    pool_.make_ready(pair_);
    sleep_ns(200'000);
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  pool_.drain(pair_);
}

}  // namespace pollbench
