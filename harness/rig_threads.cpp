#include "harness/rig_threads.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <system_error>

namespace pollbench {
namespace rig_detail {

[[noreturn]] void throw_sys(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void sleep_ns(std::int64_t ns) noexcept {
  timespec ts{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
  while (::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

pid_t current_tid() noexcept {
  return ::gettid();
}

pid_t await_tid(const std::atomic<pid_t>& tid) {
  const std::int64_t deadline = monotonic_ns() + kPatienceNs;
  pid_t t = 0;
  while ((t = tid.load(std::memory_order_acquire)) == 0) {
    if (monotonic_ns() > deadline) throw_sys(ETIMEDOUT, "rig: a waiter thread did not start");
    ::sched_yield();
  }
  return t;
}

void release(std::atomic<bool>& go) noexcept {
  go.store(true, std::memory_order_release);
  go.notify_all();
}

void await_release(const std::atomic<bool>& go) noexcept {
  go.wait(false, std::memory_order_acquire);
}

std::string describe(const char* failure, int err) {
  if (failure == nullptr) return "no failure";
  if (err == 0) return failure;
  return fmt::format("{}: {}", failure, std::generic_category().message(err));
}

}  // namespace rig_detail

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

ThreadState::ThreadState(pid_t tid)
    : fd_(::open(fmt::format("/proc/self/task/{}/stat", tid).c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_) rig_detail::throw_sys(errno, fmt::format("open /proc/self/task/{}/stat", tid));
}

bool ThreadState::sleeping() const noexcept {
  // "<tid> (<comm>) <state> ...": comm may hold ')' and spaces, so the state follows the last
  // ')'.
  std::array<char, 512> buf{};
  const ssize_t got = ::pread(fd_.get(), buf.data(), buf.size() - 1, 0);
  if (got <= 0) return false;
  const std::string_view text(buf.data(), static_cast<std::size_t>(got));
  const std::size_t paren = text.rfind(')');
  return paren != std::string_view::npos && paren + 2 < text.size() && text[paren + 2] == 'S';
}

}  // namespace pollbench
