// FdPool: N descriptor "pairs" to poll — one end registered with a Poller (the polled end),
// the other written to make it ready (the peer end). Every fd is non-blocking, close-on-exec
// and owned here, so nothing leaks however a test or benchmark ends.
//
// The polled ends take the lowest free fd numbers and the peer ends are moved high (F_DUPFD),
// so select(2), which cannot see fds >= FD_SETSIZE, covers as many polled fds as possible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "harness/unique_fd.hpp"

namespace pollbench {

enum class FdKind : std::uint8_t {
  kSocketPair,  // AF_UNIX stream socketpair: readable, writable, hangup on peer close
  kPipe,        // polled = read end, peer = write end: never writable
  kEventFd,     // one fd is both ends: 2x the pairs per fd limit
  kTcp,         // a connected loopback TCP connection (127.0.0.1, TCP_NODELAY): as a socketpair,
                // plus the TCP stack; one ephemeral port per pair
};

std::string_view to_string(FdKind kind) noexcept;
// Parses "socketpair", "pipe", "eventfd" or "tcp"; throws std::invalid_argument otherwise.
FdKind parse_fd_kind(std::string_view name);

// Raises the soft RLIMIT_NOFILE to the hard limit (once is enough; later calls are cheap) and
// returns the new soft limit.
int raise_fd_limit();

// The number of fds this process has open now (from /proc/self/fd).
int count_open_fds();

// How many pairs of `kind` still fit under the (raised) fd limit, keeping a small reserve for
// the rest of the process (tcp: also under the ephemeral port range, one port per pair).
std::size_t pool_capacity(FdKind kind);

class FdPool {
 public:
  // Creates `size` pairs. Throws std::length_error (saying how to raise the limit) if they do
  // not fit, std::system_error naming the syscall on any other failure.
  explicit FdPool(std::size_t size, FdKind kind = FdKind::kSocketPair);
  FdPool(const FdPool&) = delete;
  FdPool& operator=(const FdPool&) = delete;
  FdPool(FdPool&&) = delete;
  FdPool& operator=(FdPool&&) = delete;
  // tcp: the polled ends are reset (SO_LINGER 0) before they close, so that thousands of
  // pairs leave no TIME_WAIT behind for the next pool's connections.
  ~FdPool();

  [[nodiscard]] std::size_t size() const noexcept { return polled_.size(); }
  [[nodiscard]] FdKind kind() const noexcept { return kind_; }
  [[nodiscard]] int polled_fd(std::size_t i) const noexcept { return polled_[i].get(); }
  [[nodiscard]] int peer_fd(std::size_t i) const noexcept;

  // Timed-path helpers: no allocation, no throw. make_ready writes one byte (one count for an
  // eventfd) from the peer end and returns whether it was written; drain reads the polled end
  // until it would block and returns the bytes read (0 if nothing, or EOF).
  bool make_ready(std::size_t i) const noexcept;
  std::size_t drain(std::size_t i) const noexcept;

  // Closes the peer end of pair i (a hangup for the polled end). Not for eventfd pools.
  void close_peer(std::size_t i);
  // Closes the polled end of pair i.
  void close_polled(std::size_t i) { polled_[i].reset(); }

 private:
  FdKind kind_;
  std::vector<UniqueFd> polled_;
  std::vector<UniqueFd> peer_;  // empty for eventfd pools
};

// Index subsets of [0, n) with k elements, in increasing order.
std::vector<std::size_t> spread_subset(std::size_t n, std::size_t k);  // evenly spaced
std::vector<std::size_t> first_subset(std::size_t n, std::size_t k);   // 0..k-1
std::vector<std::size_t> random_subset(std::size_t n, std::size_t k, std::uint64_t seed);

}  // namespace pollbench
