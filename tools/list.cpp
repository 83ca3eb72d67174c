// pollbench-list: prints the registry — every backend, whether it runs here (and why not), and
// its capabilities. `./pollbench list` runs this.
#include <fmt/format.h>

#include <climits>

#include "backends/registry.hpp"
#include "harness/fd_pool.hpp"

int main() {
  using pollbench::WaitCost;
  fmt::print("{:<10} {:<11} {:<8} {:<15} {:<8} {}\n", "backend", "available", "trigger",
             "wait cost", "max fd", "description");
  for (const pollbench::Backend& b : pollbench::backends()) {
    const auto reason = pollbench::unavailable_reason(b);
    const auto& caps = b.capabilities;
    fmt::print("{:<10} {:<11} {:<8} {:<15} {:<8} {}\n", b.name, reason ? "no" : "yes",
               caps.edge_triggered ? "edge" : "level",
               caps.wait_cost == WaitCost::kPerReady ? "O(ready)" : "O(registered)",
               caps.max_fd == INT_MAX ? std::string("-") : fmt::format("{}", caps.max_fd),
               b.description);
    if (reason) {
      fmt::print("{:<10} why not: {}\n", "", *reason);
    }
  }
  using pollbench::FdKind;
  fmt::print(
      "\nfd limit: RLIMIT_NOFILE raised to {}; pools that fit now: {} socketpairs, {} pipes, {} "
      "eventfds\n",
      pollbench::raise_fd_limit(), pollbench::pool_capacity(FdKind::kSocketPair),
      pollbench::pool_capacity(FdKind::kPipe), pollbench::pool_capacity(FdKind::kEventFd));
  return 0;
}
