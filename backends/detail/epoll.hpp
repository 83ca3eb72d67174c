// What the epoll rows and the bare epoll waits share, header-only: the Event an epoll_event
// reports, epoll_pwait2(2) without a signal mask, and the instance, its registered count and
// its wait buffer (EpollSet) that the rows keyed by token share.
#pragma once

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string_view>
#include <vector>

#include "backends/poller.hpp"

namespace pollbench::detail {

// EPOLLRDHUP is asked for with read interest, so a half-close sets hangup as a close does.
inline Event to_event(const epoll_event& e) noexcept {
  return Event{.token = e.data.u64,
               .readable = (e.events & EPOLLIN) != 0,
               .writable = (e.events & EPOLLOUT) != 0,
               .hangup = (e.events & (EPOLLHUP | EPOLLRDHUP)) != 0,
               .error = (e.events & EPOLLERR) != 0};
}

// epoll_pwait2 with a null sigmask (the thread's mask is kept, as epoll_wait keeps it): glibc
// has the wrapper from 2.35 (Debian 12: 2.36), the kernel the call from 5.11.
inline int epoll_pwait2_nomask(int epfd, epoll_event* events, int max,
                               const timespec* timeout) noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
  return ::epoll_pwait2(epfd, events, max, timeout, nullptr);
#else
  return static_cast<int>(::syscall(SYS_epoll_pwait2, epfd, events, max, timeout, nullptr, 0));
#endif
}

// An epoll instance whose registrations carry the caller's token (data.u64), the count of
// them, and the buffer a wait copies into. epoll_wait and epoll_pwait2 copy at most maxevents
// entries and leave the rest on the ready list, so the buffer grows in added() to the
// registered count and a wait never allocates. Throws std::system_error naming `mechanism`.
class EpollSet {
 public:
  explicit EpollSet(std::string_view mechanism)
      : mechanism_(mechanism), fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (fd_ < 0) throw_errno(errno, mechanism_, "epoll_create1");
    buffer_.resize(kMinBuffer);
  }
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;
  EpollSet(EpollSet&&) = delete;
  EpollSet& operator=(EpollSet&&) = delete;
  ~EpollSet() { ::close(fd_); }

  [[nodiscard]] int fd() const noexcept { return fd_; }

  // epoll_ctl(op) of `fd` for `events`, reported with `token`; throws naming `what`.
  void ctl(int op, int fd, std::uint32_t events, std::uint64_t token, std::string_view what) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(fd_, op, fd, &ev) != 0) throw_errno(errno, mechanism_, what);
  }
  // EPOLL_CTL_DEL of `fd` (the count is the caller's: removed()); throws naming `what`.
  void del(int fd, std::string_view what) const {
    if (::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr) != 0) throw_errno(errno, mechanism_, what);
  }
  // After an ADD that succeeded, and after a registration that is gone.
  void added() {
    if (++registered_ > buffer_.size()) buffer_.resize(2 * buffer_.size());
  }
  void removed() noexcept { --registered_; }

  // The part of the buffer a wait for at most `wanted` events copies into (empty: none).
  [[nodiscard]] std::span<epoll_event> buffer_for(std::size_t wanted) noexcept {
    return {buffer_.data(), std::min(wanted, buffer_.size())};
  }
  // What a wait returns, from its call's result `ready` (read before errno can change): the
  // ready entries as Events, 0 for EINTR (the contract's signal rule), else −errno.
  int deliver(int ready, std::span<Event> events) const noexcept {
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < ready; ++i) {
      events[static_cast<std::size_t>(i)] = to_event(buffer_[static_cast<std::size_t>(i)]);
    }
    return ready;
  }

 private:
  static constexpr std::size_t kMinBuffer = 64;

  std::string_view mechanism_;
  int fd_;
  std::size_t registered_ = 0;
  std::vector<epoll_event> buffer_;
};

}  // namespace pollbench::detail
