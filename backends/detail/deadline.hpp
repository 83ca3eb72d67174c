// The deadline loop of a backend whose mechanism can return before the caller's timeout has
// elapsed (a library timer on a coarse clock or in whole milliseconds, a wakeup that brought
// nothing to report): it waits again for what is left, on its own steady clock, until there
// is something to report or the deadline has passed — so a wait never returns early.
#pragma once

#include <chrono>

namespace pollbench::detail {

// Calls step(left) until it returns true (something to report, or an error the step kept),
// where `left` is what remains of `timeout`:
//  - timeout == 0: one step, left = 0;
//  - timeout < 0 (block): steps with left = timeout until one returns true;
//  - timeout > 0: left = timeout, then the time to the deadline, > 0; returns once it passed.
// Inline and templated on the step, so the loop costs what the hand-written one did.
template <class Step>
void step_until_deadline(std::chrono::nanoseconds timeout, Step step) {
  if (timeout.count() == 0) {
    step(timeout);
    return;
  }
  if (timeout.count() < 0) {
    while (!step(timeout)) {
    }
    return;
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  std::chrono::nanoseconds left = timeout;
  while (!step(left)) {
    left = deadline - Clock::now();
    if (left.count() <= 0) return;
  }
}

}  // namespace pollbench::detail
