// What the epoll rows and the bare epoll waits share, header-only: the Event an epoll_event
// reports, and epoll_pwait2(2) without a signal mask.
#pragma once

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

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

}  // namespace pollbench::detail
