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
//   remove(fd)                   stop watching fd. ENOENT if fd is not registered — whatever
//                                its number: an fd above max_fd was never registered, so it is
//                                ENOENT here, not ERANGE.
//   Registration never adds a syscall the mechanism does not need: poll and select record the
//   fd in user space, so an fd that is not open is accepted there and reported at the next
//   wait as an event with `error` set (poll's POLLNVAL, select's EBADF), for as long as it stays
//   registered. epoll rejects it at add() instead.
//
// Waiting
//   wait(events, timeout)        wait for readiness and write at most events.size() events,
//                                one per ready fd, into `events`; return how many (>= 0), or a
//                                negative errno if the syscall failed for a reason other than a
//                                signal. timeout == 0 returns at once, timeout < 0 blocks until
//                                an event arrives, timeout > 0 blocks at most that long.
//                                Timeouts are rounded up to the mechanism's resolution, never
//                                down: with nothing ready and no signal, a wait never returns
//                                before its timeout has elapsed. A timeout longer than
//                                kLongestTimeout (INT_MAX ms, 24.8 days: the longest that
//                                epoll_wait and poll take) blocks, as a negative one does.
//                                wait() never allocates, logs or throws: it is the timed path.
//   Signals: a signal delivered to the waiting thread (a handler installed without
//     SA_RESTART) ends a blocking or a bounded wait, which returns 0 — the EINTR of the
//     mechanism, so that an event loop can run what the handler asked for. Events that arrive
//     meanwhile are not lost: the next wait reports them. capabilities.signal_ends_wait ==
//     false: the backend (a library that retries EINTR itself) ends a wait only on an event or
//     the timeout; a signal does not end it and does not make it fail.
//   Delivery
//     level-triggered (capabilities.edge_triggered == false): every wait reports each fd
//       that is ready now, up to events.size(): a wait returns fewer than events.size() events
//       only when fewer fds are ready (events a library kept from an earlier wait do not end
//       it early). If more fds are ready than `events` holds, the rest are reported by later
//       waits as long as they stay ready.
//     edge-triggered: an fd is reported once per change to ready; unread data is not reported
//       again until new data arrives. Events that did not fit are kept for the next wait,
//       none lost and none repeated.
//   Event flags: readable / writable follow the interest.
//     hangup   the peer will send nothing more: it closed, or shut down its writing side (a
//              half-close; read() returns 0 either way). capabilities.hangup == false: the
//              backend cannot tell and reports the fd readable (with read interest).
//     error    a socket error is pending (POLLERR: a refused connect, an ICMP error on a
//              connected UDP socket; getsockopt(SO_ERROR) says which), or the fd is not open
//              (see Registration). The fd is reported whatever the interest. Where a
//              capability says the backend cannot tell — socket_error == false, bad_fd_error
//              == false — it reports the fd readable or writable instead, never not at all.
//
// Threads
//   A Poller is not thread-safe: its calls must not overlap. Successive calls may come from
//   different threads when the caller orders them (a mutex, a join): registering in one thread
//   and waiting in another, or a new thread waiting after the previous waiter has exited, work
//   as if one thread made every call — nothing registered is lost when a thread that called
//   the poller exits (io_uring cancels the requests of an exiting task; uring_poller.cpp
//   re-arms them. The kernel finishes that cancellation a moment after the thread is gone, so
//   a wait(0) in that moment can come back empty; a bounded or blocking wait sees it). Builds
//   without NDEBUG (the sanitizer builds) check the rule: a call that overlaps another fails with
//   EBUSY (add, modify, remove throw; wait returns -EBUSY) instead of racing on the backend's
//   buffers.
//
// Closing an fd that is still registered is a caller error (as with every one of these
// mechanisms) but never crashes a later wait: epoll drops the fd by itself, poll and select
// report it with `error` until it is removed. Remove before close. (A backend that cannot
// promise this says so with capabilities.survives_close_while_registered == false.)
// While another descriptor refers to the same open file (a dup(), a fork, SCM_RIGHTS), closing
// one number does not close the file: epoll keeps the registration (it is keyed by the open
// file), keeps reporting its token while the file is ready, and remove() of the closed number
// fails with EBADF — only closing the last descriptor ends it
// (capabilities.reports_after_close_while_file_open == false: the token comes once at most,
// then never — EPOLLONESHOT, whose re-arm needs the closed number). poll and select key by number,
// and the io_uring rows find the poll by the number in their own table (POLL_REMOVE cancels it
// though it holds the file): those remove it as usual. Either way no wait spins: a wait that
// has nothing to report still sleeps. (capabilities.survives_close_while_file_open == false: a
// library that drops its own record while the kernel keeps reporting, and then spins inside its
// loop.)
//
// Memory between waits: a backend holds what its registered fds need, plus at most a bounded
// amount (not growing with the number of add/remove calls) for fds removed since the last
// wait — a library that frees a removed fd's record only inside its loop runs that part of
// its loop from remove() before the amount grows past its bound. So a program that adds and
// removes fds without waiting in between does not grow its heap.
//
// Setup errors (creating the poller) throw std::system_error naming the mechanism and the
// syscall; the caller knows which row it asked for.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <limits>
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
  // Closing a registered fd while a dup keeps its file open never makes a wait spin, as the
  // contract says. false: the library forgets the fd while epoll keeps reporting it, and its
  // loop spins on those reports (libevent over epoll).
  bool survives_close_while_file_open = true;
  // Where the registration outlives that close (epoll), its token is still reported while the
  // file is ready, as the contract says. false: once at most, then never (EPOLLONESHOT: the
  // re-arm is an EPOLL_CTL_MOD on the closed number, which fails with EBADF).
  bool reports_after_close_while_file_open = true;
  // A signal ends a blocking or bounded wait (returns 0). false: the library retries EINTR.
  bool signal_ends_wait = true;
  // A pending socket error sets `error`. false: reported as readable / writable only
  // (select's sets and libevent's EV_READ cannot carry POLLERR).
  bool socket_error = true;
  // A peer close and a half-close set `hangup`. false: readable only, read() returns 0.
  bool hangup = true;
};

class Poller {
 public:
  Poller() = default;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  Poller(Poller&&) = delete;
  Poller& operator=(Poller&&) = delete;
  virtual ~Poller() = default;

  // The contract above, in one place for every backend: timeouts too long to represent become
  // "block", and (builds without NDEBUG) overlapping calls are refused. A backend implements
  // the do_ functions and may assume both.
  void add(int fd, Interest interest, std::uint64_t token) {
    const Exclusive call(*this, "add");
    do_add(fd, interest, token);
  }
  void modify(int fd, Interest interest, std::uint64_t token) {
    const Exclusive call(*this, "modify");
    do_modify(fd, interest, token);
  }
  void remove(int fd) {
    const Exclusive call(*this, "remove");
    do_remove(fd);
  }
  int wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept {
    if (timeout > kLongestTimeout) timeout = kBlock;
#ifdef NDEBUG
    return do_wait(events, timeout);
#else
    if (busy_.exchange(true, std::memory_order_acquire)) return -EBUSY;
    const int n = do_wait(events, timeout);
    busy_.store(false, std::memory_order_release);
    return n;
#endif
  }

  static constexpr std::chrono::nanoseconds kBlock{-1};
  static constexpr std::chrono::nanoseconds kLongestTimeout =
      std::chrono::milliseconds(std::numeric_limits<int>::max());

 private:
  virtual void do_add(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void do_modify(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void do_remove(int fd) = 0;
  virtual int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept = 0;

#ifdef NDEBUG
  struct Exclusive {
    Exclusive(Poller& /*poller*/, const char* /*call*/) {}
  };
#else
  // Marks the poller busy for one call; throws EBUSY if another call holds it.
  class Exclusive {
   public:
    Exclusive(Poller& poller, const char* call);
    ~Exclusive() { poller_.busy_.store(false, std::memory_order_release); }
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;
    Exclusive(Exclusive&&) = delete;
    Exclusive& operator=(Exclusive&&) = delete;

   private:
    Poller& poller_;
  };
  std::atomic<bool> busy_{false};
#endif
};

// Shared by the backends so that every one words its errors the same way:
// "<mechanism>: <what>: <strerror>", the mechanism as the user knows it ("epoll", "io_uring",
// "libevent"), not a registry row's name.
[[noreturn]] void throw_errno(int err, std::string_view mechanism, std::string_view what);
[[noreturn]] void throw_bad_fd_range(std::string_view mechanism, int fd, int max_fd);

// Timeout conversions that round up, so a wait never returns before its timeout.
// Negative (and above Poller::kLongestTimeout) becomes -1 (block), zero stays zero.
int timeout_to_ms(std::chrono::nanoseconds timeout) noexcept;

}  // namespace pollbench
