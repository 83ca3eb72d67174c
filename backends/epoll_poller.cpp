// epoll(7) backends: epoll_lt (level-triggered), epoll_et (edge-triggered, EPOLLET) and
// epoll_exclusive (level-triggered, every fd registered with EPOLLEXCLUSIVE, Linux 4.5+): one
// class with a mode, like libevent's epoll rows.
//
// EPOLLEXCLUSIVE is the cure for the thundering herd of many threads, each with its own epoll
// instance, waiting on one listening socket: when the fd becomes ready the kernel wakes one (or
// a few) of the threads blocked on those instances rather than all of them. With one thread per
// instance, as in every single-threaded scenario, epoll_exclusive behaves as epoll_lt.
//
// Kernel quirks this file handles:
//  a) epoll_ctl checks the fd at registration: a closed fd fails with EBADF, a regular file
//     with EPERM, a second add with EEXIST, a modify or remove of an unknown fd with ENOENT.
//     These come straight from the kernel, so registration costs exactly one syscall.
//  b) epoll watches the open file description, not the fd number. Closing the last fd that
//     refers to it drops the registration by itself (a later remove() fails with EBADF);
//     while a dup() of it is open, events keep coming for the closed number, and nothing can
//     remove it: EPOLL_CTL_DEL needs the closed number (EBADF), and the dup's number is
//     another key (ENOENT). The token is reported while the file is ready — visible to the
//     caller, never a hidden spin. Remove before close.
//  c) EPOLLHUP and EPOLLERR are always reported, whatever the interest. EPOLLHUP means both
//     directions are shut; a half-close (the peer's shutdown(SHUT_WR), or a TCP peer's close:
//     a FIN) only sets EPOLLRDHUP, and only if asked for: read interest asks for it, so that
//     hangup is set for a half-close too.
//  d) epoll_wait copies at most maxevents ready entries out; the rest stay on the ready list
//     (edge-triggered ones are not lost, level-triggered ones are re-queued at the tail), so
//     a small event array is served over several waits without loss or repetition. The
//     epoll_event buffer grows in add() to the registered count, so wait() never allocates.
//  e) With EPOLLET an fd is reported once per arrival of new data: unread bytes alone do not
//     report it again. EPOLL_CTL_MOD re-checks readiness and re-arms the edge.
//  f) The timeout is in milliseconds; nanoseconds are rounded up so a wait never returns
//     early.
//  g) EPOLL_CTL_MOD of an fd registered with EPOLLEXCLUSIVE fails with EINVAL, always, so
//     epoll_exclusive's modify() is EPOLL_CTL_DEL + EPOLL_CTL_ADD: two syscalls. DEL reports
//     ENOENT (unknown fd) and EBADF (closed fd) as MOD would; if the ADD fails after the DEL
//     succeeded, the fd is no longer registered and the error is thrown.
//  h) EPOLLEXCLUSIVE may only be combined with EPOLLIN, EPOLLOUT, EPOLLWAKEUP and EPOLLET:
//     with EPOLLONESHOT it is EINVAL at EPOLL_CTL_ADD (so there is no one-shot exclusive row),
//     and so is EPOLLRDHUP — epoll_exclusive cannot see a half-close (its row says hangup =
//     false: a half-closed socket is reported readable, read() returns 0).
//  i) Which exclusive waiters are woken is the kernel's choice: "one or more". Every instance
//     still gets the event on its ready list, so a waiter that was not woken finds it at its
//     next wait: nothing is lost.
#include <sys/epoll.h>

#include <cerrno>
#include <memory>

#include "backends/detail/epoll.hpp"
#include "backends/poller.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kName = "epoll";

enum class EpollMode : std::uint8_t { kLevel, kEdge, kExclusive };

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(EpollMode mode) : mode_(mode), set_(kName) {}

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    set_.ctl(EPOLL_CTL_ADD, fd, epoll_events(interest), token, "epoll_ctl(ADD)");
    set_.added();
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    if (mode_ != EpollMode::kExclusive) {
      set_.ctl(EPOLL_CTL_MOD, fd, epoll_events(interest), token, "epoll_ctl(MOD)");
      return;
    }
    // Quirk g.
    const std::uint32_t events = epoll_events(interest);  // EINVAL before touching anything
    set_.del(fd, "epoll_ctl(DEL) for modify");
    try {
      set_.ctl(EPOLL_CTL_ADD, fd, events, token, "epoll_ctl(ADD) for modify");
    } catch (...) {
      set_.removed();
      throw;
    }
  }

  void do_remove(int fd) override {
    set_.del(fd, "epoll_ctl(DEL)");
    set_.removed();
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const std::span<epoll_event> buffer = set_.buffer_for(events.size());
    if (buffer.empty()) return 0;
    return set_.deliver(::epoll_wait(set_.fd(), buffer.data(), static_cast<int>(buffer.size()),
                                     timeout_to_ms(timeout)),
                        events);
  }

 private:
  [[nodiscard]] std::uint32_t epoll_events(Interest interest) const {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    std::uint32_t events = 0;
    if ((interest & kReadable) != 0) events |= EPOLLIN;
    if ((interest & kReadable) != 0 && mode_ != EpollMode::kExclusive) events |= EPOLLRDHUP;
    if ((interest & kWritable) != 0) events |= EPOLLOUT;
    if (mode_ == EpollMode::kEdge) events |= EPOLLET;
    if (mode_ == EpollMode::kExclusive) events |= EPOLLEXCLUSIVE;  // quirk h
    return events;
  }

  EpollMode mode_;
  detail::EpollSet set_;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_lt_poller() {
  return std::make_unique<EpollPoller>(EpollMode::kLevel);
}
std::unique_ptr<Poller> make_epoll_et_poller() {
  return std::make_unique<EpollPoller>(EpollMode::kEdge);
}
std::unique_ptr<Poller> make_epoll_exclusive_poller() {
  return std::make_unique<EpollPoller>(EpollMode::kExclusive);
}

}  // namespace pollbench
