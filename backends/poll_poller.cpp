// poll(2) backend.
//
// Kernel quirks this file handles:
//  a) poll silently ignores a negative fd (it is how callers "disable" a slot), so add()
//     rejects negative fds itself rather than watching nothing.
//  b) An fd that is not open is not an error for poll(2): it comes back as POLLNVAL in
//     revents, every call, until removed. It is reported as an error event.
//  c) POLLHUP and POLLERR are reported whatever was asked for; a peer close on a socket
//     usually arrives as POLLIN|POLLHUP, so the event carries both readable and hangup. A
//     half-close (shutdown(SHUT_WR) by the peer, a TCP FIN) is POLLRDHUP only, reported only
//     when asked for (Linux, _GNU_SOURCE): read interest asks for it.
//  d) The kernel copies and walks the whole pollfd array on every call: O(registered). The
//     array is kept persistent and dense (swap-remove, fd→slot index) so at least user space
//     adds nothing per wait, and add/remove are O(1).
//  e) poll returns how many entries have revents set; the scan stops once it has seen that
//     many, and resumes where a full event array stopped last time so no fd starves.
//  f) The timeout is in milliseconds; nanoseconds are rounded up so a wait never returns
//     early.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "backends/poller.hpp"

namespace pollbench {
namespace {

class PollPoller final : public Poller {
 public:
  PollPoller() { slot_of_fd_.assign(1024, kNoSlot); }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, "poll", "negative fd");
    const short events = to_poll_events(interest);
    const auto ufd = static_cast<std::size_t>(fd);
    if (ufd >= slot_of_fd_.size())
      slot_of_fd_.resize(std::max(ufd + 1, 2 * slot_of_fd_.size()), kNoSlot);
    if (slot_of_fd_[ufd] != kNoSlot) throw_errno(EEXIST, "poll", "fd is already registered");
    slot_of_fd_[ufd] = static_cast<int>(fds_.size());
    fds_.push_back(pollfd{.fd = fd, .events = events, .revents = 0});
    tokens_.push_back(token);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const int slot = slot_of(fd);
    if (slot == kNoSlot) throw_errno(ENOENT, "poll", "modify: fd is not registered");
    fds_[static_cast<std::size_t>(slot)].events = to_poll_events(interest);
    tokens_[static_cast<std::size_t>(slot)] = token;
  }

  void do_remove(int fd) override {
    const int slot = slot_of(fd);
    if (slot == kNoSlot) throw_errno(ENOENT, "poll", "remove: fd is not registered");
    const auto s = static_cast<std::size_t>(slot);
    const std::size_t last = fds_.size() - 1;
    if (s != last) {
      fds_[s] = fds_[last];
      tokens_[s] = tokens_[last];
      slot_of_fd_[static_cast<std::size_t>(fds_[s].fd)] = slot;
    }
    fds_.pop_back();
    tokens_.pop_back();
    slot_of_fd_[static_cast<std::size_t>(fd)] = kNoSlot;
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const int ready = ::poll(fds_.data(), fds_.size(), timeout_to_ms(timeout));
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    const std::size_t count = fds_.size();
    std::size_t seen = 0;
    std::size_t n = 0;
    std::size_t i = cursor_ < count ? cursor_ : 0;
    for (std::size_t step = 0; step < count && seen < static_cast<std::size_t>(ready); ++step) {
      const pollfd& p = fds_[i];
      if (p.revents != 0) {
        ++seen;
        if (n == events.size()) {
          cursor_ = i;
          break;
        }
        events[n++] = Event{.token = tokens_[i],
                            .readable = (p.revents & POLLIN) != 0,
                            .writable = (p.revents & POLLOUT) != 0,
                            .hangup = (p.revents & (POLLHUP | POLLRDHUP)) != 0,
                            .error = (p.revents & (POLLERR | POLLNVAL)) != 0};
      }
      if (++i == count) i = 0;
    }
    return static_cast<int>(n);
  }

 private:
  static constexpr int kNoSlot = -1;

  static short to_poll_events(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, "poll", "empty interest");
    short events = 0;
    if ((interest & kReadable) != 0) events |= POLLIN | POLLRDHUP;
    if ((interest & kWritable) != 0) events |= POLLOUT;
    return events;
  }

  [[nodiscard]] int slot_of(int fd) const {
    if (fd < 0 || static_cast<std::size_t>(fd) >= slot_of_fd_.size()) return kNoSlot;
    return slot_of_fd_[static_cast<std::size_t>(fd)];
  }

  std::vector<pollfd> fds_;
  std::vector<std::uint64_t> tokens_;
  std::vector<int> slot_of_fd_;
  std::size_t cursor_ = 0;
};

}  // namespace

std::unique_ptr<Poller> make_poll_poller() {
  return std::make_unique<PollPoller>();
}

}  // namespace pollbench
