// pollbench-syscalls [--fd-kind=KIND] ROW N A EVENTS: the chain scenario's work (bench/chain.cpp)
// for one registry row, between two marker syscalls, so that a tracer can count what one event
// costs. N pairs of KIND (the run's `--fd-kind`; socketpair by default) are registered, A of them
// (every N/A-th) get one byte, and every byte read is forwarded to the next pair, with non-blocking
// waits, until EVENTS bytes have been read — after a warm-up of the same loop, so that a library's
// first-pass work (registering its fds, growing its buffers) is not counted. The markers are
// write(2) calls on fd -1 (EBADF), which no backend makes:
//   write(-1, "pollbench-syscalls:begin", 24) ... write(-1, "pollbench-syscalls:end", 22)
// plots/syscalls.py runs this under `strace -f` and counts the calls between them.
//
// Prints "events <read>" and "expected <calls>" on stdout: the set the row's registry row
// states for one event (syscall_set(): "epoll_wait read write"), which the tracer compares. Exit
// status: 0 done, 2 bad arguments, 3 the row (or the chain over KIND) is not available here (the
// reason on stderr), 1 the chain lost its events.
#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "backends/registry.hpp"
#include "harness/chain_loop.hpp"
#include "harness/fd_pool.hpp"

namespace {

using pollbench::Event;
using pollbench::FdPool;

constexpr std::string_view kBegin = "pollbench-syscalls:begin";
constexpr std::string_view kEnd = "pollbench-syscalls:end";
constexpr std::size_t kWarmupEvents = 200;

void marker(std::string_view text) {
  // Fails with EBADF on purpose: only the tracer sees it.
  [[maybe_unused]] const ssize_t rc = ::write(-1, text.data(), text.size());
}

// The chain until `events` bytes are read (the active pairs' bytes and events - A forwarded
// ones); the number read.
std::size_t chain(pollbench::Poller& poller, const FdPool& pool, std::span<Event> out,
                  const std::vector<std::size_t>& active, std::size_t events) {
  const std::size_t writes = events > active.size() ? events - active.size() : 0;
  return pollbench::chain_once(poller, pool, out, active, pool.size(), writes).received;
}

bool parse(std::string_view text, std::size_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && value > 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  pollbench::FdKind kind = pollbench::FdKind::kSocketPair;
  constexpr std::string_view kKindFlag = "--fd-kind=";
  if (!args.empty() && args.front().starts_with(kKindFlag)) {
    try {
      kind = pollbench::parse_fd_kind(args.front().substr(kKindFlag.size()));
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "pollbench-syscalls: --fd-kind: {}\n", e.what());
      return 2;
    }
    args.erase(args.begin());
  }
  std::size_t n = 0;
  std::size_t a = 0;
  std::size_t events = 0;
  if (args.size() != 4 || !parse(args[1], n) || !parse(args[2], a) || !parse(args[3], events) ||
      a > n) {
    fmt::print(stderr,
               "usage: pollbench-syscalls [--fd-kind=KIND] ROW N A EVENTS (1 <= A <= N, "
               "EVENTS > 0)\n");
    return 2;
  }
  const pollbench::Backend* backend = pollbench::find_backend(args[0]);
  if (backend == nullptr) {
    fmt::print(stderr, "pollbench-syscalls: no registry row named '{}'\n", args[0]);
    return 2;
  }
  if (auto why = pollbench::unavailable_reason(*backend)) {
    fmt::print(stderr, "pollbench-syscalls: {}: {}\n", backend->name, *why);
    return 3;
  }
  if (kind == pollbench::FdKind::kEventFd) {
    // As the chain rows skip: a byte read is an event, and an eventfd holds a counter.
    fmt::print(stderr,
               "pollbench-syscalls: the chain forwards bytes from pair to pair, and an eventfd "
               "holds a counter, not bytes (--fd-kind eventfd)\n");
    return 3;
  }
  try {
    FdPool pool(n, kind);
    auto poller = backend->make();
    for (std::size_t i = 0; i < n; ++i) poller->add(pool.polled_fd(i), pollbench::kReadable, i);
    std::vector<std::size_t> active;
    for (std::size_t k = 0; k < a; ++k) active.push_back(k * (n / a));
    std::vector<Event> out(n);
    const std::size_t warm = chain(*poller, pool, out, active, kWarmupEvents);
    marker(kBegin);
    const std::size_t received = chain(*poller, pool, out, active, events);
    marker(kEnd);
    fmt::print("events {}\nexpected {}\n", received, pollbench::syscall_set(*backend));
    if (warm < kWarmupEvents || received < events) {
      fmt::print(stderr, "pollbench-syscalls: {}: the chain lost its events ({} of {})\n",
                 backend->name, received, events);
      return 1;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "pollbench-syscalls: {}: {}\n", backend->name, e.what());
    return 1;
  }
  return 0;
}
