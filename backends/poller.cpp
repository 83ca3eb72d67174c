#include "backends/poller.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

namespace pollbench {

void throw_errno(int err, std::string_view mechanism, std::string_view what) {
  throw std::system_error(err, std::generic_category(), fmt::format("{}: {}", mechanism, what));
}

void throw_bad_fd_range(std::string_view mechanism, int fd, int max_fd) {
  throw std::system_error(ERANGE, std::generic_category(),
                          fmt::format("{}: fd {} is above the largest fd this backend accepts ({})",
                                      mechanism, fd, max_fd));
}

#ifndef NDEBUG
Poller::Exclusive::Exclusive(Poller& poller, const char* call) : poller_(poller) {
  if (poller_.busy_.exchange(true, std::memory_order_acquire)) {
    throw std::system_error(EBUSY, std::generic_category(),
                            fmt::format("poller: {} while another call is running (a Poller is "
                                        "not thread-safe: calls must not overlap)",
                                        call));
  }
}
#endif

int timeout_to_ms(std::chrono::nanoseconds timeout) noexcept {
  if (timeout.count() < 0 || timeout > Poller::kLongestTimeout) return -1;
  constexpr std::int64_t kNsPerMs = 1'000'000;
  const std::int64_t ms = (timeout.count() + kNsPerMs - 1) / kNsPerMs;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace pollbench
