// libevent reference backends: libevent_epoll, libevent_poll, libevent_select. The Poller
// interface on a libevent event_base forced to one method (event_config_avoid_method for all
// the others), one persistent event (EV_PERSIST) per fd whose callback fills the caller's
// event array; wait() is event_base_loop(EVLOOP_ONCE), plus EVLOOP_NONBLOCK for timeout 0.
// They show what a real event library costs on top of the mechanism it wraps. Built when
// pkg-config finds libevent_core (Debian: libevent-dev); otherwise listed as unavailable.
//
// Kernel and library quirks this file handles:
//  a) libevent lets several events watch one fd, so it never says EEXIST; an fd→slot index
//     gives EEXIST and ENOENT here, without a syscall.
//  b) A callback runs once per ready event per loop pass, for every ready fd, however small
//     the caller's array: what does not fit is kept and reported first by the next wait, which
//     then makes a non-blocking pass for the rest of its array (detail/event_fill.hpp). Such a
//     kept event can be stale if the caller read the fd by other means meanwhile.
//  c) libevent's epoll backend starts with room for 32 epoll_events per dispatch (doubling
//     up to 4,096 each time a dispatch fills it), so one loop pass can miss ready fds the
//     caller's array has room for. When a pass ran 32 callbacks or more, wait() runs further
//     non-blocking passes (an epoll_wait each) until one brings no new fd; an fd reported
//     again in the same wait is merged into its first event.
//  d) libevent reports no hangup and no error: EPOLLHUP/EPOLLERR and POLLHUP/POLLERR become
//     EV_READ (and EV_WRITE). A peer close shows as readable (read() gives 0), the contract's
//     fallback.
//  e) An fd that is not open: over epoll, event_add fails with EBADF (from epoll_ctl), as
//     epoll_lt. Over select, one closed fd fails the whole select() with EBADF and
//     event_base_loop with -1, every time: wait() then finds the closed fds (F_GETFD, error
//     path only) and reports them as error events, as the select backend does. Over poll,
//     POLLNVAL becomes EV_READ: the fd is reported readable, not as an error — libevent_poll's
//     registry row declares bad_fd_error = false.
//  f) libevent's select backend grows its fd_sets past FD_SETSIZE, but a libevent built with
//     _FORTIFY_SOURCE (Debian's is) aborts the process in FD_SET for an fd >= 1024 ("bit out
//     of range 0 - FD_SETSIZE on fd_set"). add() refuses such fds with ERANGE, as select
//     does; libevent_select's row says max_fd FD_SETSIZE - 1 and cost O(highest fd).
//  g) Timeouts: the base keeps libevent's default clock, CLOCK_MONOTONIC_COARSE (no
//     EVENT_BASE_FLAG_PRECISE_TIMER, see j), and a coarse clock can fire a timer early. The
//     timeout is a one-shot timer event (rounded up to libevent's microseconds, and epoll/poll
//     round that up to milliseconds), and wait() loops on its own steady clock until the
//     deadline, so it never returns early. The timeout scenario therefore measures these rows
//     as their users run them: a timeout is late by up to a millisecond plus a coarse tick,
//     like epoll_lt's millisecond rounding, not by libevent's precise-timer figure.
//  h) A signal does not end a wait: libevent's dispatch retries after EINTR by itself.
//  i) Allocation on the wait path that this file cannot prevent: libevent's epoll backend
//     doubles its epoll_event array (up to 4,096) when a dispatch fills it, and the select
//     backend grows its output fd_sets as fds grow. Both stop after warm-up; this file's own
//     wait path does not allocate. libevent's warnings (to stderr, inside the loop) are
//     silenced with event_set_log_callback.
//  j) Configuration: libevent's defaults, as a program that calls event_base_new() and its own
//     test/bench.c run it, except for the method (event_config_avoid_method for every other
//     one: the row is the method it names) and two flags that change nothing a default
//     program sees: EVENT_BASE_FLAG_NOLOCK (a base has no lock unless the program called
//     evthread_use_pthreads(), which this one never does) and EVENT_BASE_FLAG_IGNORE_ENV (so
//     that EVENT_NOEPOLL or EVENT_PRECISE_TIMER in the environment cannot change what a row
//     measures). Not EVENT_BASE_FLAG_PRECISE_TIMER: with it, libevent 2.1's epoll backend
//     arms a timerfd with timerfd_settime on every dispatch, a fourth syscall per event that
//     a default base never makes (the syscall count check, tests/syscalls, guards this).
//  k) An fd closed while registered, while a dup keeps its file open: epoll keeps the
//     registration (epoll_poller.cpp, quirk b), but libevent's event_del ignores the EBADF of
//     its EPOLL_CTL_DEL and forgets the fd. From then on every epoll_wait returns at once with
//     an fd libevent has no event for, and event_base_loop(EVLOOP_ONCE) spins until a timer
//     ends it (a wait(100 ms) burns its 100 ms on the CPU; a wait(-1) never ends). Checking
//     the fd in remove() would cost every remove a syscall that libevent users do not make, so
//     libevent_epoll's row declares survives_close_while_file_open = false. Remove before
//     close. (Over poll and select the registration is the fd number: nothing outlives it.)
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

#include "backends/poller.hpp"

#if POLLBENCH_HAVE_LIBEVENT
#include <event2/event.h>
#include <fcntl.h>
#include <sys/select.h>

#include <array>
#include <chrono>
#include <mutex>
#include <vector>

#include "backends/detail/deadline.hpp"
#include "backends/detail/event_fill.hpp"
#include "backends/detail/fd_set_limit.hpp"
#include "backends/detail/slot_table.hpp"
#endif

namespace pollbench {
namespace {

constexpr std::string_view kName = "libevent";

// The method libevent is forced to use; its name is libevent's (event_base_get_method).
enum class Method : std::uint8_t { kEpoll, kPoll, kSelect };

#if POLLBENCH_HAVE_LIBEVENT

// Every method libevent knows, the three of Method first.
constexpr std::array<const char*, 7> kMethods = {"epoll",  "poll",   "select", "devpoll",
                                                 "kqueue", "evport", "win32"};

void silence_libevent() {
  static std::once_flag once;
  std::call_once(once, [] { event_set_log_callback([](int, const char*) {}); });
}

class LibeventPoller final : public Poller {
 public:
  explicit LibeventPoller(Method method)
      : epoll_(method == Method::kEpoll),
        max_fd_(method == Method::kSelect ? detail::kFdSetMaxFd : INT_MAX) {
    silence_libevent();
    const std::string_view wanted = kMethods[static_cast<std::size_t>(method)];
    event_config* cfg = event_config_new();
    if (cfg == nullptr) throw_errno(ENOMEM, kName, "event_config_new");
    for (const char* m : kMethods) {
      if (wanted != m) event_config_avoid_method(cfg, m);
    }
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_IGNORE_ENV);  // quirk j
    base_ = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (base_ == nullptr) throw_errno(ENOSYS, kName, "event_base_new_with_config");
    if (wanted != event_base_get_method(base_)) {
      event_base_free(base_);
      throw_errno(ENOSYS, kName, "event_base_get_method: not the method asked for");
    }
    timer_ = evtimer_new(
        base_, [](evutil_socket_t, short, void*) {}, nullptr);
    if (timer_ == nullptr) {
      event_base_free(base_);
      throw_errno(ENOMEM, kName, "evtimer_new");
    }
  }

  ~LibeventPoller() override {
    for (Index i = 0; i < slots_.size(); ++i) {
      if (slots_[i].ev != nullptr) event_free(slots_[i].ev);
    }
    event_free(timer_);
    event_base_free(base_);
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    if (fd > max_fd_) throw_bad_fd_range(kName, fd, max_fd_);  // quirk f
    const short what = to_libevent(interest);
    slots_.check_not_registered(fd, kName);
    const Index index = slots_.acquire();
    Slot& s = slots_[index];
    s.owner = this;
    s.ev = event_new(base_, fd, what, on_ready, &s);
    if (s.ev == nullptr) {
      slots_.release(index);
      throw_errno(ENOMEM, kName, "event_new");
    }
    errno = 0;
    if (event_add(s.ev, nullptr) != 0) {
      const int err = errno != 0 ? errno : EINVAL;  // quirk e: epoll_ctl's errno
      event_free(s.ev);
      s.ev = nullptr;
      slots_.release(index);
      throw_errno(err, kName, "event_add");
    }
    s.fd = fd;
    s.token = token;
    Fill::forget(s);
    slots_.map(fd, index);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const Index index = slots_.registered(fd, kName, "modify");
    const short what = to_libevent(interest);
    Slot& s = slots_[index];
    // libevent cannot change an added event's flags: delete, re-assign, add.
    event_del(s.ev);
    event_assign(s.ev, base_, fd, what, on_ready, &s);
    errno = 0;
    if (event_add(s.ev, nullptr) != 0) {
      const int err = errno != 0 ? errno : EINVAL;
      drop(fd, index);
      throw_errno(err, kName, "modify: event_add");
    }
    s.token = token;
    Fill::forget(s);
  }

  void do_remove(int fd) override {
    const Index index = slots_.registered(fd, kName, "remove");
    drop(fd, index);
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    if (events.empty()) return 0;
    fill_.start(events);
    fill_.deliver_kept(slots_);  // quirk b
    if (fill_.count() > 0) {
      // A failed pass is the next wait's to report: these events are due now.
      if (fill_.needs_pass() && pass(EVLOOP_ONCE | EVLOOP_NONBLOCK) < 0) {
        return static_cast<int>(fill_.count());
      }
      return fill_more();
    }

    const int flags = timeout.count() == 0 ? EVLOOP_ONCE | EVLOOP_NONBLOCK : EVLOOP_ONCE;
    int failed = 0;
    detail::step_until_deadline(timeout, [&](std::chrono::nanoseconds left) {
      const bool bounded = left.count() > 0;
      if (bounded) {
        const std::int64_t us = (left.count() + 999) / 1000;
        const timeval tv{.tv_sec = static_cast<time_t>(us / 1'000'000),
                         .tv_usec = static_cast<suseconds_t>(us % 1'000'000)};
        evtimer_add(timer_, &tv);
      }
      const int rc = pass(flags);
      if (bounded) evtimer_del(timer_);
      if (rc < 0) failed = rc;
      return rc < 0 || fill_.count() > 0 || rc == 1;  // 1: nothing registered
    });
    if (failed < 0) return failed;
    return fill_more();
  }

 private:
  static constexpr std::size_t kEpollFirstBatch = 32;  // libevent's INITIAL_NEVENT

  struct Slot {
    LibeventPoller* owner = nullptr;
    event* ev = nullptr;
    int fd = -1;
    std::uint64_t token = 0;
    detail::FillMark fill;    // quirks b and c
    bool queued = false;      // on the FIFO
    std::uint32_t index = 0;  // in slots_ (set by slots_)
  };
  using Slots = detail::SlotTable<Slot, detail::SlotAddress::kStable>;  // &Slot: callback arg
  using Index = Slots::Index;
  using Fill = detail::EventFill<Slots>;

  static short to_libevent(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    short what = EV_PERSIST;
    if ((interest & kReadable) != 0) what |= EV_READ;
    if ((interest & kWritable) != 0) what |= EV_WRITE;
    return what;
  }

  void drop(int fd, Index index) {
    Slot& s = slots_[index];
    event_free(s.ev);  // event_del included
    s.ev = nullptr;
    s.fd = -1;
    Fill::forget(s);  // a FIFO entry, if any, is skipped
    slots_.unmap(fd);
    slots_.release(index);
  }

  static void on_ready(evutil_socket_t, short what, void* arg) {
    auto& s = *static_cast<Slot*>(arg);
    s.owner->fill_.collect(s.owner->slots_, s, make_event(what));
  }

  // Quirk c: libevent's epoll may have left ready fds out of the last pass.
  int fill_more() noexcept {
    while (epoll_ && fill_.may_have_more(kEpollFirstBatch)) {
      const int rc = pass(EVLOOP_ONCE | EVLOOP_NONBLOCK);
      if (rc < 0) return rc;
    }
    return static_cast<int>(fill_.count());
  }

  // One event_base_loop pass: >= 0 as event_base_loop, or -errno.
  int pass(int flags) noexcept {
    fill_.start_pass();
    errno = 0;
    const int rc = event_base_loop(base_, flags);
    const int err = errno;
    if (rc >= 0) return rc;
    if (err == EBADF) {  // quirk e
      return report_closed_fds() ? 0 : -EBADF;
    }
    return -(err != 0 ? err : EIO);
  }

  static Event make_event(short what) {
    return Event{.readable = (what & EV_READ) != 0, .writable = (what & EV_WRITE) != 0};
  }

  // Quirk e, select only: the error path after select(2) failed with EBADF.
  bool report_closed_fds() noexcept {
    bool any = false;
    for (Index i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      if (s.fd < 0 || ::fcntl(s.fd, F_GETFD) != -1 || errno != EBADF) continue;
      if (!fill_.append(Event{.token = s.token, .error = true})) break;
      any = true;
    }
    return any;
  }

  event_base* base_ = nullptr;
  event* timer_ = nullptr;
  Slots slots_;  // its FIFO: the events that did not fit (quirk b)
  Fill fill_;
  bool epoll_;
  int max_fd_;  // quirk f
};

#endif  // POLLBENCH_HAVE_LIBEVENT

std::unique_ptr<Poller> make_libevent_poller(Method method) {
#if POLLBENCH_HAVE_LIBEVENT
  return std::make_unique<LibeventPoller>(method);
#else
  (void)method;
  throw_errno(ENOSYS, kName, "built without libevent (install libevent-dev and re-run cmake)");
#endif
}

}  // namespace

std::unique_ptr<Poller> make_libevent_epoll_poller() {
  return make_libevent_poller(Method::kEpoll);
}
std::unique_ptr<Poller> make_libevent_poll_poller() {
  return make_libevent_poller(Method::kPoll);
}
std::unique_ptr<Poller> make_libevent_select_poller() {
  return make_libevent_poller(Method::kSelect);
}

}  // namespace pollbench
