// libev reference backends: libev_epoll, libev_poll, libev_select, libev_uring. The Poller
// interface on a libev loop (ev_loop_new with one backend flag), one ev_io watcher per fd
// whose callback fills the caller's event array; wait() is ev_run(EVRUN_NOWAIT) for timeout
// 0 and ev_run(EVRUN_ONCE) otherwise (with an ev_timer for a bounded timeout). libev is the
// library whose author published the best-known comparison with libevent (its own bench.c);
// these rows set it beside libevent and libuv. Built when libev's header and library are
// found (Debian: libev-dev, which ships no pkg-config file); otherwise listed as unavailable.
//
// Kernel and library quirks this file handles (libev 4.33):
//  a) Configuration: libev's defaults, as a program that calls ev_loop_new(0) runs it, except
//     the backend (EVBACKEND_EPOLL, _POLL, _SELECT or _IOURING: the row is the backend it
//     names) and EVFLAG_NOENV, so that LIBEV_FLAGS in the environment cannot swap the backend
//     under a row. Not the default loop (ev_default_loop): it installs a SIGCHLD handler
//     and there is one per process.
//  b) ev_io_start makes no syscall: libev queues the change and applies it (epoll_ctl, or its
//     poll/select arrays) at the start of the next ev_run. So libev never says EEXIST or
//     ENOENT (an fd→slot index gives them here, without a syscall). An fd that is not open is
//     a programming error to libev, and Debian's build keeps libev's assert()s: over epoll
//     (epoll_ctl's EBADF at the next ev_run) and poll (POLLNVAL) libev aborts the process.
//     add() therefore probes the fd with fcntl(F_GETFD) over epoll and poll — one syscall per
//     add that libev does not make — and refuses a closed fd with EBADF, as epoll_lt does;
//     an fd closed after add() and before remove() still aborts the process, so those rows
//     declare survives_close_while_registered = false. Over select libev handles it: select's
//     EBADF makes it probe every fd with fcntl, stop the closed ones' watchers and call them
//     back with EV_ERROR. The callback starts such a watcher again, so that the next pass
//     finds the fd again: it is reported with `error` at every wait until it is removed, as
//     the contract says of select (one select(2) that fails and an fcntl per registered fd
//     per wait, on this error path only).
//  c) libev's epoll backend reads 64 epoll_events per epoll_wait to start with (it grows the
//     array when one fills), so one loop pass can miss ready fds the caller's array has room
//     for. When a pass ran 64 callbacks or more, wait() runs further non-blocking passes
//     until one brings no new fd; an fd reported again in the same wait is merged into its
//     first event. The poll and select backends report every ready fd in one pass.
//  d) A callback runs once per ready watcher per loop pass, however small the caller's array:
//     what does not fit is kept and reported first by the next wait, which then makes a
//     non-blocking pass for the rest of its array (detail/event_fill.hpp). A kept event can be
//     stale if the caller read the fd by other means meanwhile.
//  e) libev reports no hangup and no socket error: EPOLLHUP/EPOLLERR and POLLHUP/POLLERR
//     become EV_READ (and EV_WRITE). A peer close shows as readable (read() gives 0), the
//     contract's fallback; a socket error shows as readable (recv() gives the error).
//  f) libev's select backend on Linux does not use fd_set: it keeps its own bit vectors,
//     grown to the highest fd, and passes them to select(2), so fds above FD_SETSIZE work
//     (no FD_SET, no _FORTIFY_SOURCE abort) — unlike select(2) with fd_set and libevent's
//     select backend. libev_select's row has no fd limit; its cost is O(highest fd).
//  g) Timeouts: an ev_timer on libev's loop clock (CLOCK_MONOTONIC), refreshed with
//     ev_now_update before it is set (the cached time of the last pass can be old); epoll
//     and poll round the wait up to milliseconds. libev also caps every block at about 60 s
//     (MAX_BLOCKTIME) and returns from EVRUN_ONCE with nothing to report then, so wait()
//     loops on its own steady clock until the deadline (or, blocking, until an event).
//  h) A signal does not end a wait: libev's backends treat EINTR as an empty pass, and the
//     wait loop of g waits again.
//  i) libev's io_uring backend (EVBACKEND_IOURING, built into Debian's libev, "has to be
//     requested explicitly" for "its current limitations" says libev's manual) fails the
//     contract here: with 100 of 500 fds ready, a non-blocking pass reports 64 and the next
//     ones none of the other 36, and a closed fd trips an assert (iouring_process_cqe). Its
//     row, libev_uring, is listed as unavailable with that reason rather than measured.
//  j) Allocation on the wait path that this file cannot prevent: the epoll backend grows its
//     epoll_event array when a pass fills it (c), and the poll and select backends grow their
//     arrays when fds are added (at the next ev_run). Each stops after warm-up; this file's
//     own wait path does not allocate.
//  k) Debian's libev.so also exports libevent's API (event_base_new, event_add, ... : libev's
//     compatibility layer). Linked beside libevent_core, the library that comes first serves
//     the libevent rows' calls: a program linked the other way round runs libevent_epoll on
//     libev and crashes (seen: event_base_free freeing libev's memory). pollbench links
//     libev.a instead, whose compatibility layer is a member (event.o) that nothing pulls in.
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

#include "backends/poller.hpp"

#if POLLBENCH_HAVE_LIBEV
#include <ev.h>
#include <fcntl.h>

#include <chrono>

#include "backends/detail/deadline.hpp"
#include "backends/detail/event_fill.hpp"
#include "backends/detail/slot_table.hpp"
#include "backends/detail/uring.hpp"
#endif

namespace pollbench {
namespace {

constexpr std::string_view kName = "libev";

#if POLLBENCH_HAVE_LIBEV

class LibevPoller final : public Poller {
 public:
  explicit LibevPoller(unsigned int backend)
      : epoll_(backend == EVBACKEND_EPOLL), probe_fds_(backend != EVBACKEND_SELECT) {
    if (backend == EVBACKEND_IOURING) {  // quirk i
      detail::check_io_uring_enabled();
      throw_errno(ENOSYS, kName,
                  "EVBACKEND_IOURING: libev 4.33's io_uring backend misses ready fds in "
                  "non-blocking passes and aborts on a closed fd (see libev_poller.cpp, quirk i)");
    }
    if ((ev_supported_backends() & backend) == 0) {
      throw_errno(ENOSYS, kName, "ev_supported_backends: this libev was built without it");
    }
    loop_ = ev_loop_new(backend | EVFLAG_NOENV);  // quirk a
    if (loop_ == nullptr) throw_errno(ENOSYS, kName, "ev_loop_new: the backend was refused");
    if (ev_backend(loop_) != backend) {
      ev_loop_destroy(loop_);
      throw_errno(ENOSYS, kName, "ev_backend: not the backend asked for");
    }
    ev_timer_init(&timer_, on_timer, 0., 0.);
  }

  ~LibevPoller() override {
    for (Index i = 0; i < slots_.size(); ++i) {
      if (slots_[i].fd >= 0) ev_io_stop(loop_, &slots_[i].io);
    }
    ev_loop_destroy(loop_);
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    const int what = to_libev(interest);
    slots_.check_not_registered(fd, kName);
    if (probe_fds_ && ::fcntl(fd, F_GETFD) == -1) throw_errno(errno, kName, "fcntl(F_GETFD)");
    const Index index = slots_.acquire();
    Slot& s = slots_[index];
    s.owner = this;
    ev_io_init(&s.io, on_io, fd, what);
    s.io.data = &s;
    ev_io_start(loop_, &s.io);  // quirk b: no syscall until the next ev_run
    s.fd = fd;
    s.token = token;
    s.interest = what;
    Fill::forget(s);
    slots_.map(fd, index);
    ++registered_;
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const Index index = slots_.registered(fd, kName, "modify");
    const int what = to_libev(interest);
    Slot& s = slots_[index];
    ev_io_stop(loop_, &s.io);  // a watcher's fd and events change only while it is stopped
    ev_io_set(&s.io, fd, what);
    ev_io_start(loop_, &s.io);
    s.token = token;
    s.interest = what;
    Fill::forget(s);
  }

  void do_remove(int fd) override {
    const Index index = slots_.registered(fd, kName, "remove");
    Slot& s = slots_[index];
    ev_io_stop(loop_, &s.io);
    s.fd = -1;
    Fill::forget(s);  // a FIFO entry, if any, is skipped
    slots_.unmap(fd);
    slots_.release(index);
    --registered_;
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    if (events.empty()) return 0;
    fill_.start(events);
    fill_.deliver_kept(slots_);  // quirk d
    if (fill_.count() > 0) {
      if (fill_.needs_pass()) pass(EVRUN_NOWAIT);
      return fill_more();
    }

    detail::step_until_deadline(timeout, [&](std::chrono::nanoseconds left) {
      if (left.count() == 0) {
        pass(EVRUN_NOWAIT);
        return true;
      }
      if (left.count() < 0 && registered_ == 0) return true;  // nothing could ever report
      const bool bounded = left.count() > 0;
      if (bounded) {  // quirk g
        ev_now_update(loop_);
        ev_timer_set(&timer_, static_cast<double>(left.count()) * 1e-9, 0.);
        ev_timer_start(loop_, &timer_);
      }
      pass(EVRUN_ONCE);
      if (bounded) ev_timer_stop(loop_, &timer_);
      return fill_.count() > 0;
    });
    return fill_more();
  }

 private:
  static constexpr std::size_t kEpollFirstBatch = 64;  // ev_epoll.c: epoll_eventmax = 64

  struct Slot {
    ev_io io{};
    LibevPoller* owner = nullptr;
    int fd = -1;
    std::uint64_t token = 0;
    int interest = 0;         // EV_READ | EV_WRITE asked for
    detail::FillMark fill;    // quirks c and d
    bool queued = false;      // on the FIFO
    std::uint32_t index = 0;  // in slots_ (set by slots_)
  };
  using Slots = detail::SlotTable<Slot, detail::SlotAddress::kStable>;  // libev holds &io
  using Index = Slots::Index;
  using Fill = detail::EventFill<Slots>;

  static int to_libev(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    int what = 0;
    if ((interest & kReadable) != 0) what |= EV_READ;
    if ((interest & kWritable) != 0) what |= EV_WRITE;
    return what;
  }

  static void on_timer(struct ev_loop* /*loop*/, ev_timer* /*timer*/, int /*revents*/) {}

  static void on_io(struct ev_loop* loop, ev_io* io, int revents) {
    auto& s = *static_cast<Slot*>(io->data);
    if (s.fd < 0) return;
    // Quirk b: libev stopped the watcher of a closed fd; the next pass must find it again.
    if ((revents & EV_ERROR) != 0 && !s.owner->probe_fds_) ev_io_start(loop, io);
    s.owner->fill_.collect(s.owner->slots_, s, make_event(revents & (s.interest | EV_ERROR)));
  }

  void pass(int flags) noexcept {
    fill_.start_pass();
    ev_run(loop_, flags);
  }

  // Quirk c: libev's epoll may have left ready fds out of the last pass.
  int fill_more() noexcept {
    while (epoll_ && fill_.may_have_more(kEpollFirstBatch)) pass(EVRUN_NOWAIT);
    return static_cast<int>(fill_.count());
  }

  static Event make_event(int what) {
    return Event{.readable = (what & EV_READ) != 0,
                 .writable = (what & EV_WRITE) != 0,
                 .error = (what & EV_ERROR) != 0};
  }

  struct ev_loop* loop_ = nullptr;
  ev_timer timer_{};
  Slots slots_;  // its FIFO: the events that did not fit (quirk d)
  bool epoll_;
  bool probe_fds_;  // quirk b
  std::size_t registered_ = 0;
  Fill fill_;
};

#endif  // POLLBENCH_HAVE_LIBEV

std::unique_ptr<Poller> make_libev_poller([[maybe_unused]] unsigned int backend) {
#if POLLBENCH_HAVE_LIBEV
  return std::make_unique<LibevPoller>(backend);
#else
  throw_errno(ENOSYS, kName, "built without libev (install libev-dev and re-run cmake)");
#endif
}

#if !POLLBENCH_HAVE_LIBEV
// ev.h's values, so the factories below compile without it.
constexpr unsigned int EVBACKEND_SELECT = 0x1U;
constexpr unsigned int EVBACKEND_POLL = 0x2U;
constexpr unsigned int EVBACKEND_EPOLL = 0x4U;
constexpr unsigned int EVBACKEND_IOURING = 0x80U;
#endif

}  // namespace

std::unique_ptr<Poller> make_libev_epoll_poller() {
  return make_libev_poller(EVBACKEND_EPOLL);
}
std::unique_ptr<Poller> make_libev_poll_poller() {
  return make_libev_poller(EVBACKEND_POLL);
}
std::unique_ptr<Poller> make_libev_select_poller() {
  return make_libev_poller(EVBACKEND_SELECT);
}
std::unique_ptr<Poller> make_libev_uring_poller() {
  return make_libev_poller(EVBACKEND_IOURING);
}

}  // namespace pollbench
