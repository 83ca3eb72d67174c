// epoll(7) with EPOLLEXCLUSIVE (Linux 4.5+): epoll_exclusive. Level-triggered like epoll_lt,
// but every fd is registered with EPOLLEXCLUSIVE: when several epoll instances watch the same
// fd with the flag and it becomes ready, the kernel wakes one (or a few) of the threads blocked
// on those instances rather than all of them — the cure for the thundering herd of many
// threads, each with its own epoll instance, waiting on one listening socket. With one thread
// per instance, as in every single-threaded scenario, it behaves as epoll_lt.
//
// Kernel quirks this file handles:
//  a) EPOLL_CTL_MOD of an fd registered with EPOLLEXCLUSIVE fails with EINVAL, always. So
//     modify() is EPOLL_CTL_DEL + EPOLL_CTL_ADD: two syscalls. DEL reports ENOENT (unknown fd)
//     and EBADF (closed fd) as MOD would. If the ADD fails after the DEL succeeded, the fd is
//     no longer registered, and the error is thrown.
//  b) EPOLLEXCLUSIVE may only be combined with EPOLLIN, EPOLLOUT, EPOLLWAKEUP and EPOLLET:
//     EPOLLONESHOT with it is EINVAL at EPOLL_CTL_ADD (so no one-shot variant of this row).
//     EPOLLERR and EPOLLHUP are reported whatever the interest, as for epoll_lt.
//  c) Which waiters are woken is the kernel's choice: "one or more". Every instance still gets
//     the event on its ready list, so a waiter that was not woken finds it at its next wait —
//     nothing is lost, and with one waiter per instance delivery is exactly epoll_lt's.
//  d) epoll_ctl checks the fd at registration: a closed fd fails with EBADF, a regular file
//     with EPERM, a second add with EEXIST; a remove of an unknown fd with ENOENT. A closed fd
//     is dropped by epoll by itself (a later remove() fails with EBADF). Remove before close.
//  e) epoll_wait copies at most maxevents ready entries out; level-triggered ones left over
//     are re-queued and served by later waits. The buffer grows in add(), so wait() never
//     allocates.
//  f) The timeout is in milliseconds; nanoseconds are rounded up so a wait never returns
//     early.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "backends/poller.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kName = "epoll_exclusive";

class EpollExclusivePoller final : public Poller {
 public:
  EpollExclusivePoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw_errno(errno, kName, "epoll_create1");
    buffer_.resize(kMinBuffer);
  }
  ~EpollExclusivePoller() override { ::close(epfd_); }

  void add(int fd, Interest interest, std::uint64_t token) override {
    ctl_add(fd, to_epoll_events(interest), token, "epoll_ctl(ADD)");
    if (++registered_ > buffer_.size()) buffer_.resize(2 * buffer_.size());
  }

  // Quirk a: DEL + ADD, never MOD.
  void modify(int fd, Interest interest, std::uint64_t token) override {
    const std::uint32_t events = to_epoll_events(interest);  // EINVAL before touching anything
    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
      throw_errno(errno, kName, "epoll_ctl(DEL) for modify");
    }
    --registered_;
    ctl_add(fd, events, token, "epoll_ctl(ADD) for modify");
    ++registered_;
  }

  void remove(int fd) override {
    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
      throw_errno(errno, kName, "epoll_ctl(DEL)");
    }
    --registered_;
  }

  int wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const std::size_t max = std::min(events.size(), buffer_.size());
    if (max == 0) return 0;
    const int ready =
        ::epoll_wait(epfd_, buffer_.data(), static_cast<int>(max), timeout_to_ms(timeout));
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < ready; ++i) {
      const epoll_event& e = buffer_[static_cast<std::size_t>(i)];
      events[static_cast<std::size_t>(i)] = Event{.token = e.data.u64,
                                                  .readable = (e.events & EPOLLIN) != 0,
                                                  .writable = (e.events & EPOLLOUT) != 0,
                                                  .hangup = (e.events & EPOLLHUP) != 0,
                                                  .error = (e.events & EPOLLERR) != 0};
    }
    return ready;
  }

  [[nodiscard]] std::string_view name() const noexcept override { return kName; }
  [[nodiscard]] Capabilities capabilities() const noexcept override {
    return {.edge_triggered = false, .wait_cost = WaitCost::kPerReady, .max_fd = INT_MAX};
  }

 private:
  static constexpr std::size_t kMinBuffer = 64;

  static std::uint32_t to_epoll_events(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    std::uint32_t events = EPOLLEXCLUSIVE;  // quirk b: never with EPOLLONESHOT
    if ((interest & kReadable) != 0) events |= EPOLLIN;
    if ((interest & kWritable) != 0) events |= EPOLLOUT;
    return events;
  }

  void ctl_add(int fd, std::uint32_t events, std::uint64_t token, std::string_view what) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno(errno, kName, what);
  }

  int epfd_;
  std::size_t registered_ = 0;
  std::vector<epoll_event> buffer_;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_exclusive_poller() {
  return std::make_unique<EpollExclusivePoller>();
}

}  // namespace pollbench
