// io_uring poll backends: uring_oneshot (IORING_OP_POLL_ADD, re-armed after every completion)
// and uring_multishot (IORING_POLL_ADD_MULTI, re-armed only when a completion arrives without
// IORING_CQE_F_MORE). One class with a flag, like the two epoll rows. Needs liburing (2.3 is
// enough) and Linux 5.11+; without liburing the rows exist and say why they are unavailable.
//
// Kernel quirks this file handles (each checked by experiment on Linux 6.18):
//  a) io_uring poll semantics. A one-shot POLL_ADD checks readiness when it is issued: armed
//     on an fd with unread data it completes at once. Re-armed after every completion, it is
//     therefore level-triggered as seen from the caller (unread data is reported again at the
//     next wait). A multishot poll is edge-triggered: it completes at once if the fd is ready
//     when armed, then posts one CQE per wakeup — per write that arrives, unread data or not —
//     and nothing for data left unread. IORING_POLL_ADD_LEVEL with MULTI is refused (EINVAL),
//     so there is no level-triggered multishot poll to offer.
//  b) One CQE per wakeup, not per fd: two writes between waits give two CQEs for the same fd.
//     Every CQE is folded into a per-fd pending mask and a FIFO of fds (the user-space ready
//     list), so a wait reports each fd once and an event array that is too small leaves the
//     rest for the next wait, in order, none lost and none repeated. A CQE's mask is the one of
//     the moment it was posted: a wakeup that arrived after the wait that reported the fd is
//     reported by the next wait even if the caller has drained the fd since (epoll re-checks
//     readiness before reporting; io_uring does not). A spurious readiness, as the contract
//     allows any edge-triggered backend after new data arrived: read until EAGAIN.
//  c) Completions of a poll that was removed or modified can still be in the CQ (a multishot
//     removal ends with -ECANCELED; a one-shot poll may have completed before its POLL_REMOVE
//     ran, which then fails with -ENOENT). user_data carries slot and generation; modify() and
//     remove() bump the generation and stale CQEs are dropped. POLL_REMOVE's own CQE is
//     ignored.
//  d) io_uring does not know which fds a caller registered: an fd→slot index gives EEXIST and
//     ENOENT. Registration adds no syscall: add/modify/remove only write SQEs, and the next
//     wait submits them with the same io_uring_enter that reaps. Only a full SQ
//     (kSqEntries) forces an early submit.
//  e) The fd is checked when the SQE is issued, not at add(): an fd that is not open completes
//     with -EBADF and is reported as an error event at the next wait (and again after each
//     re-arm, like poll's POLLNVAL). An armed poll holds a reference to the file, so an fd
//     closed while registered reports nothing more (until the poll is re-armed: then EBADF).
//  f) Reaping needs no syscall: wait(0) with nothing to submit and CQEs already in the ring
//     reads them from shared memory. Otherwise one io_uring_enter submits, runs the completions
//     and (timeout != 0) waits, with the timeout in an IORING_ENTER_EXT_ARG timespec:
//     nanosecond resolution, never early. -ETIME and -EINTR return 0 (but see quirk k).
//  g) The CQ can overflow when many fds complete between waits (the kernel keeps the extra
//     CQEs and sets IORING_SQ_CQ_OVERFLOW): wait() flushes them with another io_uring_enter.
//     A multishot poll the kernel had to end (no F_MORE, e.g. -ECANCELED) is re-armed at the
//     next wait.
//  h) liburing's submit would make a syscall whenever it is called; wait() publishes the SQ
//     tail itself and calls io_uring_enter directly, so every wait makes at most one syscall
//     in the common case. No allocation on the wait path: the FIFO and the re-arm list grow in
//     add().
//  i) Closing a ring is finished by a kernel worker a few milliseconds later (5-50 ms here),
//     which then interrupts every thread that used the ring (task work, TWA_SIGNAL). That
//     thread's next blocking syscall is cut short: poll, ppoll and select restart by
//     themselves, but epoll_wait returns EINTR — so after a uring poller is destroyed, another
//     backend's blocking or bounded wait in the same thread can return 0 early, once (EINTR
//     returns 0, as the contract allows). Waiting for the interrupt in the destructor would
//     cost every destruction that long; a caller that needs a full wait waits again, or in a
//     thread that has used no ring (as the conformance suite does).
//  j) A poll request belongs to the task (thread) whose io_uring_enter submitted it. When that
//     thread exits, the kernel cancels its requests: each completes with -ECANCELED and no
//     IORING_CQE_F_MORE, and nothing is armed any more. So a poller that outlives the thread
//     that last waited on it (a benchmark rig's waiter, a thread pool) would report nothing
//     until its next wait re-armed — a bounded wait sleeping its whole timeout over ready
//     data, a blocking one forever, and a wait(0) would miss an fd that is ready now. Every
//     step of a wait (not only its start) re-arms what completed, and a step that reaped
//     cancelled polls and nothing to report re-arms and submits them at once (one more
//     io_uring_enter, on that path only: a re-armed poll on a ready fd completes inline).
//     The cancellation itself is finished by a kernel worker a moment after the thread has
//     gone (seen: a wait(0) right after the join found no CQE yet, under load): until its
//     CQEs arrive the poller cannot know, and a wait(0) can come back empty. A bounded or
//     blocking wait gets them and re-arms.
//  k) io_uring_enter returns the number of SQEs it submitted, if any, even when its wait then
//     ended with -EINTR or -ETIME: a signal during a wait that also submitted re-arms is
//     invisible in the return value. A wait that submitted, asked for a completion and got
//     none ended early for one of those two reasons: unbounded, it was a signal (return 0);
//     bounded, the clock tells (before the timeout: a signal; else the deadline loop ends it).
//     The clock is read only on that path.
#include <algorithm>
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

#include "backends/detail/uring.hpp"
#include "backends/poller.hpp"

#if POLLBENCH_HAVE_LIBURING
#include <liburing.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <vector>

#include "backends/detail/deadline.hpp"
#include "backends/detail/slot_table.hpp"
#endif

namespace pollbench {
namespace {

constexpr std::string_view kName = "io_uring";

#if POLLBENCH_HAVE_LIBURING

class UringPoller final : public Poller {
 public:
  explicit UringPoller(bool multishot) : multishot_(multishot) {
    if ((detail::init_ring(ring_, kSqEntries, kCqEntries, kName) & IORING_FEAT_EXT_ARG) == 0) {
      io_uring_queue_exit(&ring_);
      throw_errno(ENOSYS, kName, "io_uring without IORING_FEAT_EXT_ARG (needs Linux 5.11)");
    }
    // Quirk h: SQ slot i always holds SQE i, so publishing the tail is all a submit needs.
    for (unsigned i = 0; i < ring_.sq.ring_entries; ++i) ring_.sq.array[i] = i;
    rearm_.reserve(kMinRearm);
  }
  ~UringPoller() override { io_uring_queue_exit(&ring_); }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    const unsigned mask = to_poll_mask(interest);
    slots_.check_not_registered(fd, kName);
    const Index index = slots_.acquire();
    if (slots_.size() > rearm_.capacity()) rearm_.reserve(2 * slots_.size());
    Slot& s = slots_[index];
    // Keep gen (stale CQEs of a former user stay stale), in_rearm and queued (the lists may
    // still hold this index: quirk c).
    s.fd = fd;
    s.token = token;
    s.mask = mask;
    s.live = true;
    s.pending = 0;
    s.error = false;
    slots_.map(fd, index);
    arm(index);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const Index index = slots_.registered(fd, kName, "modify");
    const unsigned mask = to_poll_mask(interest);
    Slot& s = slots_[index];
    // Remove + add (quirk c): a poll update would fail with ENOENT for a one-shot poll that
    // has just completed, leaving nothing armed.
    if (s.armed) remove_poll(s, index);
    ++s.gen;
    s.token = token;
    s.mask = mask;
    s.pending = 0;
    s.error = false;
    arm(index);
  }

  void do_remove(int fd) override {
    const Index index = slots_.registered(fd, kName, "remove");
    Slot& s = slots_[index];
    if (s.armed) remove_poll(s, index);
    ++s.gen;
    s.live = false;
    s.fd = -1;
    s.pending = 0;
    s.error = false;
    slots_.unmap(fd);
    slots_.release(index);
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    if (events.empty()) return 0;
    int failed = 0;
    detail::step_until_deadline(timeout, [&](std::chrono::nanoseconds left) {
      rearm_completed();  // quirk j: every step, not only the first
      const unsigned to_submit = flush_sq();
      const bool idle = !slots_.has_ready() && io_uring_cq_ready(&ring_) == 0;
      const unsigned min_complete = (idle && left.count() != 0) ? 1 : 0;
      if (to_submit == 0 && min_complete == 0 && !cq_overflowed()) {
        reap_and_rearm_cancelled();
        return slots_.has_ready();
      }
      const bool bounded = min_complete > 0 && left.count() > 0;
      // Quirk k: only a wait that also submits can lose its -EINTR.
      const bool may_lose_eintr = min_complete > 0 && to_submit > 0;
      const auto start = (bounded && may_lose_eintr) ? Clock::now() : Clock::time_point{};
      const int rc = enter(to_submit, min_complete, bounded ? &left : nullptr);
      if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        failed = rc;
        return true;
      }
      const unsigned reaped = reap_and_rearm_cancelled();
      if (rc == -EINTR) return true;
      if (may_lose_eintr && rc >= 0 && reaped == 0) {
        // Nothing completed, yet the wait ended: a signal, or (bounded) the timeout.
        return !bounded || Clock::now() - start < left;
      }
      return slots_.has_ready();
    });
    return failed != 0 ? failed : deliver(events);
  }

 private:
  static constexpr unsigned kSqEntries = 4096;
  static constexpr unsigned kCqEntries = 16384;
  static constexpr std::size_t kMinRearm = 64;
  static constexpr std::uint64_t kIgnore = ~0ULL;  // POLL_REMOVE's own CQE
  using Clock = std::chrono::steady_clock;

  struct Slot {
    int fd = -1;
    std::uint64_t token = 0;
    unsigned mask = 0;      // POLLIN / POLLOUT
    std::uint32_t gen = 0;  // in user_data; bumped by modify and remove
    unsigned pending = 0;   // poll bits gathered since the fd was last reported
    bool error = false;     // a completion with an error since then
    bool live = false;
    bool armed = false;     // a poll of this generation is queued or in the kernel
    bool in_rearm = false;  // on rearm_
    bool queued = false;    // on the FIFO
  };
  using Slots = detail::SlotTable<Slot>;
  using Index = Slots::Index;

  static unsigned to_poll_mask(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    unsigned mask = 0;
    if ((interest & kReadable) != 0) mask |= POLLIN | POLLRDHUP;
    if ((interest & kWritable) != 0) mask |= POLLOUT;
    return mask;
  }

  static std::uint64_t user_data(std::uint32_t index, std::uint32_t gen) {
    return (static_cast<std::uint64_t>(gen) << 32U) | index;
  }

  void prep_poll(io_uring_sqe* sqe, std::uint32_t index) {
    Slot& s = slots_[index];
    if (multishot_) {
      io_uring_prep_poll_multishot(sqe, s.fd, s.mask);
    } else {
      io_uring_prep_poll_add(sqe, s.fd, s.mask);
    }
    io_uring_sqe_set_data64(sqe, user_data(index, s.gen));
    s.armed = true;
  }

  // Queues the poll, or (the kernel refused an early submit) leaves it to the next wait.
  void arm(std::uint32_t index) noexcept {
    if (io_uring_sqe* sqe = get_sqe()) {
      prep_poll(sqe, index);
    } else {
      schedule_rearm(index);
    }
  }

  void schedule_rearm(std::uint32_t index) noexcept {
    Slot& s = slots_[index];
    s.armed = false;
    if (!s.in_rearm) {
      s.in_rearm = true;
      rearm_.push_back(index);  // at most one entry per slot: capacity reserved in add()
    }
  }

  // Throws before changing anything if no SQE can be had, so the poll stays as it was.
  void remove_poll(Slot& s, std::uint32_t index) {
    io_uring_sqe* sqe = get_sqe();
    if (sqe == nullptr) throw_errno(EBUSY, kName, "io_uring_enter: submission queue full");
    io_uring_prep_poll_remove(sqe, user_data(index, s.gen));
    io_uring_sqe_set_data64(sqe, kIgnore);
    s.armed = false;
  }

  // An SQE, submitting what is queued first if the SQ is full (quirk d). nullptr if the
  // kernel takes nothing.
  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe != nullptr) return sqe;
    const unsigned to_submit = flush_sq();
    if (enter(to_submit, 0, nullptr) < 0) return nullptr;
    return io_uring_get_sqe(&ring_);
  }

  // Quirk h: what liburing's submit does before its syscall.
  unsigned flush_sq() noexcept {
    io_uring_sq& sq = ring_.sq;
    const unsigned tail = sq.sqe_tail;
    if (sq.sqe_head != tail) {
      sq.sqe_head = tail;
      io_uring_smp_store_release(sq.ktail, tail);
    }
    return tail - io_uring_smp_load_acquire(sq.khead);
  }

  bool cq_overflowed() const noexcept {
    return (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW) != 0;
  }

  // One io_uring_enter: submit, run completions, wait for min_complete (at most *timeout).
  // Returns >= 0 or -errno.
  int enter(unsigned to_submit, unsigned min_complete,
            const std::chrono::nanoseconds* timeout) noexcept {
    unsigned flags = IORING_ENTER_GETEVENTS;
    __kernel_timespec ts{};
    io_uring_getevents_arg arg{};
    void* argp = nullptr;
    std::size_t argsz = 0;
    if (timeout != nullptr) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
      arg.sigmask_sz = _NSIG / 8;
      arg.ts = reinterpret_cast<std::uint64_t>(&ts);
      argp = &arg;
      argsz = sizeof arg;
      flags |= IORING_ENTER_EXT_ARG;
    }
    const long rc =
        ::syscall(__NR_io_uring_enter, ring_.ring_fd, to_submit, min_complete, flags, argp, argsz);
    return rc < 0 ? -errno : static_cast<int>(rc);
  }

  // Every CQE into the pending masks and the FIFO (quirk b), overflow included (quirk g).
  // Returns how many CQEs it read.
  unsigned reap() noexcept {
    unsigned total = 0;
    for (;;) {
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        on_cqe(cqe->user_data, cqe->res, cqe->flags);
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      total += seen;
      if (!cq_overflowed() || enter(0, 0, nullptr) < 0 || io_uring_cq_ready(&ring_) == 0) {
        return total;
      }
    }
  }

  // Quirk j: polls the kernel cancelled (their thread exited) are re-armed at once, so that
  // even a wait(0) sees an fd that is ready now. Only on that path: one more io_uring_enter.
  unsigned reap_and_rearm_cancelled() noexcept {
    unsigned reaped = reap();
    if (cancelled_ && !slots_.has_ready()) {
      cancelled_ = false;
      rearm_completed();
      const unsigned to_submit = flush_sq();
      if (to_submit > 0 && enter(to_submit, 0, nullptr) >= 0) reaped += reap();
    }
    return reaped;
  }

  void on_cqe(std::uint64_t ud, int res, unsigned flags) noexcept {
    if (ud == kIgnore) return;
    const auto index = static_cast<std::uint32_t>(ud & 0xFFFF'FFFFU);
    const auto gen = static_cast<std::uint32_t>(ud >> 32U);
    if (index >= slots_.size()) return;
    Slot& s = slots_[index];
    if (!s.live || s.gen != gen) return;  // quirk c
    // One-shot, or a multishot poll that ended: re-armed by the next wait.
    if ((flags & IORING_CQE_F_MORE) == 0) schedule_rearm(index);
    if (res == -ECANCELED) {  // quirk j
      cancelled_ = true;
      return;
    }
    if (res < 0) {
      s.error = true;
    } else {
      s.pending |= static_cast<unsigned>(res);
    }
    slots_.push_ready(index);
  }

  void rearm_completed() noexcept {
    std::size_t i = 0;
    for (; i < rearm_.size(); ++i) {
      Slot& s = slots_[rearm_[i]];
      if (s.live && !s.armed) {
        io_uring_sqe* sqe = get_sqe();
        if (sqe == nullptr) break;  // the kernel refused a submit: keep the rest for later
        prep_poll(sqe, rearm_[i]);
      }
      s.in_rearm = false;
    }
    rearm_.erase(rearm_.begin(), rearm_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  int deliver(std::span<Event> events) noexcept {
    std::size_t n = 0;
    while (n < events.size() && slots_.has_ready()) {
      Slot& s = slots_.pop_ready();
      if (!s.live || (s.pending == 0 && !s.error)) continue;
      events[n++] = Event{.token = s.token,
                          .readable = (s.pending & POLLIN) != 0,
                          .writable = (s.pending & POLLOUT) != 0,
                          .hangup = (s.pending & (POLLHUP | POLLRDHUP)) != 0,
                          .error = s.error || (s.pending & (POLLERR | POLLNVAL)) != 0};
      s.pending = 0;
      s.error = false;
    }
    return static_cast<int>(n);
  }

  bool multishot_;
  bool cancelled_ = false;  // a poll was cancelled by the kernel since the last re-arm
  io_uring ring_{};
  Slots slots_;                       // its FIFO is the user-space ready list (quirk b)
  std::vector<std::uint32_t> rearm_;  // slots whose poll completed for good
};

#endif  // POLLBENCH_HAVE_LIBURING

std::unique_ptr<Poller> make_uring_poller(bool multishot) {
  detail::check_io_uring_enabled();
#if POLLBENCH_HAVE_LIBURING
  return std::make_unique<UringPoller>(multishot);
#else
  (void)multishot;
  throw_errno(ENOSYS, kName, "built without liburing (install liburing-dev and re-run cmake)");
#endif
}

}  // namespace

std::unique_ptr<Poller> make_uring_oneshot_poller() {
  return make_uring_poller(false);
}
std::unique_ptr<Poller> make_uring_multishot_poller() {
  return make_uring_poller(true);
}

}  // namespace pollbench
