// raw: dispatch's loop written straight on select(2), poll(2), epoll_wait(2) and an io_uring
// of multishot polls, with no Poller in between — the floor that shows what the interface
// costs. Everything but the wait step is shared with dispatch (the timed loop dispatch_loop,
// the pool, make_ready, drain, the buffer sizes), so the difference between the two rows is the
// interface alone.
//
// raw/uring_poll (the floor of uring_multishot): one IORING_POLL_ADD_MULTI per polled fd, armed
// once at setup with user_data = the pair index. A wait reads the CQ from shared memory and
// enters the kernel (io_uring_submit_and_get_events: submit + run completions, no sleeping)
// only when the CQ is empty, a poll must be re-armed or the CQ overflowed; then it drains the
// fd of every CQE, advances the CQ and re-arms each poll whose CQE came without
// IORING_CQE_F_MORE. Built with liburing (pkg-config, as the backend); the row is skipped with
// the reason when io_uring cannot be set up or POLLBENCH_DISABLE_IO_URING is set.
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#if POLLBENCH_HAVE_LIBURING
#include <liburing.h>
#endif

#include "backends/detail/fd_set_limit.hpp"
#include "backends/detail/uring.hpp"
#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench::bench {
namespace {

constexpr int kWordBits = static_cast<int>(8 * sizeof(fd_mask));

struct RawFixture : Fixture {
  std::vector<std::size_t> active;
};

struct RawSelect final : RawFixture {
  fd_set master{};
  fd_set ready{};
  int nfds = 0;
  std::size_t copy_bytes = 0;  // only the words up to the highest fd
  std::array<std::size_t, pollbench::detail::kFdSetMaxFd + 1> pair_of{};  // fd -> pair index
};

struct RawPoll final : RawFixture {
  std::vector<pollfd> fds;
};

struct RawEpoll final : RawFixture {
  UniqueFd epfd;
  std::vector<epoll_event> ready;
};

#if POLLBENCH_HAVE_LIBURING

struct RawUring final : RawFixture {
  io_uring ring{};
  bool ring_ready = false;
  const FdPool* pool = nullptr;
  std::vector<std::uint32_t> rearm;  // pairs whose multishot poll ended; capacity n, never grows

  RawUring() = default;
  RawUring(const RawUring&) = delete;
  RawUring& operator=(const RawUring&) = delete;
  RawUring(RawUring&&) = delete;
  RawUring& operator=(RawUring&&) = delete;
  ~RawUring() override {
    if (ring_ready) io_uring_queue_exit(&ring);  // cancels every poll
  }
};

// A multishot POLLIN poll on pair i's polled fd; false if no SQE could be had.
bool arm_uring(RawUring& f, std::uint32_t i) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&f.ring);
  if (sqe == nullptr) {
    if (io_uring_submit(&f.ring) < 0) return false;
    sqe = io_uring_get_sqe(&f.ring);
    if (sqe == nullptr) return false;
  }
  io_uring_prep_poll_multishot(sqe, f.pool->polled_fd(i), POLLIN);
  io_uring_sqe_set_data64(sqe, i);
  return true;
}

std::unique_ptr<RawFixture> make_raw_uring(const FdPool& pool, std::size_t n) {
  auto f = std::make_unique<RawUring>();
  f->pool = &pool;
  // Room in the CQ for a CQE per polled fd, twice over, so one iteration never overflows it.
  const auto sq_entries = static_cast<unsigned>(std::min<std::size_t>(std::bit_ceil(n), 4096));
  const auto cq_entries =
      static_cast<unsigned>(std::clamp<std::size_t>(std::bit_ceil(2 * n), 64, 65536));
  pollbench::detail::init_ring(f->ring, sq_entries, cq_entries, "uring_poll");
  f->ring_ready = true;
  f->rearm.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!arm_uring(*f, static_cast<std::uint32_t>(i))) {
      throw std::system_error(EBUSY, std::generic_category(), "uring_poll: io_uring_submit");
    }
  }
  const int rc = io_uring_submit_and_get_events(&f->ring);
  if (rc < 0) {
    throw std::system_error(-rc, std::generic_category(), "uring_poll: io_uring_submit");
  }
  // An fd the kernel refused completes at once with an error: fail here, not in the timed loop.
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&f->ring, &cqe) == 0 && cqe != nullptr) {
    const int res = cqe->res;
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    const auto i = static_cast<std::uint32_t>(cqe->user_data);
    io_uring_cqe_seen(&f->ring, cqe);
    if (res < 0) {
      throw std::system_error(-res, std::generic_category(), "uring_poll: IORING_OP_POLL_ADD");
    }
    pool.drain(i);
    if (!more && !arm_uring(*f, i)) {
      throw std::system_error(EBUSY, std::generic_category(), "uring_poll: io_uring_submit");
    }
  }
  return f;
}

#endif  // POLLBENCH_HAVE_LIBURING

std::unique_ptr<RawFixture> make_raw(RawMechanism mechanism, const FdPool& pool, std::size_t n) {
  switch (mechanism) {
    case RawMechanism::kSelect: {
      auto f = std::make_unique<RawSelect>();
      FD_ZERO(&f->master);
      for (std::size_t i = 0; i < n; ++i) {
        const int fd = pool.polled_fd(i);
        FD_SET(fd, &f->master);
        f->pair_of[static_cast<std::size_t>(fd)] = i;
        f->nfds = std::max(f->nfds, fd + 1);
      }
      const int words = (f->nfds + kWordBits - 1) / kWordBits;
      f->copy_bytes = static_cast<std::size_t>(words) * sizeof(fd_mask);
      return f;
    }
    case RawMechanism::kPoll: {
      auto f = std::make_unique<RawPoll>();
      f->fds.resize(n);
      for (std::size_t i = 0; i < n; ++i) f->fds[i] = pollfd{pool.polled_fd(i), POLLIN, 0};
      return f;
    }
    case RawMechanism::kEpoll: {
      auto f = std::make_unique<RawEpoll>();
      f->epfd = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
      if (!f->epfd) throw std::system_error(errno, std::generic_category(), "epoll_create1");
      for (std::size_t i = 0; i < n; ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        if (::epoll_ctl(f->epfd.get(), EPOLL_CTL_ADD, pool.polled_fd(i), &ev) != 0) {
          throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
        }
      }
      f->ready.resize(n);
      return f;
    }
    case RawMechanism::kUringPoll:
#if POLLBENCH_HAVE_LIBURING
      return make_raw_uring(pool, n);
#else
      throw std::system_error(ENOSYS, std::generic_category(),
                              "uring_poll: built without liburing (install liburing-dev and "
                              "re-run cmake)");
#endif
  }
  throw std::logic_error("unknown raw mechanism");
}

// One wait on the bare syscall: drains every ready pair and returns how many, or -errno.
int wait_select(RawSelect& f, const FdPool& pool) noexcept {
  std::memcpy(&f.ready, &f.master, f.copy_bytes);
  timeval zero{};
  const int ready = ::select(f.nfds, &f.ready, nullptr, nullptr, &zero);
  if (ready <= 0) return ready < 0 ? (errno == EINTR ? 0 : -errno) : 0;
  const int words = static_cast<int>(f.copy_bytes / sizeof(fd_mask));
  int seen = 0;
  for (int w = 0; w < words && seen < ready; ++w) {
    auto bits = static_cast<unsigned long>(f.ready.fds_bits[w]);
    while (bits != 0) {
      const int fd = w * kWordBits + __builtin_ctzl(bits);
      bits &= bits - 1;
      pool.drain(f.pair_of[static_cast<std::size_t>(fd)]);
      ++seen;
    }
  }
  return seen;
}

int wait_poll(RawPoll& f, const FdPool& pool) noexcept {
  const int ready = ::poll(f.fds.data(), f.fds.size(), 0);
  if (ready <= 0) return ready < 0 ? (errno == EINTR ? 0 : -errno) : 0;
  int seen = 0;
  for (std::size_t i = 0; i < f.fds.size() && seen < ready; ++i) {
    if (f.fds[i].revents != 0) {
      pool.drain(i);
      ++seen;
    }
  }
  return seen;
}

int wait_epoll(RawEpoll& f, const FdPool& pool) noexcept {
  const int ready = ::epoll_wait(f.epfd.get(), f.ready.data(), static_cast<int>(f.ready.size()), 0);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  for (int e = 0; e < ready; ++e) {
    pool.drain(static_cast<std::size_t>(f.ready[static_cast<std::size_t>(e)].data.u64));
  }
  return ready;
}

#if POLLBENCH_HAVE_LIBURING
// Peek first: the CQEs of writes made by this thread are normally posted before the write
// returns (task work on the way back to user space), so most waits make no syscall at all —
// as uring_multishot's wait(0). The kernel is entered only when there is nothing to read, a
// poll must be re-armed (queued below, submitted here) or the CQ overflowed.
int wait_uring(RawUring& f, const FdPool& pool) noexcept {
  if (io_uring_cq_ready(&f.ring) == 0 || io_uring_sq_ready(&f.ring) != 0 ||
      io_uring_cq_has_overflow(&f.ring)) {
    const int rc = io_uring_submit_and_get_events(&f.ring);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) return rc;
  }
  int seen = 0;
  int error = 0;
  unsigned head = 0;
  unsigned cqes = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&f.ring, head, cqe) {
    ++cqes;
    const auto i = static_cast<std::uint32_t>(cqe->user_data);
    if ((cqe->flags & IORING_CQE_F_MORE) == 0) f.rearm.push_back(i);  // capacity n: no alloc
    if (cqe->res < 0) {
      if (cqe->res != -ECANCELED) error = cqe->res;
      continue;
    }
    // One CQE per wakeup: a second CQE for an fd already drained finds nothing, and is no
    // event.
    if (pool.drain(i) > 0) ++seen;
  }
  io_uring_cq_advance(&f.ring, cqes);
  for (const std::uint32_t i : f.rearm) {
    if (!arm_uring(f, i)) return -EBUSY;  // submitted by the next wait
  }
  f.rearm.clear();
  return error != 0 ? error : seen;
}
#endif  // POLLBENCH_HAVE_LIBURING

}  // namespace

std::string_view to_string(RawMechanism mechanism) noexcept {
  switch (mechanism) {
    case RawMechanism::kSelect:
      return "select";
    case RawMechanism::kPoll:
      return "poll";
    case RawMechanism::kEpoll:
      return "epoll";
    case RawMechanism::kUringPoll:
      return "uring_poll";
  }
  return "?";
}

std::optional<RawMechanism> raw_mechanism(std::string_view name) noexcept {
  for (const RawMechanism m : {RawMechanism::kSelect, RawMechanism::kPoll, RawMechanism::kEpoll,
                               RawMechanism::kUringPoll}) {
    if (to_string(m) == name) return m;
  }
  return std::nullopt;
}

void register_raw(const Backend& row, std::int64_t n, std::int64_t a) {
  const RowName name = RowName("raw", row.raw_floor).add("fds", n).add("active", a);
  if (is_registered(name)) return;
  const std::optional<RawMechanism> m = raw_mechanism(row.raw_floor);
  if (!m) {
    fmt::print(stderr, "pollbench-bench: a registry row's raw floor '{}' is no raw mechanism\n",
               row.raw_floor);
    std::exit(1);
  }
  const auto un = static_cast<std::size_t>(n);
  const auto ua = static_cast<std::size_t>(a);
  register_row(name, un,
               [m = *m, max_fd = row.capabilities.max_fd, un, ua](benchmark::State& state) {
                 run_raw(state, m, max_fd, un, ua);
               });
}

void run_raw(benchmark::State& state, RawMechanism mechanism, int max_fd, std::size_t n,
             std::size_t a) {
  const std::string_view who = to_string(mechanism);
  const FdPool* pool = nullptr;
  if (mechanism == RawMechanism::kUringPoll && pollbench::detail::io_uring_disabled()) {
    state.SkipWithError("uring_poll: io_uring disabled by POLLBENCH_DISABLE_IO_URING");
    return;
  }
  if (!acquire_pool(state, n, a, max_fd, who, pool)) return;
  auto* fx = row_fixture<RawFixture>(state, [&] {
    auto f = make_raw(mechanism, *pool, n);
    f->active = spread_subset(n, a);
    return f;
  });
  if (fx == nullptr) return;
  // The wait step is the only thing that differs from dispatch's loop.
  const FdPool& p = *pool;
  switch (mechanism) {
    case RawMechanism::kSelect: {
      auto& f = static_cast<RawSelect&>(*fx);
      dispatch_loop(state, f, p, f.active, n, who, [&]() noexcept { return wait_select(f, p); });
      break;
    }
    case RawMechanism::kPoll: {
      auto& f = static_cast<RawPoll&>(*fx);
      dispatch_loop(state, f, p, f.active, n, who, [&]() noexcept { return wait_poll(f, p); });
      break;
    }
    case RawMechanism::kEpoll: {
      auto& f = static_cast<RawEpoll&>(*fx);
      dispatch_loop(state, f, p, f.active, n, who, [&]() noexcept { return wait_epoll(f, p); });
      break;
    }
    case RawMechanism::kUringPoll: {
#if POLLBENCH_HAVE_LIBURING
      auto& f = static_cast<RawUring&>(*fx);
      dispatch_loop(state, f, p, f.active, n, who, [&]() noexcept { return wait_uring(f, p); });
#endif
      break;
    }
  }
}

}  // namespace pollbench::bench
