// epoll(7), level-triggered, waiting with epoll_pwait2(2): epoll_pwait2. The registration and
// the delivery are epoll_lt's (epoll_poller.cpp: its quirks a to d hold here too); only the
// wait differs: its timeout is a timespec, so a timer of 50 µs is not rounded up to a
// millisecond, as epoll_wait's int milliseconds make it.
//
// Kernel quirks this file handles:
//  a) epoll_wait takes its timeout in milliseconds, and rounding up (so a wait never returns
//     early) turns 50 µs into 1 ms. epoll_pwait2 takes a struct timespec: the timeout is passed
//     to the nanosecond, and the kernel arms an hrtimer for it (plus the thread's timer slack,
//     50 µs by default, which is the lateness it may add; nothing rounds it to a tick).
//  b) A timespec must be normalised (0 <= tv_nsec < 1e9, tv_sec >= 0) or the call fails with
//     EINVAL; a negative timeout (block) is a null pointer, not a negative timespec, and a
//     zero timespec polls without sleeping, as epoll_wait(0) does.
//  c) It is Linux 5.11+ (and a seccomp filter older than the call refuses it with ENOSYS or
//     EPERM, never with a missing symbol: glibc 2.35+ has the wrapper, and it is a plain
//     syscall before that). The constructor waits once with a zero timeout so that a kernel
//     without it makes the row unavailable with the refused call's error, not a wait that
//     fails at every call.
//  d) The sigmask argument is null: the wait keeps the thread's signal mask, as epoll_wait
//     does, so a signal delivered while it sleeps ends it with EINTR (returned as 0, the
//     contract's signal rule). A non-null mask would be epoll_pwait's atomic swap, which no
//     other row makes.
//  e) Like epoll_wait, it copies at most maxevents entries; the buffer grows in add() to the
//     registered count, so wait() never allocates.
#include <sys/epoll.h>

#include <cerrno>
#include <ctime>
#include <memory>

#include "backends/detail/epoll.hpp"
#include "backends/poller.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kName = "epoll";

class EpollPwait2Poller final : public Poller {
 public:
  EpollPwait2Poller() : set_(kName) {
    const timespec zero{};
    if (detail::epoll_pwait2_nomask(set_.fd(), set_.buffer_for(1).data(), 1, &zero) < 0) {
      throw_errno(errno, kName, "epoll_pwait2 (Linux 5.11+)");  // quirk c
    }
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    set_.ctl(EPOLL_CTL_ADD, fd, epoll_events(interest), token, "epoll_ctl(ADD)");
    set_.added();
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    set_.ctl(EPOLL_CTL_MOD, fd, epoll_events(interest), token, "epoll_ctl(MOD)");
  }

  void do_remove(int fd) override {
    set_.del(fd, "epoll_ctl(DEL)");
    set_.removed();
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const std::span<epoll_event> buffer = set_.buffer_for(events.size());
    if (buffer.empty()) return 0;
    // Quirks a and b: the nanoseconds as they are; block is a null pointer.
    const std::int64_t ns = timeout.count();
    const timespec limit{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
    return set_.deliver(
        detail::epoll_pwait2_nomask(set_.fd(), buffer.data(), static_cast<int>(buffer.size()),
                                    ns < 0 ? nullptr : &limit),
        events);
  }

 private:
  // Read interest asks for EPOLLRDHUP too, so that a half-close sets hangup (epoll_lt's quirk c).
  static std::uint32_t epoll_events(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    std::uint32_t events = 0;
    if ((interest & kReadable) != 0) events |= EPOLLIN | EPOLLRDHUP;
    if ((interest & kWritable) != 0) events |= EPOLLOUT;
    return events;
  }

  detail::EpollSet set_;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_pwait2_poller() {
  return std::make_unique<EpollPwait2Poller>();
}

}  // namespace pollbench
