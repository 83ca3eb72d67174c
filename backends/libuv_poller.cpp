// libuv reference backend: the Poller interface on a uv_loop_t, one uv_poll_t per fd whose
// callback fills the caller's event array; wait() is uv_run(UV_RUN_NOWAIT) for timeout 0 and
// uv_run(UV_RUN_ONCE) otherwise (with a uv_timer_t for a bounded timeout). Built when
// pkg-config finds libuv (Debian: libuv1-dev); otherwise listed as unavailable.
//
// Kernel and library quirks this file handles (libuv 1.44, which polls with epoll on Linux):
//  a) uv_poll_init checks the fd with epoll_ctl(ADD) + epoll_ctl(DEL) and makes it
//     non-blocking (ioctl FIONBIO); the real epoll_ctl(ADD) waits for the next uv_run. So a
//     closed fd is refused at add() with EBADF, but registration costs libuv three syscalls.
//  b) libuv queues epoll_ctl calls and abort()s the process if one fails: an fd closed after
//     add() and before the next wait brings the whole process down. This backend cannot
//     prevent that without an extra syscall per add, so its registry row declares
//     survives_close_while_registered = false. Remove before close.
//  c) A uv_poll_t can only be freed after uv_close's callback, which runs inside uv_run.
//     remove() stops and closes the handle; the slot returns to the free list when the loop
//     has run its close callback. So that add/remove churn with no wait in between cannot grow
//     memory without bound, remove() runs one non-blocking loop pass (an epoll_wait(0)) once
//     kMaxClosing handles are waiting to be closed.
//  d) libuv keeps no fd registry the caller can query (and a second uv_poll_t on an fd is
//     refused only by the epoll_ctl it defers): an fd→slot index gives EEXIST and ENOENT.
//  e) libuv calls back once per ready fd per loop pass: what the caller's array cannot hold is
//     kept and reported first by the next wait, which then makes a non-blocking pass for the
//     rest of its array (detail/event_fill.hpp). A kept event can be stale if the caller read
//     the fd by other means meanwhile. libuv reads up to 1,024 epoll events per epoll_wait
//     (and loops while they fill), so one pass sees every ready fd.
//  f) Hangup: UV_DISCONNECT (EPOLLRDHUP) is asked for with read interest and reported as
//     hangup. On EPOLLERR libuv stops the handle and calls back with UV_EBADF: it is reported
//     once as an error event, and then nothing more for that fd until modify() restarts it.
//  g) Timeouts: libuv's timers count whole milliseconds on a clock that may be
//     CLOCK_MONOTONIC_COARSE, and UV_RUN_ONCE can return before its timer fires. The timer
//     gets the timeout rounded up to milliseconds and wait() loops on its own steady clock
//     until the deadline, so it never returns early. The timer's callback calls uv_stop: a
//     timer already due when uv_run starts fires before the poll phase, and UV_RUN_ONCE would
//     then block in epoll_wait(-1) with no timer left (seen under ThreadSanitizer's
//     slowdown). A signal does not end a wait: libuv retries epoll_wait after EINTR itself.
//  h) libuv's first uv_loop_init in a process opens a pipe (its signal lock) that it never
//     closes. It is opened at program start here, by a throwaway loop, so that it is not
//     mistaken for a descriptor leaked by the first poller (the conformance suite counts fds).
//  i) This file's wait path does not allocate; libuv's uv_run does not either (its epoll
//     event buffer is on the stack).
//  j) An fd closed while registered, while a dup keeps its file open: epoll keeps reporting
//     it (epoll_poller.cpp, quirk b); libuv's uv_close ignores the EBADF of its EPOLL_CTL_DEL,
//     and each later epoll_wait returns at once with an fd it no longer watches, which it
//     tries to delete again (EBADF again): the loop spins for as long as the file is ready.
//     The row declares survives_close_while_file_open = false (and the close itself can
//     abort, quirk b). A signal does not end a wait either (quirk g): signal_ends_wait =
//     false.
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

#include "backends/poller.hpp"

#if POLLBENCH_HAVE_LIBUV
#include <uv.h>

#include <chrono>

#include "backends/detail/deadline.hpp"
#include "backends/detail/event_fill.hpp"
#include "backends/detail/slot_table.hpp"
#endif

namespace pollbench {
namespace {

constexpr std::string_view kName = "libuv";

#if POLLBENCH_HAVE_LIBUV

// Quirk h.
[[maybe_unused]] const bool kLibuvGlobalsReady = [] {
  uv_loop_t loop;
  if (uv_loop_init(&loop) == 0) uv_loop_close(&loop);
  return true;
}();

class LibuvPoller final : public Poller {
 public:
  LibuvPoller() {
    const int rc = uv_loop_init(&loop_);
    if (rc < 0) throw_errno(-rc, kName, "uv_loop_init");
    uv_timer_init(&loop_, &timer_);
  }

  ~LibuvPoller() override {
    for (Index i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kLive) uv_close(handle(slots_[i]), on_closed);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);  // runs the close callbacks, then nothing is active
    uv_loop_close(&loop_);
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    const int events = to_uv_events(interest);
    slots_.check_not_registered(fd, kName);
    const Index index = slots_.acquire();
    Slot& s = slots_[index];
    s.owner = this;
    int rc = uv_poll_init(&loop_, &s.poll, fd);  // quirk a
    if (rc < 0) {
      slots_.release(index);
      throw_errno(-rc, kName, "uv_poll_init");
    }
    s.poll.data = &s;
    rc = uv_poll_start(&s.poll, events, on_poll);
    if (rc < 0) {
      s.state = State::kClosing;
      ++closing_;
      uv_close(handle(s), on_closed);
      throw_errno(-rc, kName, "uv_poll_start");
    }
    s.state = State::kLive;
    s.fd = fd;
    s.token = token;
    Fill::forget(s);
    slots_.map(fd, index);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const Index index = slots_.registered(fd, kName, "modify");
    const int events = to_uv_events(interest);
    Slot& s = slots_[index];
    const int rc = uv_poll_start(&s.poll, events, on_poll);  // restarts with the new events
    if (rc < 0) throw_errno(-rc, kName, "uv_poll_start");
    s.token = token;
    Fill::forget(s);
  }

  void do_remove(int fd) override {
    const Index index = slots_.registered(fd, kName, "remove");
    Slot& s = slots_[index];
    uv_poll_stop(&s.poll);
    s.state = State::kClosing;
    Fill::forget(s);  // a FIFO entry, if any, is skipped
    slots_.unmap(fd);
    ++closing_;
    uv_close(handle(s), on_closed);
    if (closing_ >= kMaxClosing) {  // quirk c
      fill_.start({});              // what the pass reports is kept for the next wait
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    if (events.empty()) return 0;
    fill_.start(events);
    fill_.deliver_kept(slots_);  // quirk e
    if (fill_.count() > 0) {
      if (fill_.needs_pass()) uv_run(&loop_, UV_RUN_NOWAIT);
      return static_cast<int>(fill_.count());
    }

    detail::step_until_deadline(timeout, [&](std::chrono::nanoseconds left) {
      if (left.count() == 0) {
        uv_run(&loop_, UV_RUN_NOWAIT);
        return true;
      }
      const bool bounded = left.count() > 0;
      if (bounded) {
        const auto ms = static_cast<std::uint64_t>((left.count() + 999'999) / 1'000'000);
        uv_update_time(&loop_);
        uv_timer_start(&timer_, on_timer, ms, 0);
      }
      const int alive = uv_run(&loop_, UV_RUN_ONCE);
      if (bounded) uv_timer_stop(&timer_);
      return fill_.count() > 0 || alive == 0;  // 0: nothing registered (timer stopped)
    });
    return static_cast<int>(fill_.count());
  }

 private:
  static constexpr std::size_t kMaxClosing = 1024;

  enum class State : std::uint8_t { kFree, kLive, kClosing };

  struct Slot {
    uv_poll_t poll{};
    LibuvPoller* owner = nullptr;
    State state = State::kFree;
    int fd = -1;
    std::uint64_t token = 0;
    detail::FillMark fill;    // quirk e
    bool queued = false;      // on the FIFO
    std::uint32_t index = 0;  // in slots_ (set by slots_)
  };
  using Slots = detail::SlotTable<Slot, detail::SlotAddress::kStable>;  // handles live in slots
  using Index = Slots::Index;
  using Fill = detail::EventFill<Slots>;

  static uv_handle_t* handle(Slot& s) { return reinterpret_cast<uv_handle_t*>(&s.poll); }

  static int to_uv_events(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    int events = 0;
    if ((interest & kReadable) != 0) events |= UV_READABLE | UV_DISCONNECT;
    if ((interest & kWritable) != 0) events |= UV_WRITABLE;
    return events;
  }

  // Quirk g: a timer already due when uv_run starts fires before the poll phase, and
  // UV_RUN_ONCE would then block in epoll_wait(-1) with no timer left; uv_stop makes that poll
  // non-blocking.
  static void on_timer(uv_timer_t* t) { uv_stop(t->loop); }

  static void on_closed(uv_handle_t* h) {
    auto* s = static_cast<Slot*>(h->data);
    LibuvPoller& self = *s->owner;
    s->state = State::kFree;
    s->fd = -1;
    --self.closing_;
    self.slots_.release(s->index);  // never allocates inside uv_run
  }

  static void on_poll(uv_poll_t* h, int status, int events) {
    auto* s = static_cast<Slot*>(h->data);
    if (s->state != State::kLive) return;
    s->owner->fill_.collect(s->owner->slots_, *s, make_event(status < 0 ? 0 : events, status < 0));
  }

  static Event make_event(int what, bool error) {
    return Event{.readable = (what & UV_READABLE) != 0,
                 .writable = (what & UV_WRITABLE) != 0,
                 .hangup = (what & UV_DISCONNECT) != 0,
                 .error = error};
  }

  uv_loop_t loop_{};
  uv_timer_t timer_{};
  Slots slots_;  // its FIFO: the events that did not fit (quirk e)
  std::size_t closing_ = 0;
  Fill fill_;
};

#endif  // POLLBENCH_HAVE_LIBUV

}  // namespace

std::unique_ptr<Poller> make_libuv_poller() {
#if POLLBENCH_HAVE_LIBUV
  return std::make_unique<LibuvPoller>();
#else
  throw_errno(ENOSYS, kName, "built without libuv (install libuv1-dev and re-run cmake)");
#endif
}

}  // namespace pollbench
