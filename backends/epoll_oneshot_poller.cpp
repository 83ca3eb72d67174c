// epoll(7) with EPOLLONESHOT: epoll_oneshot. The pattern of multi-threaded servers: epoll
// disarms an fd as soon as it has reported it, so no second thread is woken for it, and the
// thread that handled it re-arms it with EPOLL_CTL_MOD. Here the re-arm happens at the start of
// the next wait(), i.e. after the caller has handled the event: one epoll_ctl per event.
//
// Kernel quirks this file handles:
//  a) After one report a EPOLLONESHOT fd stays registered but disarmed: epoll reports nothing
//     more for it, whatever arrives, until EPOLL_CTL_MOD re-arms it (EPOLL_CTL_ADD would fail
//     with EEXIST). wait() re-arms every fd the previous wait reported.
//  b) EPOLL_CTL_MOD re-checks readiness at once: an fd re-armed with unread data goes straight
//     back on the ready list. So, seen from the caller, delivery is level-triggered (unread
//     data is reported again at the next wait) — capabilities say edge_triggered = false and
//     one_shot = true (one more syscall per event).
//  c) The re-arm needs the fd and its interest, but epoll hands back only epoll_event.data: it
//     carries the fd here, and an fd-indexed table gives the token and the interest. epoll_ctl
//     still checks registration itself (EEXIST, ENOENT, EBADF for a closed fd): the table adds
//     no syscall.
//  d) An fd closed while registered is dropped by epoll by itself: its pending re-arm then
//     fails with ENOENT or EBADF, which wait() ignores (it has nothing to report), and remove()
//     fails with EBADF, as for epoll_lt, and keeps the fd's slot: while a dup keeps the file
//     open, epoll still holds the registration and reports the closed number (in data.fd),
//     which must still map to its token — once, since the re-arm fails (EBADF) from then on:
//     nothing can re-arm a registration whose number is closed (EPOLL_CTL_MOD needs it, and a
//     dup per registration would double the fds). The contract's "epoll keeps reporting its
//     token while the file is ready" does not hold here: the row declares
//     reports_after_close_while_file_open = false.
//  e) EPOLLHUP and EPOLLERR are reported whatever the interest, and also disarm the fd. Read
//     interest asks for EPOLLRDHUP too, so a half-close sets hangup (as in epoll_poller.cpp).
//  f) Like epoll_lt, at most maxevents entries are copied out per wait and the rest stay on the
//     ready list; the buffer and the re-arm list grow in add(), so wait() never allocates.
//  g) The timeout is in milliseconds; nanoseconds are rounded up so a wait never returns
//     early.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "backends/poller.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kName = "epoll";

class EpollOneshotPoller final : public Poller {
 public:
  EpollOneshotPoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw_errno(errno, kName, "epoll_create1");
    buffer_.resize(kMinBuffer);
    rearm_.reserve(kMinBuffer);
  }
  ~EpollOneshotPoller() override { ::close(epfd_); }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    const std::uint32_t events = to_epoll_events(interest);
    ctl(EPOLL_CTL_ADD, fd, events, "epoll_ctl(ADD)");
    const auto ufd = static_cast<std::size_t>(fd);
    if (ufd >= slots_.size()) slots_.resize(std::max(ufd + 1, 2 * slots_.size()));
    slots_[ufd] = Slot{.token = token, .events = events, .registered = true, .in_rearm = false};
    if (++registered_ > buffer_.size()) {
      buffer_.resize(2 * buffer_.size());
      rearm_.reserve(buffer_.size());  // a wait reports (and queues) at most buffer_.size()
    }
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const std::uint32_t events = to_epoll_events(interest);
    ctl(EPOLL_CTL_MOD, fd, events, "epoll_ctl(MOD)");   // also re-arms
    Slot& slot = slots_[static_cast<std::size_t>(fd)];  // MOD succeeded: fd is in the table
    slot.token = token;
    slot.events = events;
    slot.in_rearm = false;
  }

  void do_remove(int fd) override {
    if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
      // EBADF: closed while registered (quirk d). The slot keeps the token: while a dup keeps
      // the file open, epoll still reports this fd number.
      throw_errno(errno, kName, "epoll_ctl(DEL)");
    }
    if (static_cast<std::size_t>(fd) < slots_.size() &&
        slots_[static_cast<std::size_t>(fd)].registered) {
      slots_[static_cast<std::size_t>(fd)] = Slot{};
      --registered_;
    }
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const std::size_t max = std::min(events.size(), buffer_.size());
    if (max == 0) return 0;
    rearm_reported();
    const int ready =
        ::epoll_wait(epfd_, buffer_.data(), static_cast<int>(max), timeout_to_ms(timeout));
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < ready; ++i) {
      const epoll_event& e = buffer_[static_cast<std::size_t>(i)];
      Slot& slot = slots_[static_cast<std::size_t>(e.data.fd)];
      events[static_cast<std::size_t>(i)] =
          Event{.token = slot.token,
                .readable = (e.events & EPOLLIN) != 0,
                .writable = (e.events & EPOLLOUT) != 0,
                .hangup = (e.events & (EPOLLHUP | EPOLLRDHUP)) != 0,
                .error = (e.events & EPOLLERR) != 0};
      if (!slot.in_rearm) {  // quirk a: disarmed now, re-armed by the next wait
        slot.in_rearm = true;
        rearm_.push_back(e.data.fd);  // capacity reserved in add(): no allocation
      }
    }
    return ready;
  }

 private:
  static constexpr std::size_t kMinBuffer = 64;

  struct Slot {
    std::uint64_t token = 0;
    std::uint32_t events = 0;
    bool registered = false;
    bool in_rearm = false;  // reported by the last wait, not re-armed yet
  };

  static std::uint32_t to_epoll_events(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
    std::uint32_t events = EPOLLONESHOT;
    if ((interest & kReadable) != 0) events |= EPOLLIN | EPOLLRDHUP;
    if ((interest & kWritable) != 0) events |= EPOLLOUT;
    return events;
  }

  void ctl(int op, int fd, std::uint32_t events, std::string_view what) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epfd_, op, fd, &ev) != 0) throw_errno(errno, kName, what);
  }

  // Quirk b: one EPOLL_CTL_MOD per fd the previous wait reported. A failure means the fd was
  // closed while registered (quirk d): nothing to re-arm, nothing to report.
  void rearm_reported() noexcept {
    for (const int fd : rearm_) {
      Slot& slot = slots_[static_cast<std::size_t>(fd)];
      if (!slot.in_rearm) continue;  // removed or modified since
      slot.in_rearm = false;
      epoll_event ev{};
      ev.events = slot.events;
      ev.data.fd = fd;
      (void)::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    }
    rearm_.clear();
  }

  int epfd_;
  std::size_t registered_ = 0;
  std::vector<epoll_event> buffer_;
  std::vector<Slot> slots_;  // indexed by fd
  std::vector<int> rearm_;   // fds reported by the last wait
};

}  // namespace

std::unique_ptr<Poller> make_epoll_oneshot_poller() {
  return std::make_unique<EpollOneshotPoller>();
}

}  // namespace pollbench
