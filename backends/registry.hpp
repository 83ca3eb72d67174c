// The registry: every backend pollbench knows, in preference order (best first), like
// libevent's eventops table. Tests, benchmarks and `pollbench list` iterate over it, so a new
// row is tested and measured with no other change. A row is the one place a backend's name and
// capabilities are written: the Poller it makes does not repeat them.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backends/poller.hpp"

namespace pollbench {

struct Backend {
  std::string_view name;         // as in benchmark names and --filter
  std::string_view description;  // one line, for `pollbench list`
  Capabilities capabilities;
  std::unique_ptr<Poller> (*make)();  // throws std::system_error if the mechanism is refused
  // The system calls one event of the chain scenario costs the row (one wait per event, since
  // one fd is ready at a time, plus the harness's read and write), one name per call:
  // "epoll_wait read write". Every mechanism row states it; a library row leaves it empty and
  // is held to the set of the row it wraps (a library adds user-space work, not calls) unless
  // it makes more, for a reason its file gives (Asio re-arms with epoll_ctl). The syscall test
  // (tests/python/test_syscalls.py) counts them with strace and compares; see syscall_set().
  std::string_view syscalls_per_event = {};
  // The raw mechanism (bench/raw.cpp: raw/<raw_floor>) whose bare loop this row wraps, so that
  // dispatch/<row> over raw/<raw_floor> is the cost of the interface alone; empty if none.
  std::string_view raw_floor = {};
  // For a library row: the registry row of the mechanism the library runs on, so that the
  // library's cost can be set against it; empty for a mechanism row.
  std::string_view wraps = {};

  // The capabilities the suite chooses rows by, each defined here only.
  // A library row: it runs on the mechanism of another row (`wraps`).
  [[nodiscard]] bool is_library() const noexcept { return !wraps.empty(); }
  // A row whose bare syscall loop is measured beside it (raw/<raw_floor>).
  [[nodiscard]] bool has_raw_floor() const noexcept { return !raw_floor.empty(); }
  // Whether it can poll an fd numbered `fd` (capabilities.max_fd).
  [[nodiscard]] bool polls_fd(std::int64_t fd) const noexcept { return fd <= capabilities.max_fd; }
  // Whether it polls any fd the process can open; fd_limited: not (select's FD_SETSIZE).
  [[nodiscard]] bool polls_any_fd() const noexcept { return capabilities.max_fd == INT_MAX; }
  [[nodiscard]] bool fd_limited() const noexcept { return !polls_any_fd(); }
};

// The calls one chain event is expected to cost `backend`: its own syscalls_per_event, or, for a
// library row that states none, the set of the row it wraps.
std::string_view syscall_set(const Backend& backend) noexcept;

// All rows, available here or not, in preference order.
std::span<const Backend> backends() noexcept;

// The row called `name`, or nullptr.
const Backend* find_backend(std::string_view name) noexcept;

// Why `backend` cannot run on this machine, or nullopt if it can. The probe constructs the
// backend for real (a seccomp filter or a sysctl can refuse a mechanism the headers offer).
std::optional<std::string> unavailable_reason(const Backend& backend);

}  // namespace pollbench
