// pollbench-list: prints the registry — every backend, whether it runs here (and why not), its
// capabilities, and what its cost is set against: its raw floor (raw/<mechanism>, the bare
// syscall loop) or, for a library, the mechanism row it wraps. `./pollbench list` runs this.
#include <fmt/format.h>

#include <string>
#include <utility>

#include "backends/registry.hpp"
#include "harness/fd_pool.hpp"

int main() {
  using pollbench::WaitCost;
  fmt::print("{:<16} {:<9} {:<13} {:<13} {:<6} {:<14} {}\n", "backend", "available", "trigger",
             "wait cost", "max fd", "baseline", "description");
  for (const pollbench::Backend& b : pollbench::backends()) {
    const auto reason = pollbench::unavailable_reason(b);
    const auto& caps = b.capabilities;
    const std::string trigger = fmt::format("{}{}", caps.edge_triggered ? "edge" : "level",
                                            caps.one_shot ? ", 1-shot" : "");
    std::string baseline = b.has_raw_floor() ? fmt::format("raw/{}", b.raw_floor) : "";
    if (b.is_library()) baseline += fmt::format("{}{}", baseline.empty() ? "" : ",", b.wraps);
    fmt::print("{:<16} {:<9} {:<13} {:<13} {:<6} {:<14} {}\n", b.name, reason ? "no" : "yes",
               trigger, caps.wait_cost == WaitCost::kPerReady ? "O(ready)" : "O(registered)",
               b.polls_any_fd() ? std::string("-") : fmt::format("{}", caps.max_fd),
               baseline.empty() ? "-" : baseline, b.description);
    // What the backend cannot do that the contract (backends/poller.hpp) otherwise promises.
    const std::pair<bool, const char*> caveats[] = {
        {caps.bad_fd_error, "reports an fd that is not open as readable, not as an error"},
        {caps.survives_close_while_registered,
         "closing an fd before remove() can abort the process"},
        {caps.survives_close_while_file_open,
         "closing an fd while a dup keeps its file open makes later waits spin"},
        {caps.reports_after_close_while_file_open,
         "closing an fd while a dup keeps its file open: its token is reported once, then never"},
        {caps.signal_ends_wait, "a signal does not end a wait (the library retries EINTR)"},
        {caps.socket_error, "a socket error is reported as readable/writable, not as an error"},
        {caps.hangup, "a peer's close or half-close is reported as readable, not as hangup"},
    };
    for (const auto& [promised, caveat] : caveats) {
      if (!promised) fmt::print("{:<16} caveat: {}\n", "", caveat);
    }
    if (reason) fmt::print("{:<16} why not: {}\n", "", *reason);
  }
  using pollbench::FdKind;
  fmt::print(
      "\nfd limit: RLIMIT_NOFILE raised to {}; pools that fit now: {} socketpairs, {} pipes, {} "
      "eventfds\n",
      pollbench::raise_fd_limit(), pollbench::pool_capacity(FdKind::kSocketPair),
      pollbench::pool_capacity(FdKind::kPipe), pollbench::pool_capacity(FdKind::kEventFd));
  return 0;
}
