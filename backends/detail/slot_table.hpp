// The bookkeeping of an adapter backend: one that puts the Poller interface on a mechanism that
// keeps no registry the caller can query (io_uring, libevent, libuv). Per registered fd, a slot
// (the backend's own struct); around the slots:
//  - an fd→slot index, so add/modify/remove answer EEXIST and ENOENT without a syscall;
//  - a free list, so a removed fd's slot is reused by the next add;
//  - a FIFO of slots with something to report (the user-space ready list, or the events that
//    did not fit the caller's array), each slot on it at most once, in the order they came.
// Everything grows in acquire() and map(), which add() calls; release(), push_ready() and
// pop_ready() never allocate, so the wait path (and a library callback inside it) can call
// them. Header-only: the timed path pays what the hand-written arrays used to cost, no more.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "backends/poller.hpp"

namespace pollbench::detail {

// Whether a slot keeps its address while the table grows: needed when a library holds a
// pointer into it (libevent's callback argument, libuv's handle).
enum class SlotAddress : std::uint8_t { kMayMove, kStable };

// Slot: default-constructible, with a `bool queued` member that only the FIFO touches.
template <class Slot, SlotAddress kAddress = SlotAddress::kMayMove>
class SlotTable {
 public:
  using Index = std::uint32_t;
  static constexpr Index kNone = ~Index{0};

  SlotTable() : fd_index_(kInitialFds, kNone), ready_(kMinSlots) { free_.reserve(kMinSlots); }

  // The slot fd is registered in, or kNone (also for a negative fd).
  [[nodiscard]] Index find(int fd) const noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= fd_index_.size()) return kNone;
    return fd_index_[static_cast<std::size_t>(fd)];
  }

  // add(): throws EEXIST "<who>: fd is already registered" if fd is.
  void check_not_registered(int fd, std::string_view who) const {
    if (find(fd) != kNone) throw_errno(EEXIST, who, "fd is already registered");
  }

  // modify() and remove(): fd's slot, or ENOENT "<who>: <op>: fd is not registered".
  [[nodiscard]] Index registered(int fd, std::string_view who, std::string_view op) const {
    const Index i = find(fd);
    if (i == kNone) throw_errno(ENOENT, who, std::string(op) + ": fd is not registered");
    return i;
  }

  // A slot for a new registration: the last one released, as it was left (so a backend can
  // keep a generation counter in it), or a new default-constructed one. A slot with an `index`
  // member learns its index there (for a library callback that is handed the slot).
  Index acquire() {
    if (!free_.empty()) {
      const Index i = free_.back();
      free_.pop_back();
      return i;
    }
    const auto i = static_cast<Index>(slots_.size());
    if constexpr (kAddress == SlotAddress::kStable) {
      slots_.push_back(std::make_unique<Slot>());
    } else {
      slots_.emplace_back();
    }
    if constexpr (requires(Slot & s) { s.index = i; }) (*this)[i].index = i;
    if (slots_.size() > ready_.size()) grow_ready(2 * ready_.size());
    if (slots_.size() > free_.capacity()) free_.reserve(2 * slots_.size());
    return i;
  }

  // fd is registered in slot i (fd >= 0). May allocate: the index grows to the largest fd.
  void map(int fd, Index i) {
    const auto ufd = static_cast<std::size_t>(fd);
    if (ufd >= fd_index_.size()) fd_index_.resize(std::max(ufd + 1, 2 * fd_index_.size()), kNone);
    fd_index_[ufd] = i;
  }

  // fd is no longer registered (it was: find(fd) != kNone).
  void unmap(int fd) noexcept { fd_index_[static_cast<std::size_t>(fd)] = kNone; }

  // Slot i (acquired, not released since) is free again. A FIFO entry it still has is popped
  // as usual: the backend's own fields must say there is nothing to report.
  void release(Index i) noexcept { free_.push_back(i); }  // capacity: see acquire()

  Slot& operator[](Index i) noexcept {
    if constexpr (kAddress == SlotAddress::kStable) {
      return *slots_[i];
    } else {
      return slots_[i];
    }
  }

  // How many slots were ever made (in use, free, or — libuv — waiting to be closed).
  [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }

  // Slot i goes to the back of the FIFO, unless it is on it already.
  void push_ready(Index i) noexcept {
    Slot& s = (*this)[i];
    if (s.queued) return;
    s.queued = true;
    ready_[(ready_head_ + ready_count_) % ready_.size()] = i;
    ++ready_count_;
  }

  [[nodiscard]] bool has_ready() const noexcept { return ready_count_ != 0; }

  // The slot at the front of the FIFO, taken off it. Only when has_ready().
  Slot& pop_ready() noexcept {
    Slot& s = (*this)[ready_[ready_head_]];
    ready_head_ = (ready_head_ + 1) % ready_.size();
    --ready_count_;
    s.queued = false;
    return s;
  }

 private:
  static constexpr std::size_t kInitialFds = 1024;
  static constexpr std::size_t kMinSlots = 64;

  // The FIFO holds each slot at most once, so a ring as large as the table never overflows.
  void grow_ready(std::size_t size) {
    std::vector<Index> bigger(size);
    for (std::size_t k = 0; k < ready_count_; ++k) {
      bigger[k] = ready_[(ready_head_ + k) % ready_.size()];
    }
    ready_.swap(bigger);
    ready_head_ = 0;
  }

  using Storage = std::conditional_t<kAddress == SlotAddress::kStable, std::unique_ptr<Slot>, Slot>;
  std::vector<Storage> slots_;
  std::vector<Index> free_;
  std::vector<Index> fd_index_;
  std::vector<Index> ready_;  // a ring: ready_count_ entries from ready_head_
  std::size_t ready_head_ = 0;
  std::size_t ready_count_ = 0;
};

}  // namespace pollbench::detail
