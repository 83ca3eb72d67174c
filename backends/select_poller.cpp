// select(2) backend.
//
// Kernel quirks this file handles:
//  a) FD_SET on an fd >= FD_SETSIZE (1024) writes past the end of fd_set: undefined behaviour
//     that corrupts the stack silently. add() refuses such fds with ERANGE, and the harness
//     gives the polled ends the lowest fd numbers so select reaches as many as it can.
//     modify() and remove() answer ENOENT for them, as for any fd that was never added.
//  b) select overwrites its sets (and, on Linux, its timeout): every wait copies the master
//     sets first — only the words up to the highest registered fd, not all 128 bytes.
//  c) One closed fd in the set fails the whole call with EBADF and reports nothing. The wait
//     then finds the culprits (F_GETFD) and reports each as an error event, so one bad fd
//     cannot hide the others forever nor crash the caller.
//  d) select cannot tell hangup from data: a peer close shows up as readable, read() gives 0.
//     Nor a socket error from readiness: POLLERR puts the fd in both the read and the write
//     set, so a refused connect is writable and a UDP socket with an ICMP error readable;
//     getsockopt(SO_ERROR) tells (the row says hangup = false, socket_error = false).
//  e) The cost of a wait is O(highest fd), not O(registered): the kernel walks every bit up
//     to nfds, and so does the scan of the result here, one 64-bit word at a time.
//  f) The timeout is a timeval (microseconds); nanoseconds are rounded up so a wait never
//     returns early.
#include <fcntl.h>
#include <sys/select.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "backends/detail/fd_set_limit.hpp"
#include "backends/poller.hpp"

namespace pollbench {
namespace {

constexpr int kWordBits = static_cast<int>(8 * sizeof(fd_mask));

class SelectPoller final : public Poller {
 public:
  SelectPoller() {
    FD_ZERO(&master_read_);
    FD_ZERO(&master_write_);
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    check_fd(fd);
    if (registered(fd)) throw_errno(EEXIST, "select", "fd is already registered");
    set_interest(fd, interest, token);
    max_fd_ = std::max(max_fd_, fd);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    if (!registered(fd)) throw_errno(ENOENT, "select", "modify: fd is not registered");
    set_interest(fd, interest, token);
  }

  void do_remove(int fd) override {
    if (!registered(fd)) throw_errno(ENOENT, "select", "remove: fd is not registered");
    FD_CLR(fd, &master_read_);
    FD_CLR(fd, &master_write_);
    while (max_fd_ >= 0 && !registered(max_fd_)) --max_fd_;
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const int nfds = max_fd_ + 1;
    const int words = (nfds + kWordBits - 1) / kWordBits;
    const std::size_t bytes = static_cast<std::size_t>(words) * sizeof(fd_mask);
    std::memcpy(&read_, &master_read_, bytes);
    std::memcpy(&write_, &master_write_, bytes);

    timeval tv{};
    timeval* tvp = nullptr;
    if (timeout.count() >= 0) {
      const std::int64_t us = (timeout.count() + 999) / 1000;
      tv.tv_sec = static_cast<time_t>(us / 1'000'000);
      tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
      tvp = &tv;
    }
    const int ready = ::select(nfds, &read_, &write_, nullptr, tvp);
    if (ready < 0) {
      if (errno == EINTR) return 0;
      if (errno == EBADF) return report_closed_fds(events);
      return -errno;
    }
    if (ready == 0 || events.empty()) return 0;

    // The scan starts at the fd after the last one a full event array took, and wraps, so a
    // small array cannot starve the high fds while the low ones stay ready. k == words
    // revisits the first word for the bits below the start.
    const int start = cursor_ <= max_fd_ ? cursor_ : 0;
    const int first_word = start / kWordBits;
    const int first_bit = start % kWordBits;
    std::size_t n = 0;
    for (int k = 0; k <= words; ++k) {
      const int w = (first_word + k) % words;
      auto bits = static_cast<unsigned long>(read_.fds_bits[w] | write_.fds_bits[w]);
      if (k == 0) bits &= ~0UL << first_bit;
      if (k == words) bits &= first_bit == 0 ? 0UL : (1UL << first_bit) - 1;
      while (bits != 0) {
        const int fd = w * kWordBits + __builtin_ctzl(bits);
        bits &= bits - 1;
        Event& ev = events[n++];
        ev.token = tokens_[fd];
        ev.readable = FD_ISSET(fd, &read_);
        ev.writable = FD_ISSET(fd, &write_);
        ev.hangup = false;
        ev.error = false;
        if (n == events.size()) {
          cursor_ = fd + 1;
          return static_cast<int>(n);
        }
      }
    }
    return static_cast<int>(n);
  }

 private:
  static void check_fd(int fd) {
    if (fd < 0) throw_errno(EBADF, "select", "negative fd");
    if (fd > detail::kFdSetMaxFd) throw_bad_fd_range("select", fd, detail::kFdSetMaxFd);
  }

  // Quirk a: FD_ISSET past FD_SETSIZE reads out of bounds too; such an fd was never added.
  [[nodiscard]] bool registered(int fd) const {
    if (fd < 0 || fd > detail::kFdSetMaxFd) return false;
    return FD_ISSET(fd, &master_read_) || FD_ISSET(fd, &master_write_);
  }

  void set_interest(int fd, Interest interest, std::uint64_t token) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, "select", "empty interest");
    FD_CLR(fd, &master_read_);
    FD_CLR(fd, &master_write_);
    if ((interest & kReadable) != 0) FD_SET(fd, &master_read_);
    if ((interest & kWritable) != 0) FD_SET(fd, &master_write_);
    tokens_[fd] = token;
  }

  // Error path only (quirk c): one F_GETFD per registered fd.
  int report_closed_fds(std::span<Event> events) noexcept {
    std::size_t n = 0;
    for (int fd = 0; fd <= max_fd_ && n < events.size(); ++fd) {
      if (!registered(fd) || ::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
      events[n++] = Event{.token = tokens_[fd], .error = true};
    }
    return static_cast<int>(n);
  }

  fd_set master_read_{};
  fd_set master_write_{};
  fd_set read_{};
  fd_set write_{};
  std::array<std::uint64_t, detail::kFdSetMaxFd + 1> tokens_{};
  int max_fd_ = -1;
  int cursor_ = 0;
};

}  // namespace

std::unique_ptr<Poller> make_select_poller() {
  return std::make_unique<SelectPoller>();
}

}  // namespace pollbench
