// raw: dispatch's loop written straight on select(2), poll(2) and epoll_wait(2), with no
// Poller in between — the floor that shows what the interface costs. Everything but the
// mechanism is shared with dispatch (the pool, make_ready, drain, the buffer sizes), so the
// difference between the two rows is the interface alone.
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <vector>

#include "bench/common.hpp"
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
  std::size_t copy_bytes = 0;                     // only the words up to the highest fd
  std::array<std::size_t, FD_SETSIZE> pair_of{};  // fd -> pair index
};

struct RawPoll final : RawFixture {
  std::vector<pollfd> fds;
};

struct RawEpoll final : RawFixture {
  UniqueFd epfd;
  std::vector<epoll_event> ready;
};

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

// The same timed loop as dispatch, on one mechanism: the wait is a template parameter so the
// loop has no indirect call that the Poller row would not also have.
template <class F, int (*Wait)(F&, const FdPool&) noexcept>
void timed_loop(benchmark::State& state, F& f, const FdPool& pool, std::size_t n, std::size_t a,
                std::string_view who) {
  std::size_t collected_total = 0;
  std::size_t waits = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    for (const std::size_t i : f.active) pool.make_ready(i);
    std::size_t collected = 0;
    std::size_t empty_waits = 0;
    int got = 0;
    while (collected < a) {
      got = Wait(f, pool);
      ++waits;
      if (got <= 0) {
        if (got < 0 || ++empty_waits > kMaxEmptyWaits) break;
        continue;
      }
      collected += static_cast<std::size_t>(got);
    }
    collected_total += collected;
    if (collected < a) {
      fail_lost_events(state, who, pool, n, got, collected, a);
      break;
    }
  }
  const auto t1 = Clock::now();
  if (state.error_occurred()) return;
  set_dispatch_counters(state, elapsed_ns(t0, t1), collected_total, waits);
}

}  // namespace

std::string_view to_string(RawMechanism mechanism) noexcept {
  switch (mechanism) {
    case RawMechanism::kSelect:
      return "select";
    case RawMechanism::kPoll:
      return "poll";
    case RawMechanism::kEpoll:
      return "epoll";
  }
  return "?";
}

std::optional<RawMechanism> raw_counterpart(std::string_view backend) noexcept {
  if (backend == "select") return RawMechanism::kSelect;
  if (backend == "poll") return RawMechanism::kPoll;
  if (backend == "epoll_lt") return RawMechanism::kEpoll;
  return std::nullopt;
}

void run_raw(benchmark::State& state, RawMechanism mechanism) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto a = static_cast<std::size_t>(state.range(1));
  const std::string_view who = to_string(mechanism);
  const int max_fd = mechanism == RawMechanism::kSelect ? FD_SETSIZE - 1 : INT_MAX;
  const FdPool* pool = nullptr;
  if (!acquire_pool(state, n, a, max_fd, who, pool)) return;
  auto* fx = row_fixture<RawFixture>(state, fmt::format("raw/{}/{}/{}", who, n, a), [&] {
    auto f = make_raw(mechanism, *pool, n);
    f->active = spread_subset(n, a);
    return f;
  });
  if (fx == nullptr) return;
  switch (mechanism) {
    case RawMechanism::kSelect:
      timed_loop<RawSelect, wait_select>(state, static_cast<RawSelect&>(*fx), *pool, n, a, who);
      break;
    case RawMechanism::kPoll:
      timed_loop<RawPoll, wait_poll>(state, static_cast<RawPoll&>(*fx), *pool, n, a, who);
      break;
    case RawMechanism::kEpoll:
      timed_loop<RawEpoll, wait_epoll>(state, static_cast<RawEpoll&>(*fx), *pool, n, a, who);
      break;
  }
}

}  // namespace pollbench::bench
