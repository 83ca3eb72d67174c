// Asio reference backends: asio_epoll (Asio's default reactor on Linux) and, compiled from this
// file a second time by asio_uring_poller.cpp, asio_uring (Asio's io_uring service). The
// Poller interface on an asio::io_context, one posix::stream_descriptor per fd, readiness
// through async_wait(wait_read / wait_write) — Asio reads nothing; wait() is poll_one() for
// timeout 0, run_one() to block and run_one_for() for a bounded timeout, then poll_one() for
// the other handlers that are ready. Asio is what most C++ network programmers use; these
// rows give its cost over the mechanism. Built when asio.hpp is found (Debian: libasio-dev);
// otherwise listed as unavailable.
//
// Kernel and library quirks this file handles (standalone Asio 1.22):
//  a) Which Asio: standalone Asio from libasio-dev (1.22), not Boost.Asio from libboost-dev
//     (1.74, i.e. Asio 1.18): io_uring support arrived in Asio 1.21 (Boost 1.78), so only the
//     standalone package can give the io_uring row; the epoll reactor is the same code in
//     both. Configuration: a default io_context (no concurrency hint) as a program that says
//     `asio::io_context io;` gets, on Asio's default service (epoll) or, for asio_uring, with
//     ASIO_HAS_IO_URING and ASIO_DISABLE_EPOLL, which is how Asio's documentation makes
//     io_uring the service for every descriptor.
//  b) Two Asio configurations in one program would break the one-definition rule (the same
//     header-only templates, compiled two ways): asio_uring_poller.cpp renames Asio's
//     namespace (#define asio asio_uring) before including it, so its instantiations are
//     distinct symbols.
//  c) The epoll reactor registers every descriptor edge-triggered (EPOLLIN | EPOLLPRI |
//     EPOLLERR | EPOLLHUP | EPOLLET; EPOLLOUT is added by the first write wait), and every
//     async_wait on a descriptor with no operation queued re-arms it with EPOLL_CTL_MOD, which
//     re-checks readiness. So an fd is reported again while data stays unread (level-
//     triggered, as the caller sees it) at the cost of one epoll_ctl per event, as with
//     EPOLLONESHOT: the rows declare one_shot. A completed wait is re-armed at the start of
//     the next wait(), after the caller has handled it, as epoll_oneshot does.
//  d) The first async_wait on a descriptor sets O_NONBLOCK on it (ioctl FIONBIO), a change to
//     the caller's open file description that the contract does not ask for; the harness's
//     fds are non-blocking already. Registration costs epoll_ctl(ADD) at add() and the ioctl
//     and an epoll_ctl(MOD) at the first arm.
//  e) An fd that is not open is refused at add() with EBADF (the reactor's epoll_ctl ADD).
//     A stream_descriptor closes its fd when destroyed: remove() and the destructor release()
//     it first, so Asio never closes a caller's fd. release() cancels the fd's waits, whose
//     handlers still run later with operation_aborted: a generation number per slot makes
//     them report nothing, and a slot goes back to the free list when its last handler ran.
//  f) poll_one() runs one handler, and a handler runs per ready fd, so wait() calls it again
//     until it returns 0 or the caller's array is full. Asio cannot say that no handler is
//     left: the call that finds none runs the reactor once more (a second epoll_wait(0) per
//     wait, as io_context::poll() makes too). The io_uring service reads its completion ring
//     in user space for a non-blocking wait. What does not fit the caller's array is kept and
//     reported first by the next wait, which then runs the handlers that are ready for the
//     rest of its array (detail/event_fill.hpp).
//  g) Hangup and socket errors: the reactor completes a read wait on EPOLLHUP / EPOLLERR
//     with success, so a peer close shows as readable (read() gives 0), the contract's
//     fallback, and a socket error as readable (recv() gives the error).
//  h) Timeouts: run_one_for waits in slices of at most one second on the steady clock, and
//     the reactor rounds each up to milliseconds (the io_uring service uses a timeout SQE,
//     in nanoseconds). run_one_for can return before its deadline (an aborted handler, a
//     re-arm), so wait() loops on its own steady clock until the deadline. With no wait in
//     flight (nothing registered, or the last fd removed and its aborted handlers run),
//     run_one_for returns at once, and that loop would spin until the deadline: wait() sleeps
//     for what is left instead, as a mechanism with nothing to report does. A signal does not
//     end a wait: Asio's reactor treats EINTR as an empty pass and run_one waits again.
//  i) Allocation: every async_wait allocates its operation (the handler plus Asio's
//     bookkeeping), by default through Asio's recycling allocator, whose per-thread cache
//     holds two blocks: with more than two fds reported per wait the re-arms would call
//     malloc. Each handler here carries an allocator (Asio's associated_allocator) that
//     places the operation in its slot's own blocks, one per kind of wait and one for an
//     aborted wait still queued, falling back to operator new only when they are taken
//     (a modify() or remove() whose aborted waits have not run yet). So after add() the wait
//     path does not allocate; the reactor's per-descriptor state is allocated at add().
//  j) Memory between waits (the contract's bound): a removed fd's slot (about 1 KB with its
//     arena, quirk i) is free again only when its aborted handlers have run, inside a wait, so
//     add/remove churn with no wait between would take a new slot per pair (10,000 pairs held
//     11 MB). remove() runs the ready handlers (io_context::poll(), an epoll_wait(0) or a look
//     at the completion ring) once kMaxClosing slots wait for theirs; what live fds report
//     there is kept for the next wait.
#include <cerrno>
#include <memory>
#include <string_view>
#include <system_error>

#include "backends/poller.hpp"

#if POLLBENCH_ASIO_IO_URING
#define POLLBENCH_ASIO_BUILT POLLBENCH_HAVE_ASIO_URING
#else
#define POLLBENCH_ASIO_BUILT POLLBENCH_HAVE_ASIO
#endif

#if POLLBENCH_ASIO_BUILT
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <thread>
#include <vector>

#include "backends/detail/deadline.hpp"
#include "backends/detail/event_fill.hpp"
#include "backends/detail/slot_table.hpp"
#include "backends/detail/uring.hpp"

#if POLLBENCH_ASIO_IO_URING
#define ASIO_HAS_IO_URING 1
#define ASIO_DISABLE_EPOLL 1
#define asio asio_uring  // quirk b  NOLINT(cppcoreguidelines-macro-usage)
#endif
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#endif

namespace pollbench {
namespace {

constexpr std::string_view kName = "asio";

#if POLLBENCH_ASIO_BUILT

class AsioPoller final : public Poller {
 public:
  AsioPoller() {
#if POLLBENCH_ASIO_IO_URING
    detail::check_io_uring_enabled();
#endif
    // Asio's services start on first use; start them here so that a refusal (io_uring_queue_init)
    // is a setup error, not a failure at the first add().
    try {
      asio::posix::stream_descriptor probe(ctx_);
    } catch (const std::system_error& e) {
      throw_errno(e.code().value(), kName, "io_context: service start");
    }
  }

  ~AsioPoller() override {
    for (Index i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.desc != nullptr && s.desc->is_open()) s.desc->release();  // quirk e
      s.desc.reset();  // while the io_context's services live
    }
    // Then the io_context, declared after the slots, goes first: it destroys the queued
    // operations, whose memory is in the slots' arenas (quirk i), without calling them.
  }

  void do_add(int fd, Interest interest, std::uint64_t token) override {
    if (fd < 0) throw_errno(EBADF, kName, "negative fd");
    check_interest(interest);
    slots_.check_not_registered(fd, kName);
    const Index index = slots_.acquire();
    Slot& s = slots_[index];
    if (s.desc == nullptr) s.desc = std::make_unique<asio::posix::stream_descriptor>(ctx_);
    asio::error_code ec;
    s.desc->assign(fd, ec);  // the reactor's epoll_ctl(ADD): quirk e
    if (ec) {
      slots_.release(index);
      throw_errno(ec.value(), kName, "stream_descriptor::assign");
    }
    s.owner = this;
    s.fd = fd;
    s.token = token;
    s.interest = interest;
    Fill::forget(s);
    ++s.generation;
    slots_.map(fd, index);
    rearm_.reserve(slots_.size());
    arm(s, kReadWrite);
  }

  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    const Index index = slots_.registered(fd, kName, "modify");
    check_interest(interest);
    Slot& s = slots_[index];
    asio::error_code ec;
    s.desc->cancel(ec);  // the old waits complete with operation_aborted
    ++s.generation;
    s.armed = 0;
    s.token = token;
    s.interest = interest;
    Fill::forget(s);
    arm(s, kReadWrite);
  }

  void do_remove(int fd) override {
    const Index index = slots_.registered(fd, kName, "remove");
    Slot& s = slots_[index];
    s.desc->release();  // epoll_ctl(DEL), waits aborted; Asio does not close fd (quirk e)
    ++s.generation;
    s.armed = 0;
    s.fd = -1;
    Fill::forget(s);  // a FIFO or re-arm entry, if any, is skipped
    slots_.unmap(fd);
    if (s.pending == 0) {
      slots_.release(index);
    } else if (++closing_ >= kMaxClosing) {  // quirk j
      fill_.start({});  // what the handlers of live fds report is kept for the next wait
      ctx_.poll();
      if (ctx_.stopped()) ctx_.restart();
    }
  }

  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    if (events.empty()) return 0;
    fill_.start(events);
    rearm_reported();                                              // quirk c
    fill_.deliver_kept(slots_, [this](Slot& s) { to_rearm(s); });  // quirk f
    if (ctx_.stopped()) ctx_.restart();  // a run that ran out of work stopped it
    if (fill_.count() > 0) {
      if (fill_.needs_pass()) run_ready_handlers();
      return static_cast<int>(fill_.count());
    }

    detail::step_until_deadline(timeout, [&](std::chrono::nanoseconds left) {
      std::size_t ran = 0;
      if (left.count() == 0) {
        ran = ctx_.poll_one();
      } else if (left.count() < 0 || left > kForever) {
        if (armed_ == 0) return true;  // nothing could ever report: return, as libuv does
        ran = ctx_.run_one();
      } else if (armed_ == 0) {  // quirk h: run_one_for would return at once, again and again
        std::this_thread::sleep_for(left);
        return true;
      } else {
        ran = ctx_.run_one_for(left);
      }
      if (ran > 0) run_ready_handlers();  // quirk f
      if (ctx_.stopped()) ctx_.restart();
      return fill_.count() > 0 || left.count() == 0;
    });
    return static_cast<int>(fill_.count());
  }

 private:
  // Longer than any run: waited as a block (run_one_for's now + timeout would overflow).
  static constexpr std::chrono::nanoseconds kForever = std::chrono::hours(24 * 365);
  // Quirk j: removed slots whose aborted handlers have not run yet, at most.
  static constexpr std::size_t kMaxClosing = 256;

  // Quirk i: room for the operations of a slot's waits, in the slot.
  class OpArena {
   public:
    void* allocate(std::size_t bytes) {
      if (bytes <= kBlockBytes) {
        for (std::size_t i = 0; i < kBlocks; ++i) {
          if (!used_[i]) {
            used_[i] = true;
            return &blocks_[i];
          }
        }
      }
      return ::operator new(bytes);
    }
    void deallocate(void* p) noexcept {
      for (std::size_t i = 0; i < kBlocks; ++i) {
        if (p == &blocks_[i]) {
          used_[i] = false;
          return;
        }
      }
      ::operator delete(p);
    }

   private:
    static constexpr std::size_t kBlocks = 4;
    static constexpr std::size_t kBlockBytes = 256;
    struct alignas(std::max_align_t) Block {
      std::array<std::byte, kBlockBytes> bytes;
    };
    std::array<Block, kBlocks> blocks_{};
    std::array<bool, kBlocks> used_{};
  };

  template <class T>
  struct ArenaAllocator {
    using value_type = T;
    OpArena* arena;
    explicit ArenaAllocator(OpArena* a) noexcept : arena(a) {}
    template <class U>
    explicit ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena(other.arena) {}
    T* allocate(std::size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t /*n*/) noexcept { arena->deallocate(p); }
    template <class U>
    bool operator==(const ArenaAllocator<U>& other) const noexcept {
      return arena == other.arena;
    }
  };

  struct Slot;

  // An async_wait's handler: which slot, which wait, and the slot's generation when armed.
  struct WaitHandler {
    using allocator_type = ArenaAllocator<WaitHandler>;
    Slot* slot;
    Interest kind;
    std::uint64_t generation;
    [[nodiscard]] allocator_type get_allocator() const noexcept {
      return allocator_type(&slot->arena);
    }
    void operator()(const asio::error_code& ec) const {
      slot->owner->completed(*slot, kind, generation, ec);
    }
  };

  struct Slot {
    OpArena arena;                                         // quirk i
    std::unique_ptr<asio::posix::stream_descriptor> desc;  // kept for the slot's next fd
    AsioPoller* owner = nullptr;
    int fd = -1;
    std::uint64_t token = 0;
    Interest interest = kReadable;
    std::uint8_t armed = 0;        // Interest bits with a wait in flight
    detail::FillMark fill;         // quirk f
    std::uint32_t pending = 0;     // handlers not yet run, aborted ones included
    std::uint64_t generation = 0;  // bumped by add/modify/remove: older handlers are stale
    bool queued = false;           // on the FIFO
    bool to_rearm = false;         // on rearm_
    std::uint32_t index = 0;       // in slots_ (set by slots_)
  };
  using Slots = detail::SlotTable<Slot, detail::SlotAddress::kStable>;  // handlers hold &Slot
  using Index = Slots::Index;
  using Fill = detail::EventFill<Slots>;

  static void check_interest(Interest interest) {
    if ((interest & kReadWrite) == 0) throw_errno(EINVAL, kName, "empty interest");
  }

  // Starts the waits of `which` that s's interest asks for and that are not in flight.
  void arm(Slot& s, unsigned which) noexcept {
    for (const Interest kind : {kReadable, kWritable}) {
      if ((which & kind) == 0 || (s.interest & kind) == 0 || (s.armed & kind) != 0) continue;
      s.armed = static_cast<std::uint8_t>(s.armed | kind);
      ++s.pending;
      ++armed_;
      const auto type = kind == kReadable ? asio::posix::stream_descriptor::wait_read
                                          : asio::posix::stream_descriptor::wait_write;
      s.desc->async_wait(type, WaitHandler{&s, kind, s.generation});
    }
  }

  void completed(Slot& s, Interest kind, std::uint64_t generation,
                 const asio::error_code& ec) noexcept {
    --s.pending;
    --armed_;
    if (generation != s.generation) {  // aborted by modify/remove: quirk e
      if (s.fd < 0 && s.pending == 0) {
        slots_.release(s.index);
        --closing_;
      }
      return;
    }
    s.armed = static_cast<std::uint8_t>(s.armed & ~kind);
    to_rearm(s);
    // Its other interest, earlier in this wait, is merged into one event.
    fill_.collect(slots_, s,
                  Event{.readable = kind == kReadable,
                        .writable = kind == kWritable,
                        .error = static_cast<bool>(ec)});
  }

  // Quirk f: the handlers that are ready, one poll_one() each, while the array has room.
  void run_ready_handlers() noexcept {
    while (!fill_.full() && ctx_.poll_one() > 0) {
    }
  }

  void to_rearm(Slot& s) noexcept {
    if (s.to_rearm) return;
    s.to_rearm = true;
    rearm_.push_back(s.index);  // capacity reserved in add(): no allocation
  }

  void rearm_reported() noexcept {
    for (const Index index : rearm_) {
      Slot& s = slots_[index];
      s.to_rearm = false;
      // Kept events re-arm once reported.
      if (s.fd >= 0 && !detail::any_flag(s.fill.kept)) arm(s, kReadWrite);
    }
    rearm_.clear();
  }

  Slots slots_;           // its FIFO: the events that did not fit (quirk f)
  asio::io_context ctx_;  // after slots_: destroyed before them (see the destructor)
  std::vector<Index> rearm_;
  std::size_t armed_ = 0;    // waits in flight
  std::size_t closing_ = 0;  // quirk j
  Fill fill_;
};

#endif  // POLLBENCH_ASIO_BUILT

}  // namespace

#if POLLBENCH_ASIO_IO_URING
std::unique_ptr<Poller> make_asio_uring_poller() {
#if POLLBENCH_ASIO_BUILT
  return std::make_unique<AsioPoller>();
#else
  throw_errno(ENOSYS, kName,
              "built without Asio's io_uring service (install libasio-dev and liburing-dev and "
              "re-run cmake)");
#endif
}
#else
std::unique_ptr<Poller> make_asio_epoll_poller() {
#if POLLBENCH_ASIO_BUILT
  return std::make_unique<AsioPoller>();
#else
  throw_errno(ENOSYS, kName, "built without Asio (install libasio-dev and re-run cmake)");
#endif
}
#endif

}  // namespace pollbench
