// timeout: how late a wait with nothing ready returns, for a timeout of T µs. One fd (pair 0
// of the pool) is registered and never made ready; each iteration is one wait, timed with
// CLOCK_MONOTONIC around the call. Every registry row goes through its own wait() (the
// millisecond APIs round T up); raw_timeout/ppoll and raw_timeout/epoll_pwait2 are the bare
// nanosecond-resolution syscalls for comparison.
//
// timerfd/<row>/us:T is the precise-timer loop's way (libevent's EVENT_BASE_FLAG_PRECISE_TIMER
// on epoll): a timerfd registered beside the idle fd, armed for T (timerfd_settime, relative)
// before each wait(-1); the wait returns when the timerfd is reported. Lateness as above, from
// before the arming. Each repetition then measures what the arming costs a wait that returns
// at once (a loop with events ready never sleeps): kArmPairs pairs of a wait(0) alone and
// timerfd_settime + wait(0), alternating, each timed with CLOCK_MONOTONIC around it.
#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "backends/detail/epoll.hpp"
#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/event_fds.hpp"
#include "harness/rig_threads.hpp"
#include "harness/sample_set.hpp"

namespace pollbench::bench {
namespace {

constexpr std::size_t kKeptSamples = 65536;
// timerfd: the pairs of waits that measure the arming per repetition (about 1 ms).
constexpr std::size_t kArmPairs = 1000;
// timerfd: the tokens of the idle fd and the timer.
constexpr std::uint64_t kIdleToken = 0;
constexpr std::uint64_t kTimerToken = 1;
// timerfd: the arming of the cost measurement, never reached while it runs.
constexpr std::int64_t kFarDeadlineNs = 1'000'000'000;

struct TimeoutFixture final : Fixture {
  std::unique_ptr<Poller> poller;  // registry rows
  std::vector<Event> events = std::vector<Event>(4);
  UniqueFd epfd;  // raw_timeout/epoll_pwait2
  SampleSet late{kKeptSamples};
};

struct TimerFdFixture final : Fixture {
  std::unique_ptr<Poller> poller;
  UniqueFd timer;
  std::vector<Event> events = std::vector<Event>(4);
  SampleSet late{kKeptSamples};
  SampleSet idle_wait{kArmPairs};
  SampleSet armed_wait{kArmPairs};
};

timespec to_timespec(std::int64_t ns) noexcept {
  return {.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}

// The timed loop shared by every path: `wait(timeout_ns)` returns what the wait returned (0 for
// a timeout or a signal, negative errno otherwise). A wait that returns 0 before its timeout
// was interrupted — the task work the kernel runs in every thread that used an io_uring once
// that ring is closed (uring_poller.cpp, quirk i) ends an epoll_wait with EINTR, and with
// interleaved repetitions an io_uring row has often just dropped its ring — so the rest of the
// timeout is waited out and the whole time counted, and the row reports how many waits it took
// (`interrupted`), so a backend that really returns early would still show.
template <class Wait>
void time_waits(benchmark::State& state, std::string_view who, std::int64_t timeout_ns,
                SampleSet& late, Wait&& wait) {
  late.clear();
  std::size_t interrupted = 0;
  for (auto _ : state) {
    const std::int64_t start = monotonic_ns();
    int got = wait(timeout_ns);
    std::int64_t end = monotonic_ns();
    while (got == 0 && end - start < timeout_ns) {
      ++interrupted;
      got = wait(start + timeout_ns - end);
      end = monotonic_ns();
    }
    if (got != 0) {
      const std::string reason =
          got < 0 ? fmt::format("{}: wait failed: {}", who, std::generic_category().message(-got))
                  : fmt::format("{}: reported {} event(s) although nothing was ready", who, got);
      state.SkipWithError(reason.c_str());
      break;
    }
    state.SetIterationTime(static_cast<double>(end - start) * 1e-9);
    late.add(end - start - timeout_ns);
  }
  if (state.error_occurred()) {
    drop_fixture();
    return;
  }
  set_counter(state, "late_p50_ns", static_cast<double>(late.percentile(0.50)));
  set_counter(state, "late_p99_ns", static_cast<double>(late.percentile(0.99)));
  set_counter(state, "late_max_ns", static_cast<double>(late.max()));
  set_counter(state, "late_mean_ns", late.mean());
  set_counter(state, "interrupted", static_cast<double>(interrupted));
}

}  // namespace

void run_timeout(benchmark::State& state, const Backend& backend, std::int64_t timeout_us) {
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, 1, 1, pool)) {
    return;
  }
  auto* fx = row_fixture<TimeoutFixture>(state, [&] {
    auto f = std::make_unique<TimeoutFixture>();
    f->poller = backend.make();
    f->poller->add(pool->polled_fd(0), kReadable, 0);
    return f;
  });
  if (fx == nullptr) return;
  Poller& poller = *fx->poller;
  const std::span<Event> events(fx->events);
  time_waits(state, backend.name, timeout_us * 1000, fx->late, [&](std::int64_t ns) noexcept {
    return poller.wait(events, std::chrono::nanoseconds{ns});
  });
}

void run_timerfd(benchmark::State& state, const Backend& backend, std::int64_t timeout_us) {
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, 1, 1, pool)) {
    return;
  }
  auto* fx = row_fixture<TimerFdFixture>(state, [&] {
    auto f = std::make_unique<TimerFdFixture>();
    f->poller = backend.make();
    f->poller->add(pool->polled_fd(0), kReadable, kIdleToken);
    f->timer = make_timerfd();
    f->poller->add(f->timer.get(), kReadable, kTimerToken);
    return f;
  });
  if (fx == nullptr) return;
  Poller& poller = *fx->poller;
  const int timer = fx->timer.get();
  const std::span<Event> events(fx->events);
  const std::int64_t timeout_ns = timeout_us * 1000;
  // What went wrong in the timed loop (reported after it): nothing may allocate in there.
  const char* failure = nullptr;
  int failure_err = 0;
  const auto fail = [&](const char* why, int err) {
    failure = why;
    failure_err = err;
  };
  std::size_t interrupted = 0;
  fx->late.clear();
  for (auto _ : state) {
    const std::int64_t start = monotonic_ns();
    if (!arm_timerfd(timer, timeout_ns)) {
      fail("timerfd_settime failed", errno);
      break;
    }
    std::int64_t end = 0;
    bool fired = false;
    while (!fired) {
      const int got = poller.wait(events, std::chrono::nanoseconds{-1});
      end = monotonic_ns();
      if (got < 0) {
        fail("wait failed", -got);
        break;
      }
      if (got == 0) {  // a signal (EINTR): wait again, as a loop does
        ++interrupted;
        continue;
      }
      for (const Event& e : events.first(static_cast<std::size_t>(got))) {
        if (e.token != kTimerToken) {
          fail("reported the idle fd although nothing was ready", 0);
          break;
        }
        fired = read_timerfd(timer) > 0 || fired;
      }
      if (failure != nullptr) break;
    }
    if (failure != nullptr) break;
    state.SetIterationTime(static_cast<double>(end - start) * 1e-9);
    fx->late.add(end - start - timeout_ns);
  }
  if (failure == nullptr) {
    // The arming's cost on a wait that returns at once, the two kinds alternating.
    fx->idle_wait.clear();
    fx->armed_wait.clear();
    for (std::size_t i = 0; i < kArmPairs && failure == nullptr; ++i) {
      const std::int64_t t0 = monotonic_ns();
      const int idle = poller.wait(events, std::chrono::nanoseconds{0});
      const std::int64_t t1 = monotonic_ns();
      const bool armed = arm_timerfd(timer, kFarDeadlineNs);
      const int got = poller.wait(events, std::chrono::nanoseconds{0});
      const std::int64_t t2 = monotonic_ns();
      if (!armed) {
        fail("timerfd_settime failed", errno);
      } else if (idle != 0 || got != 0) {
        fail("a wait(0) with nothing ready reported an event or failed", 0);
      }
      fx->idle_wait.add(t1 - t0);
      fx->armed_wait.add(t2 - t1);
    }
    arm_timerfd(timer, 0);
  }
  if (failure != nullptr) {
    const std::string reason = failure_err == 0
                                   ? fmt::format("{}: timerfd: {}", backend.name, failure)
                                   : fmt::format("{}: timerfd: {}: {}", backend.name, failure,
                                                 std::generic_category().message(failure_err));
    state.SkipWithError(reason.c_str());
    drop_fixture();
    return;
  }
  SampleSet& late = fx->late;
  set_counter(state, "late_p50_ns", static_cast<double>(late.percentile(0.50)));
  set_counter(state, "late_p99_ns", static_cast<double>(late.percentile(0.99)));
  set_counter(state, "late_max_ns", static_cast<double>(late.max()));
  set_counter(state, "late_mean_ns", late.mean());
  set_counter(state, "interrupted", static_cast<double>(interrupted));
  const auto idle = static_cast<double>(fx->idle_wait.percentile(0.50));
  const auto armed = static_cast<double>(fx->armed_wait.percentile(0.50));
  set_counter(state, "wait0_ns", idle);
  set_counter(state, "armed_wait0_ns", armed);
  set_counter(state, "arm_ns", armed - idle);
}

void run_timeout_raw(benchmark::State& state, RawTimeout path, std::int64_t timeout_us) {
  const std::string_view who = to_string(path);
  const FdPool* pool = nullptr;
  if (!acquire_pool(state, 1, 1, INT_MAX, who, pool)) return;
  const int fd = pool->polled_fd(0);
  auto* fx = row_fixture<TimeoutFixture>(state, [&] {
    auto f = std::make_unique<TimeoutFixture>();
    if (path == RawTimeout::kEpollPwait2) {
      f->epfd.reset(::epoll_create1(EPOLL_CLOEXEC));
      if (!f->epfd) throw std::system_error(errno, std::generic_category(), "epoll_create1");
      epoll_event ev{};
      ev.events = EPOLLIN;
      if (::epoll_ctl(f->epfd.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
      }
      // Refused by kernels before 5.11 (ENOSYS) or by a seccomp filter: skip with why.
      epoll_event probe{};
      const timespec zero{};
      if (pollbench::detail::epoll_pwait2_nomask(f->epfd.get(), &probe, 1, &zero) < 0) {
        throw std::system_error(errno, std::generic_category(),
                                "epoll_pwait2 is unavailable here (needs Linux 5.11)");
      }
    }
    return f;
  });
  if (fx == nullptr) return;
  const int epfd = fx->epfd.get();
  time_waits(state, who, timeout_us * 1000, fx->late, [&](std::int64_t ns) noexcept {
    const timespec ts = to_timespec(ns);
    int got = 0;
    if (path == RawTimeout::kPpoll) {
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      got = ::ppoll(&p, 1, &ts, nullptr);
    } else {
      epoll_event e{};
      got = pollbench::detail::epoll_pwait2_nomask(epfd, &e, 1, &ts);
    }
    if (got >= 0) return got;
    return errno == EINTR ? 0 : -errno;  // as a backend's wait() reports a signal
  });
}

std::string_view to_string(RawTimeout path) noexcept {
  return path == RawTimeout::kPpoll ? "ppoll" : "epoll_pwait2";
}

void register_timeout(const Sweep& sweep, const Rows& rows) {
  // A bare path is measured with the rows whose raw floor it underlies, as raw/ with dispatch/.
  std::vector<RawTimeout> paths;
  std::vector<std::string_view> path_names;
  for (const auto& [path, floor] :
       {std::pair{RawTimeout::kPpoll, "poll"}, std::pair{RawTimeout::kEpollPwait2, "epoll"}}) {
    const std::string_view wanted = floor;
    if (std::any_of(rows.begin(), rows.end(),
                    [&](const Backend* b) { return b->raw_floor == wanted; })) {
      paths.push_back(path);
      path_names.push_back(to_string(path));
    }
  }
  for (const std::int64_t t : sweep.timeout_us) {
    for (const Backend* b : rows) {
      register_row(RowName("timeout", b->name).add("us", t), 1, [b, t](benchmark::State& state) {
        run_timeout(state, *b, t);
      })->UseManualTime();
    }
    for (const RawTimeout path : paths) {
      register_row(RowName("raw_timeout", to_string(path)).add("us", t), 1,
                   [path, t](benchmark::State& state) { run_timeout_raw(state, path, t); })
          ->UseManualTime();
    }
  }
  // timerfd/<row>: the other-descriptor rows and the first library row (a precise-timer loop
  // is a library's choice: libevent's EVENT_BASE_FLAG_PRECISE_TIMER).
  Rows timed_by_timerfd = other_descriptor_rows(rows);
  if (const Backend* lib = first_library_row(rows)) timed_by_timerfd.push_back(lib);
  for (const std::int64_t t : sweep.timerfd_us) {
    for (const Backend* b : timed_by_timerfd) {
      register_row(RowName("timerfd", b->name).add("us", t), 1, [b, t](benchmark::State& state) {
        run_timerfd(state, *b, t);
      })->UseManualTime();
    }
  }
  describe_scenario("timeout", fmt::format(R"({{"backends": {}, "us": {}}})", json_names(rows),
                                           json_list(sweep.timeout_us)));
  describe_scenario("timerfd",
                    fmt::format(R"({{"backends": {}, "us": {}}})", json_names(timed_by_timerfd),
                                json_list(sweep.timerfd_us)));
  describe_scenario("raw_timeout", fmt::format(R"({{"paths": {}, "us": {}}})",
                                               json_list(path_names), json_list(sweep.timeout_us)));
}

}  // namespace pollbench::bench
