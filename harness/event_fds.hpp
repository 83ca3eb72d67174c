// The event loop's other descriptors: a timerfd (timers), a signalfd and a self-pipe written
// from a signal handler (signals). Each owns what it opens (UniqueFd) and restores what it
// changes in the process — a thread's signal mask, a signal's disposition — when it is
// destroyed, however the test or benchmark that made it ends.
//
// Header-only, so the conformance suite and the benchmarks share it without a library of its
// own. Setup errors throw std::system_error naming the syscall; the calls a timed path makes
// (arm_timerfd, read_timerfd, read_signalfd, SelfPipe::read_signal, send_signal) never
// allocate or throw.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <memory>
#include <system_error>

#include "harness/unique_fd.hpp"

namespace pollbench {

// The signal the signal scenario and the conformance case send: a standard signal nothing else
// in pollbench uses (default action: terminate, which is why everything below keeps it blocked
// or handled while it can be pending).
inline constexpr int kBenchSignal = SIGUSR1;

// --- timerfd -------------------------------------------------------------------------------

// A CLOCK_MONOTONIC timerfd, non-blocking, close-on-exec, disarmed.
inline UniqueFd make_timerfd() {
  UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  return fd;
}

// Arms the timer for one expiry `ns` from now (relative, as a precise-timer loop re-arms before
// each wait; this also resets the expiry count); `ns` = 0 disarms it. false on failure (errno).
inline bool arm_timerfd(int fd, std::int64_t ns) noexcept {
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1'000'000'000;
  spec.it_value.tv_nsec = ns % 1'000'000'000;
  return ::timerfd_settime(fd, 0, &spec, nullptr) == 0;
}

// The expiries since the last read or arm: 0 if none (the read would block), -errno on failure.
inline std::int64_t read_timerfd(int fd) noexcept {
  std::uint64_t expiries = 0;
  if (::read(fd, &expiries, sizeof expiries) == static_cast<ssize_t>(sizeof expiries)) {
    return static_cast<std::int64_t>(expiries);
  }
  return errno == EAGAIN ? 0 : -errno;
}

// --- signals -------------------------------------------------------------------------------

// Blocks (or unblocks) one signal in the calling thread; the destructor restores the thread's
// previous mask. Construct and destroy it on the same thread.
class ScopedSignalMask {
 public:
  ScopedSignalMask(int how, int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (const int err = ::pthread_sigmask(how, &set, &saved_); err != 0) {
      throw std::system_error(err, std::generic_category(), "pthread_sigmask");
    }
  }
  ScopedSignalMask(const ScopedSignalMask&) = delete;
  ScopedSignalMask& operator=(const ScopedSignalMask&) = delete;
  ScopedSignalMask(ScopedSignalMask&&) = delete;
  ScopedSignalMask& operator=(ScopedSignalMask&&) = delete;
  ~ScopedSignalMask() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_{};
};

// Installs `handler` for `signo` (SA_RESTART not set: a blocked wait returns EINTR, as event
// loops expect); the destructor restores the previous disposition.
class ScopedSignalHandler {
 public:
  ScopedSignalHandler(int signo, void (*handler)(int)) : signo_(signo) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    if (::sigaction(signo, &action, &saved_) != 0) {
      throw std::system_error(errno, std::generic_category(), "sigaction");
    }
  }
  ScopedSignalHandler(const ScopedSignalHandler&) = delete;
  ScopedSignalHandler& operator=(const ScopedSignalHandler&) = delete;
  ScopedSignalHandler(ScopedSignalHandler&&) = delete;
  ScopedSignalHandler& operator=(ScopedSignalHandler&&) = delete;
  ~ScopedSignalHandler() { ::sigaction(signo_, &saved_, nullptr); }

 private:
  int signo_;
  struct sigaction saved_ {};
};

// A handler that does nothing: installed where a signal is meant to stay blocked, so that a
// thread that did not block it is interrupted instead of the process being terminated.
inline void ignore_signal(int /*signo*/) noexcept {}

// Sends `signo` to this process (kill(2): process-directed, as a signal from outside arrives;
// the kernel picks a thread that does not block it). false on failure (errno).
inline bool send_signal(int signo) noexcept {
  return ::kill(::getpid(), signo) == 0;
}

// Discards every instance of `signo` pending for the calling thread or the process, so that
// unblocking it later cannot run its handler or default action. The signal must be blocked in
// the calling thread. Returns how many were discarded.
inline int discard_pending(int signo) noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  const timespec zero{};
  int discarded = 0;
  while (::sigtimedwait(&set, nullptr, &zero) == signo) ++discarded;
  return discarded;
}

// A signalfd for `signo`, non-blocking, close-on-exec. It reports the signal only while it is
// blocked in every thread (otherwise a thread takes it by disposition first).
inline UniqueFd make_signalfd(int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "signalfd");
  return fd;
}

// The number of the next signal read from a signalfd: 0 if none is pending, -errno on failure.
inline int read_signalfd(int fd) noexcept {
  signalfd_siginfo info{};
  if (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    return static_cast<int>(info.ssi_signo);
  }
  return errno == EAGAIN ? 0 : -errno;
}

// The self-pipe trick (libevent's evsig, libuv's signal pipe): a handler for `signo` writes the
// signal's number as one byte into a non-blocking pipe whose read end the loop polls. One per
// process at a time (the handler finds the pipe through a global). The destructor restores the
// previous disposition, then closes the pipe.
class SelfPipe {
 public:
  explicit SelfPipe(int signo) : signo_(signo) {
    int ends[2];
    if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    read_.reset(ends[0]);
    write_.reset(ends[1]);
    int expected = -1;
    if (!write_fd().compare_exchange_strong(expected, write_.get())) {
      throw std::system_error(EBUSY, std::generic_category(), "self-pipe: one is installed");
    }
    try {
      handler_ = std::make_unique<ScopedSignalHandler>(signo, &SelfPipe::on_signal);
    } catch (...) {
      write_fd().store(-1);
      throw;
    }
  }
  SelfPipe(const SelfPipe&) = delete;
  SelfPipe& operator=(const SelfPipe&) = delete;
  SelfPipe(SelfPipe&&) = delete;
  SelfPipe& operator=(SelfPipe&&) = delete;
  ~SelfPipe() {
    handler_.reset();  // no handler can run after this, so the pipe may close
    write_fd().store(-1);
  }

  [[nodiscard]] int read_fd() const noexcept { return read_.get(); }
  [[nodiscard]] int signo() const noexcept { return signo_; }

  // The number of the next signal whose byte is in the pipe: 0 if none, -errno on failure.
  [[nodiscard]] int read_signal() const noexcept {
    unsigned char byte = 0;
    if (::read(read_.get(), &byte, 1) == 1) return byte;
    return errno == EAGAIN ? 0 : -errno;
  }

 private:
  static std::atomic<int>& write_fd() noexcept {
    static std::atomic<int> fd{-1};
    return fd;
  }
  // Async-signal-safe: one write(2), errno saved around it.
  static void on_signal(int signo) noexcept {
    const int saved = errno;
    const auto byte = static_cast<unsigned char>(signo);
    const int fd = write_fd().load(std::memory_order_relaxed);
    if (fd >= 0) (void)!::write(fd, &byte, 1);
    errno = saved;
  }

  int signo_;
  UniqueFd read_;
  UniqueFd write_;
  std::unique_ptr<ScopedSignalHandler> handler_;
};

}  // namespace pollbench
