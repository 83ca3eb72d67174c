// signal: how long after a signal is sent to the process a thread blocked in wait() learns
// which signal it was, for the two ways an event loop waits for signals:
//  - via:signalfd — a signalfd registered in the Poller; the signal is blocked in every thread
//    (else a thread would take it by disposition), so it stays pending until the waiter reads
//    its number from the signalfd;
//  - via:selfpipe — a handler writes the signal's number into a pipe whose read end is
//    registered (libevent's evsig, libuv's signal pipe); the signal is blocked in every thread
//    but the waiter, so the kernel interrupts the waiter's wait (EINTR: wait() returns 0), the
//    handler runs, and the next wait() reports the pipe.
// The rig is the wakeup scenario's (harness/wakeup_rig.hpp) with a signal as the wake:
// the driver (this thread) waits until the waiter sleeps in wait(-1), takes CLOCK_MONOTONIC and
// sends the signal with kill(2) (process-directed, as a signal from outside arrives); the
// waiter takes CLOCK_MONOTONIC when wait() returns with the signal's fd among its events and
// counts the sample once it has read the signal's number back. Driver and waiter are on two
// CPUs (as wakeup's cpu:other). The fixture restores this thread's signal mask and the
// signal's disposition when the row ends, also after a failure; the waiter's own mask dies
// with it.
#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <optional>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/event_fds.hpp"
#include "harness/sample_set.hpp"
#include "harness/wakeup_rig.hpp"

namespace pollbench::bench {
namespace {

constexpr std::size_t kKeptSamples = 65536;
// The token of the signal's fd (the only registered fd).
constexpr std::uint64_t kSignalToken = 0;

class SignalFdWake final : public WakeSource {
 public:
  SignalFdWake(int fd, int signo) : fd_(fd), signo_(signo) {}
  bool wake(std::int64_t /*k*/) noexcept override { return send_signal(signo_); }
  bool consume(const Event& event) noexcept override {
    if (event.token != kSignalToken) return false;
    bool identified = false;
    for (int got = read_signalfd(fd_); got > 0; got = read_signalfd(fd_)) {
      identified = identified || got == signo_;
    }
    return identified;
  }
  void drain() noexcept override {
    while (read_signalfd(fd_) > 0) {
    }
    discard_pending(signo_);  // the stop's signals: blocked here, so still pending
  }

 private:
  int fd_;
  int signo_;
};

class SelfPipeWake final : public WakeSource {
 public:
  explicit SelfPipeWake(const SelfPipe& pipe) : pipe_(pipe) {}
  bool wake(std::int64_t /*k*/) noexcept override { return send_signal(pipe_.signo()); }
  bool consume(const Event& event) noexcept override {
    if (event.token != kSignalToken) return false;
    bool identified = false;
    for (int got = pipe_.read_signal(); got > 0; got = pipe_.read_signal()) {
      identified = identified || got == pipe_.signo();
    }
    return identified;
  }
  // The waiter is the one thread that takes the signal (it inherited the driver's mask, which
  // blocks it). Its mask ends with the thread.
  void on_waiter_start() noexcept override {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, pipe_.signo());
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  void drain() noexcept override {
    discard_pending(pipe_.signo());  // sent after the waiter left: pending, blocked here
    while (pipe_.read_signal() > 0) {
    }
  }

 private:
  const SelfPipe& pipe_;
};

// Members are destroyed in reverse order: the rig (its waiter joined, what it left pending
// discarded) first, then the signal's fd and disposition, and the driver's mask last.
struct SignalFixture final : Fixture {
  std::optional<ScopedSignalMask> blocked;    // this thread: the signal blocked
  std::optional<ScopedSignalHandler> safety;  // signalfd: a do-nothing handler
  UniqueFd signal_fd;                         // via:signalfd
  std::unique_ptr<SelfPipe> pipe;             // via:selfpipe
  std::unique_ptr<WakeupRig> rig;
  SampleSet samples{kKeptSamples};
};

void skip(benchmark::State& state, const std::string& reason) {
  state.SkipWithError(reason.c_str());
}

}  // namespace

std::string_view to_string(SignalVia via) noexcept {
  return via == SignalVia::kSignalFd ? "signalfd" : "selfpipe";
}

void run_signal(benchmark::State& state, const Backend& backend, SignalVia via) {
  // The shared pool exists before this row opens its fds, so they never take the low numbers
  // the pool's polled ends are meant to have.
  const FdPool* pool = nullptr;
  if (!backend_row_ready(state, backend, 1, 1, pool)) {
    return;
  }
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || placement.others.empty()) {
    skip(state, fmt::format("signal rows need a second CPU for the waiter: the timed thread is "
                            "on CPU {} and no other CPU is listed or allowed",
                            placement.timed));
    return;
  }
  const int driver_cpu = placement.timed;
  const int waiter_cpu = placement.others.front();
  auto* fx = row_fixture<SignalFixture>(state, [&] {
    auto f = std::make_unique<SignalFixture>();
    // Blocked before the waiter exists, so that it inherits the mask.
    f->blocked.emplace(SIG_BLOCK, kBenchSignal);
    auto poller = backend.make();
    std::unique_ptr<WakeSource> source;
    if (via == SignalVia::kSignalFd) {
      f->safety.emplace(kBenchSignal, &ignore_signal);
      f->signal_fd = make_signalfd(kBenchSignal);
      poller->add(f->signal_fd.get(), kReadable, kSignalToken);
      source = std::make_unique<SignalFdWake>(f->signal_fd.get(), kBenchSignal);
    } else {
      f->pipe = std::make_unique<SelfPipe>(kBenchSignal);
      poller->add(f->pipe->read_fd(), kReadable, kSignalToken);
      source = std::make_unique<SelfPipeWake>(*f->pipe);
    }
    f->rig = std::make_unique<WakeupRig>(std::move(poller), std::move(source), waiter_cpu);
    return f;
  });
  if (fx == nullptr) return;
  sample_wakeups(
      state, *fx->rig, fx->samples, driver_cpu, waiter_cpu,
      fmt::format("{} via {}", backend.name,
                  to_string(via)));  // on failure the fixture goes: mask and disposition restored
}

void register_signal(const Sweep& sweep, const Rows& rows) {
  const Rows measured = other_descriptor_rows(rows);
  std::vector<std::string_view> vias;
  for (const SignalVia via : sweep.signal_vias) vias.push_back(to_string(via));
  for (const Backend* b : measured) {
    for (const SignalVia via : sweep.signal_vias) {
      register_row(RowName("signal", b->name).add("via", to_string(via)), 1,
                   [b, via](benchmark::State& state) { run_signal(state, *b, via); })
          ->UseManualTime();
    }
  }
  describe_scenario("signal", fmt::format(R"({{"backends": {}, "via": {}}})", json_names(measured),
                                          json_list(vias)));
}

}  // namespace pollbench::bench
