#include "backends/registry.hpp"

#include <array>
#include <climits>
#include <exception>
#include <system_error>

#include "backends/detail/fd_set_limit.hpp"

namespace pollbench {

// One factory per backend file.
std::unique_ptr<Poller> make_epoll_lt_poller();
std::unique_ptr<Poller> make_epoll_et_poller();
std::unique_ptr<Poller> make_epoll_oneshot_poller();
std::unique_ptr<Poller> make_epoll_exclusive_poller();
std::unique_ptr<Poller> make_epoll_pwait2_poller();
std::unique_ptr<Poller> make_uring_oneshot_poller();
std::unique_ptr<Poller> make_uring_multishot_poller();
std::unique_ptr<Poller> make_libevent_epoll_poller();
std::unique_ptr<Poller> make_libevent_poll_poller();
std::unique_ptr<Poller> make_libevent_select_poller();
std::unique_ptr<Poller> make_libuv_poller();
std::unique_ptr<Poller> make_libev_epoll_poller();
std::unique_ptr<Poller> make_libev_poll_poller();
std::unique_ptr<Poller> make_libev_select_poller();
std::unique_ptr<Poller> make_libev_uring_poller();
std::unique_ptr<Poller> make_asio_epoll_poller();
std::unique_ptr<Poller> make_asio_uring_poller();
std::unique_ptr<Poller> make_poll_poller();
std::unique_ptr<Poller> make_select_poller();

namespace {

constexpr Capabilities kLevelPerReady{.edge_triggered = false, .wait_cost = WaitCost::kPerReady};
constexpr Capabilities kEdgePerReady{.edge_triggered = true, .wait_cost = WaitCost::kPerReady};
constexpr Capabilities kLevelPerReadyOneShot{
    .edge_triggered = false, .wait_cost = WaitCost::kPerReady, .one_shot = true};
// Asio re-arms a one-shot wait per event; its io_context retries EINTR, and a wait_read
// completes without telling an error or a hangup from readiness.
constexpr Capabilities kAsio{.edge_triggered = false,
                             .wait_cost = WaitCost::kPerReady,
                             .one_shot = true,
                             .signal_ends_wait = false,
                             .socket_error = false,
                             .hangup = false};
// select's sets say nothing of hangup or socket errors; max_fd: FD_SET past FD_SETSIZE.
constexpr Capabilities kSelect{.wait_cost = WaitCost::kPerRegistered,
                               .max_fd = detail::kFdSetMaxFd,
                               .socket_error = false,
                               .hangup = false};

// Syscalls per chain event (Backend::syscalls_per_event): the wait, and the harness's read and
// write. The epoll rows wait with epoll_wait; EPOLLONESHOT adds the EPOLL_CTL_MOD re-arm. The
// one-shot io_uring row's io_uring_enter submits the previous event's re-arm SQE and reaps; the
// multishot row makes none: its poll stays armed and a non-blocking wait reads the shared ring
// in user space. glibc's select() is the pselect6 syscall on x86-64. Asio over epoll re-arms
// every async_wait with epoll_ctl and waits twice: draining its handlers with poll_one() runs
// the reactor once more when none is left (asio_poller.cpp, quirks c and f).
constexpr std::string_view kEpollWaitSet = "epoll_wait read write";

constexpr std::array kBackends{
    Backend{"epoll_lt", "epoll(7), level-triggered: ready list, O(ready) per wait", kLevelPerReady,
            make_epoll_lt_poller, kEpollWaitSet, "epoll"},
    Backend{"epoll_et", "epoll(7) with EPOLLET: reports new data once", kEdgePerReady,
            make_epoll_et_poller, kEpollWaitSet},
    Backend{"epoll_oneshot", "epoll(7) with EPOLLONESHOT: one EPOLL_CTL_MOD re-arm per event",
            Capabilities{.edge_triggered = false,
                         .wait_cost = WaitCost::kPerReady,
                         .one_shot = true,
                         .reports_after_close_while_file_open = false},
            make_epoll_oneshot_poller, "epoll_wait epoll_ctl read write"},
    Backend{"epoll_exclusive",
            "epoll(7) with EPOLLEXCLUSIVE: one waiter woken per event across instances, LT",
            Capabilities{.wait_cost = WaitCost::kPerReady, .hangup = false},
            make_epoll_exclusive_poller, kEpollWaitSet},
    Backend{"epoll_pwait2",
            "epoll(7), level-triggered, waiting with epoll_pwait2(2): a timeout in nanoseconds",
            kLevelPerReady, make_epoll_pwait2_poller, "epoll_pwait2 read write"},
    Backend{"uring_oneshot",
            "io_uring IORING_OP_POLL_ADD, re-armed per completion: level-like, 1 SQE per event",
            kLevelPerReadyOneShot, make_uring_oneshot_poller, "io_uring_enter read write"},
    Backend{"uring_multishot",
            "io_uring multishot poll: one CQE per wakeup, edge-like, re-armed only if it ends",
            kEdgePerReady, make_uring_multishot_poller, "read write", "uring_poll"},
    Backend{"poll", "poll(2): persistent pollfd array, O(registered) per wait",
            Capabilities{.wait_cost = WaitCost::kPerRegistered}, make_poll_poller,
            "poll read write", "poll"},
    Backend{"select", "select(2): fd_set bitmaps, O(highest fd) per wait, fds < FD_SETSIZE",
            kSelect, make_select_poller, "pselect6 read write", "select"},
    Backend{"libevent_epoll", "libevent 2.1 event_base over epoll: persistent events, LT",
            Capabilities{.wait_cost = WaitCost::kPerReady,
                         .survives_close_while_file_open = false,
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libevent_epoll_poller, "", "", "epoll_lt"},
    Backend{"libevent_poll", "libevent 2.1 event_base over poll: persistent events",
            Capabilities{.bad_fd_error = false,
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libevent_poll_poller, "", "", "poll"},
    Backend{"libevent_select", "libevent 2.1 event_base over select: fds < FD_SETSIZE",
            Capabilities{.wait_cost = WaitCost::kPerRegistered,
                         .max_fd = kSelect.max_fd,  // its FD_SET, fortified (quirk f)
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libevent_select_poller, "", "", "select"},
    Backend{"libuv", "libuv 1.x uv_loop_t with one uv_poll_t per fd (epoll underneath)",
            Capabilities{.edge_triggered = false,
                         .wait_cost = WaitCost::kPerReady,
                         .survives_close_while_registered = false,
                         .survives_close_while_file_open = false,
                         .signal_ends_wait = false},
            make_libuv_poller, "", "", "epoll_lt"},
    Backend{"libev_epoll", "libev 4 loop over epoll: one ev_io watcher per fd, LT",
            Capabilities{.edge_triggered = false,
                         .wait_cost = WaitCost::kPerReady,
                         .survives_close_while_registered = false,
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libev_epoll_poller, "", "", "epoll_lt"},
    Backend{"libev_poll", "libev 4 loop over poll: one ev_io watcher per fd",
            Capabilities{.survives_close_while_registered = false,
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libev_poll_poller, "", "", "poll"},
    Backend{"libev_select",
            "libev 4 loop over select: its own bit vectors, no FD_SETSIZE limit, O(highest fd)",
            Capabilities{.signal_ends_wait = false, .socket_error = false, .hangup = false},
            make_libev_select_poller, "", "", "select"},
    Backend{"libev_uring", "libev 4 loop over io_uring (EVBACKEND_IOURING), one-shot polls",
            Capabilities{.edge_triggered = false,
                         .wait_cost = WaitCost::kPerReady,
                         .one_shot = true,
                         .survives_close_while_registered = false,
                         .signal_ends_wait = false,
                         .socket_error = false,
                         .hangup = false},
            make_libev_uring_poller, "", "", "uring_oneshot"},
    Backend{"asio_epoll",
            "Asio io_context, async_wait on a posix::stream_descriptor: epoll, 1 MOD re-arm/event",
            kAsio, make_asio_epoll_poller, "epoll_wait epoll_wait epoll_ctl read write", "",
            "epoll_lt"},
    Backend{"asio_uring",
            "Asio io_context on its io_uring service: async_wait is a one-shot poll SQE", kAsio,
            make_asio_uring_poller, "", "", "uring_oneshot"},
};

// A name is a row's identity in benchmark names, results files and --backend: two rows of one
// name would be measured twice and merged into one by every reader of the results.
constexpr bool names_unique() {
  for (std::size_t i = 0; i < kBackends.size(); ++i) {
    for (std::size_t j = i + 1; j < kBackends.size(); ++j) {
      if (kBackends[i].name == kBackends[j].name) return false;
    }
  }
  return true;
}
static_assert(names_unique(), "two registry rows share a name");

// A library row names the mechanism row it wraps, and that row must exist.
constexpr bool wrapped_rows_exist() {
  for (const Backend& lib : kBackends) {
    if (lib.wraps.empty()) continue;
    bool found = false;
    for (const Backend& b : kBackends) found = found || (b.name == lib.wraps && b.wraps.empty());
    if (!found) return false;
  }
  return true;
}
static_assert(wrapped_rows_exist(), "a library row wraps a mechanism row that is not in the table");

// The syscall test counts every row against a stated set: a mechanism row must state one.
constexpr bool mechanism_rows_state_their_syscalls() {
  for (const Backend& b : kBackends) {
    if (b.wraps.empty() && b.syscalls_per_event.empty()) return false;
  }
  return true;
}
static_assert(mechanism_rows_state_their_syscalls(),
              "a mechanism row states no syscalls_per_event");

}  // namespace

std::span<const Backend> backends() noexcept {
  return kBackends;
}

const Backend* find_backend(std::string_view name) noexcept {
  for (const Backend& b : kBackends) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

std::string_view syscall_set(const Backend& backend) noexcept {
  if (!backend.syscalls_per_event.empty() || !backend.is_library()) {
    return backend.syscalls_per_event;
  }
  const Backend* mechanism = find_backend(backend.wraps);
  return mechanism == nullptr ? std::string_view{} : mechanism->syscalls_per_event;
}

std::optional<std::string> unavailable_reason(const Backend& backend) {
  try {
    backend.make();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace pollbench
