// The Poller contract: the one interface every pollbench backend implements.
//
// A Poller watches file descriptors for readiness and reports it, the way select(2), poll(2),
// epoll(7) and their successors do. The contract below is what the conformance suite
// (tests/conformance_test.cpp) checks for every row of the registry, so a backend that follows
// it is tested with no extra code. A backend's name and Capabilities (below) are not the
// Poller's to say: they live in its registry row (backends/registry.hpp) and nowhere else, and
// "capabilities" below means that row's.
//
// Registration
//   add(fd, interest, token)     start watching fd. `interest` is a non-empty combination of
//                                kReadable and kWritable; `token` is returned in every event
//                                for fd. Errors (thrown as std::system_error):
//                                  EEXIST  fd is already registered with this poller
//                                  EINVAL  interest is empty
//                                  EBADF   fd is negative, or — only where the mechanism itself
//                                          checks it at registration (epoll_ctl) — not open
//                                  ERANGE  fd is above capabilities.max_fd (select: FD_SETSIZE)
//   modify(fd, interest, token)  replace fd's interest and token. ENOENT if fd is not registered;
//                                EINVAL for an empty interest.
//   remove(fd)                   stop watching fd. ENOENT if fd is not registered.
//   Registration never adds a syscall the mechanism does not need: poll and select record the
//   fd in user space, so an fd that is not open is accepted there and reported at the next
//   wait as an event with `error` set (poll's POLLNVAL, select's EBADF), for as long as it stays
//   registered. epoll rejects it at add() instead.
//
// Waiting
//   wait(events, timeout)        wait for readiness and write at most events.size() events,
//                                one per ready fd, into `events`; return how many (>= 0), or a
//                                negative errno if the syscall failed for a reason other than a
//                                signal (EINTR returns 0). timeout == 0 returns at once,
//                                timeout < 0 blocks until an event arrives (or a signal), and
//                                timeout > 0 blocks at most that long. Timeouts are rounded
//                                up to the mechanism's resolution, never down, so a wait with
//                                nothing ready never returns before its timeout has elapsed.
//                                wait() never allocates, logs or throws: it is the timed path.
//   Delivery
//     level-triggered (capabilities.edge_triggered == false): every wait reports each fd
//       that is ready now. If more fds are ready than `events` holds, the rest are reported
//       by later waits as long as they stay ready.
//     edge-triggered: an fd is reported once per change to ready; unread data is not reported
//       again until new data arrives. Events that did not fit are kept for the next wait,
//       none lost and none repeated.
//   Event flags: readable / writable follow the interest; hangup is set when the peer closed
//   (a backend that cannot tell reports the fd readable, and read() returns 0); error is set
//   for a socket error or an fd that is not open (see Registration) — unless
//   capabilities.bad_fd_error is false: that backend cannot tell and reports it readable.
//
// Closing an fd that is still registered is a caller error (as with every one of these
// mechanisms) but never crashes a later wait: epoll drops the fd by itself, poll and select
// report it with `error` until it is removed. Remove before close. (A backend that cannot
// promise this says so with capabilities.survives_close_while_registered == false.)
//
// Setup errors (creating the poller) throw std::system_error naming the mechanism and the
// syscall; the caller knows which row it asked for.
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace pollbench {

enum Interest : std::uint8_t {
  kReadable = 1U << 0U,
  kWritable = 1U << 1U,
  kReadWrite = kReadable | kWritable,
};

struct Event {
  std::uint64_t token = 0;
  bool readable = false;
  bool writable = false;
  bool hangup = false;
  bool error = false;
};

// How the cost of one wait grows: with every registered fd (select, poll: the kernel walks the
// whole set on each call) or only with the fds that are ready (epoll: a ready list).
enum class WaitCost : std::uint8_t { kPerRegistered, kPerReady };

struct Capabilities {
  bool edge_triggered = false;
  WaitCost wait_cost = WaitCost::kPerRegistered;
  int max_fd = INT_MAX;  // the largest fd number add() accepts
  // The mechanism disarms an fd once it has reported it (EPOLLONESHOT, a one-shot io_uring
  // poll) and the backend re-arms it at the next wait: one more syscall or SQE per event.
  // Delivery still follows edge_triggered; this says what it costs.
  bool one_shot = false;
  // An fd that is not open is refused with EBADF or reported with `error`, as the contract
  // says. false: the backend cannot tell and reports it as plain readable (libevent over
  // poll(2) turns POLLNVAL into EV_READ).
  bool bad_fd_error = true;
  // Closing a registered fd before remove() never breaks a later wait, as the contract says.
  // false: it can abort the process (libuv aborts when epoll_ctl refuses an fd it queued).
  bool survives_close_while_registered = true;
};

class Poller {
 public:
  Poller() = default;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  Poller(Poller&&) = delete;
  Poller& operator=(Poller&&) = delete;
  virtual ~Poller() = default;

  virtual void add(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void modify(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void remove(int fd) = 0;
  virtual int wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept = 0;
};

// Shared by the backends so that every one words its errors the same way:
// "<mechanism>: <what>: <strerror>", the mechanism as the user knows it ("epoll", "io_uring",
// "libevent"), not a registry row's name.
[[noreturn]] void throw_errno(int err, std::string_view mechanism, std::string_view what);
[[noreturn]] void throw_bad_fd_range(std::string_view mechanism, int fd, int max_fd);

// Timeout conversions that round up, so a wait never returns before its timeout.
// Negative stays negative (block), zero stays zero.
int timeout_to_ms(std::chrono::nanoseconds timeout) noexcept;

}  // namespace pollbench
