// epoll(7) backends: epoll_lt (level-triggered) and epoll_et (edge-triggered, EPOLLET), one
// class with a flag, like libevent's two epoll rows.
//
// Kernel quirks this file handles:
//  a) epoll_ctl checks the fd at registration: a closed fd fails with EBADF, a regular file
//     with EPERM, a second add with EEXIST, a modify or remove of an unknown fd with ENOENT.
//     These come straight from the kernel, so registration costs exactly one syscall.
//  b) epoll watches the open file description, not the fd number. Closing the last fd that
//     refers to it drops the registration by itself (a later remove() fails with EBADF);
//     while a dup() of it is open, events keep coming for the closed number. Remove before
//     close.
//  c) EPOLLHUP and EPOLLERR are always reported, whatever the interest.
//  d) epoll_wait copies at most maxevents ready entries out; the rest stay on the ready list
//     (edge-triggered ones are not lost, level-triggered ones are re-queued at the tail), so
//     a small event array is served over several waits without loss or repetition. The
//     epoll_event buffer grows in add() to the registered count, so wait() never allocates.
//  e) With EPOLLET an fd is reported once per arrival of new data: unread bytes alone do not
//     report it again. EPOLL_CTL_MOD re-checks readiness and re-arms the edge.
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

class EpollPoller final : public Poller {
 public:
  explicit EpollPoller(bool edge_triggered)
      : edge_triggered_(edge_triggered), epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw_errno(errno, name(), "epoll_create1");
    buffer_.resize(kMinBuffer);
  }
  ~EpollPoller() override { ::close(epfd_); }

  void add(int fd, Interest interest, std::uint64_t token) override {
    ctl(EPOLL_CTL_ADD, fd, interest, token, "epoll_ctl(ADD)");
    if (++registered_ > buffer_.size()) buffer_.resize(2 * buffer_.size());
  }

  void modify(int fd, Interest interest, std::uint64_t token) override {
    ctl(EPOLL_CTL_MOD, fd, interest, token, "epoll_ctl(MOD)");
  }

  void remove(int fd) override {
    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
      throw_errno(errno, name(), "epoll_ctl(DEL)");
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

  [[nodiscard]] std::string_view name() const noexcept override {
    return edge_triggered_ ? "epoll_et" : "epoll_lt";
  }
  [[nodiscard]] Capabilities capabilities() const noexcept override {
    return {.edge_triggered = edge_triggered_, .wait_cost = WaitCost::kPerReady, .max_fd = INT_MAX};
  }

 private:
  static constexpr std::size_t kMinBuffer = 64;

  void ctl(int op, int fd, Interest interest, std::uint64_t token, std::string_view what) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, name(), "empty interest");
    epoll_event ev{};
    if ((interest & kReadable) != 0) ev.events |= EPOLLIN;
    if ((interest & kWritable) != 0) ev.events |= EPOLLOUT;
    if (edge_triggered_) ev.events |= EPOLLET;
    ev.data.u64 = token;
    if (::epoll_ctl(epfd_, op, fd, &ev) != 0) throw_errno(errno, name(), what);
  }

  bool edge_triggered_;
  int epfd_;
  std::size_t registered_ = 0;
  std::vector<epoll_event> buffer_;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_lt_poller() {
  return std::make_unique<EpollPoller>(false);
}
std::unique_ptr<Poller> make_epoll_et_poller() {
  return std::make_unique<EpollPoller>(true);
}

}  // namespace pollbench
