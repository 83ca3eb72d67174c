// The collect step of a library adapter (libevent, libev, libuv, Asio): the library calls back
// once per ready fd per loop pass, however small the caller's array, and the adapter turns
// those callbacks into the caller's events. One piece of code for the four, because the
// contract's promise on filling the array lives here:
//  - a callback for an fd this wait already reported is merged into its event (a second pass,
//    or Asio's read and write waits on one fd), so a token is never reported twice in a wait;
//  - what does not fit is kept (its flags, in the slot) on the slot table's FIFO and reported
//    first by the next wait;
//  - a wait that delivered kept events still makes a non-blocking pass for the rest of the
//    array: a level-triggered wait reports each fd that is ready now up to events.size(), and
//    the kept ones alone are not all of them (the adapter calls needs_pass() to decide);
//  - a library that reads a bounded number of events per pass (libevent's and libev's epoll
//    arrays grow from 32 and 64) can leave ready fds out of a pass; may_have_more() says when
//    another non-blocking pass is due: the array has room, the last pass ran `batch`
//    callbacks or more, and it brought an fd that no earlier pass of this wait had brought.
//    epoll hands back a level-triggered ready list in rotation, so a pass that brings nothing
//    new has gone round the whole list.
// Nothing here allocates: the FIFO is the slot table's, grown in add().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "backends/poller.hpp"

namespace pollbench::detail {

// A slot's part of the bookkeeping: a slot embeds one as `fill`, next to `token`, `index` and
// `queued` (detail::SlotTable's).
struct FillMark {
  Event kept{};                   // flags kept for the next wait (token unused); none: nothing
  std::uint64_t reported_in = 0;  // the wait that reported it last
  std::uint64_t passed_in = 0;    // the wait in which a pass brought it last
  std::size_t out_index = 0;      // where, in that wait's events
};

[[nodiscard]] inline bool any_flag(const Event& e) noexcept {
  return e.readable || e.writable || e.hangup || e.error;
}

inline void merge_flags(Event& into, const Event& more) noexcept {
  into.readable = into.readable || more.readable;
  into.writable = into.writable || more.writable;
  into.hangup = into.hangup || more.hangup;
  into.error = into.error || more.error;
}

template <class Slots>
class EventFill {
 public:
  // A new wait writes into `out` (an empty span: a pass outside a wait, whose callbacks are all
  // kept for the next one).
  void start(std::span<Event> out) noexcept {
    out_ = out;
    count_ = 0;
    ++wait_;
  }

  // Before each library loop pass.
  void start_pass() noexcept {
    pass_callbacks_ = 0;
    pass_new_ = 0;
  }

  // A library callback: slot s is ready with `flags` (their token is ignored: s.token's).
  template <class Slot>
  void collect(Slots& slots, Slot& s, Event flags) noexcept {
    ++pass_callbacks_;
    FillMark& m = s.fill;
    if (m.passed_in != wait_) {
      m.passed_in = wait_;
      ++pass_new_;
    }
    if (m.reported_in == wait_) {
      merge_flags(out_[m.out_index], flags);
      return;
    }
    if (count_ < out_.size()) {
      report(s, flags);
      return;
    }
    merge_flags(m.kept, flags);
    slots.push_ready(s.index);
  }

  // The kept events first, in the order they came; on_delivered(slot) for each one reported.
  template <class OnDelivered>
  void deliver_kept(Slots& slots, OnDelivered on_delivered) noexcept {
    while (count_ < out_.size() && slots.has_ready()) {
      auto& s = slots.pop_ready();
      if (!any_flag(s.fill.kept)) continue;  // removed or modified since
      report(s, s.fill.kept);
      s.fill.kept = Event{};
      on_delivered(s);
    }
  }
  void deliver_kept(Slots& slots) noexcept {
    deliver_kept(slots, [](auto& /*slot*/) {});
  }

  // remove() and modify(): what was kept for the slot is stale (its FIFO entry is skipped).
  template <class Slot>
  static void forget(Slot& s) noexcept {
    s.fill.kept = Event{};
  }

  // An event that no library callback brings (libevent over select: a closed fd); false if the
  // array is full.
  bool append(const Event& e) noexcept {
    if (count_ >= out_.size()) return false;
    out_[count_++] = e;
    return true;
  }

  // Kept events were delivered and the array has room: a non-blocking pass must look for the
  // other ready fds.
  [[nodiscard]] bool needs_pass() const noexcept { return count_ > 0 && count_ < out_.size(); }

  // Another non-blocking pass is due (see the top of this file).
  [[nodiscard]] bool may_have_more(std::size_t batch) const noexcept {
    return count_ < out_.size() && pass_callbacks_ >= batch && pass_new_ > 0;
  }

  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] bool full() const noexcept { return count_ >= out_.size(); }

 private:
  template <class Slot>
  void report(Slot& s, Event flags) noexcept {
    s.fill.reported_in = wait_;
    s.fill.out_index = count_;
    flags.token = s.token;
    out_[count_++] = flags;
  }

  std::span<Event> out_;
  std::size_t count_ = 0;
  std::uint64_t wait_ = 0;
  std::size_t pass_callbacks_ = 0;
  std::size_t pass_new_ = 0;
};

}  // namespace pollbench::detail
