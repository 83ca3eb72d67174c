// sentinel: two gauges of the machine, independent of N and of every backend, registered before,
// between and after the scenarios. With the repetitions interleaved (the default) their
// repetitions land at random points of the sweep, and each one's exec_order counter (rows.hpp)
// says where.
//   sentinel/roundtrip/at:<k>  one 1-byte write + read on one socketpair, on one CPU: its drift
//                              over a run is the machine's noise (neighbours, frequency,
//                              thermal) rather than pollbench's.
//   sentinel/cross_cpu/at:<k>  one eventfd round trip between the timed thread and a thread on
//                              the other CPU, each asleep in read() until woken: the cost of one
//                              CPU waking another. On a VM that cost belongs to the host: here it
//                              switches between levels 10–35% apart for minutes at a time, while
//                              the same-CPU round trip stays put, and every row that crosses
//                              CPUs (cpus_used ≥ 2: wakeup cpu:other, signal, herd, server)
//                              moves with it. compare reads it to tell such a move from a
//                              change of the code.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
#include "harness/cpus.hpp"
#include "harness/rig_threads.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench::bench {
namespace {

struct SentinelPair {
  UniqueFd writer;
  UniqueFd reader;
};

// Its own pair, created on first use and kept until release_sentinel(), so every position
// times the same socket.
std::unique_ptr<SentinelPair> g_pair;

const SentinelPair& sentinel_pair() {
  if (!g_pair) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      throw std::system_error(errno, std::generic_category(), "socketpair");
    }
    g_pair = std::make_unique<SentinelPair>(SentinelPair{UniqueFd(sv[0]), UniqueFd(sv[1])});
  }
  return *g_pair;
}

UniqueFd blocking_eventfd() {
  const int fd = ::eventfd(0, EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return UniqueFd(fd);
}

// The cross-CPU gauge's other side: a thread on `cpu` that answers every wake on `ping` with
// one on `pong` until `stop` is set. Made per repetition, outside the timed loop; ended and
// joined by its destructor.
class CrossCpuPeer {
 public:
  explicit CrossCpuPeer(int cpu) : ping_(blocking_eventfd()), pong_(blocking_eventfd()) {
    thread_ = std::thread([this] { answer(); });
    try {
      place_thread(thread_.native_handle(), std::array{cpu});
    } catch (...) {
      end();
      throw;
    }
    rig_detail::release(ready_);
  }
  CrossCpuPeer(const CrossCpuPeer&) = delete;
  CrossCpuPeer& operator=(const CrossCpuPeer&) = delete;
  CrossCpuPeer(CrossCpuPeer&&) = delete;
  CrossCpuPeer& operator=(CrossCpuPeer&&) = delete;
  ~CrossCpuPeer() { end(); }

  // One round trip: wakes the peer and sleeps until it wakes this thread. False if a call
  // failed (the peer has then stopped answering, so the row ends).
  bool roundtrip() noexcept {
    std::uint64_t value = 1;
    if (::write(ping_.get(), &value, sizeof(value)) != sizeof(value)) return false;
    return ::read(pong_.get(), &value, sizeof(value)) == sizeof(value);
  }

 private:
  void answer() noexcept {
    // Not before the constructor has pinned this thread: its first sleep is on its own CPU.
    rig_detail::await_release(ready_);
    std::uint64_t value = 0;
    while (::read(ping_.get(), &value, sizeof(value)) == sizeof(value)) {
      if (stop_.load(std::memory_order_acquire)) return;
      value = 1;
      if (::write(pong_.get(), &value, sizeof(value)) != sizeof(value)) return;
    }
  }

  void end() noexcept {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    rig_detail::release(ready_);  // a constructor that failed to pin it never did
    const std::uint64_t value = 1;
    (void)::write(ping_.get(), &value, sizeof(value));
    thread_.join();
  }

  UniqueFd ping_;
  UniqueFd pong_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

void run_cross_cpu_sentinel(benchmark::State& state) {
  const CpuPlacement& placement = cpu_placement();
  if (placement.timed < 0 || placement.others.empty()) {
    state.SkipWithError("sentinel/cross_cpu needs a second CPU: no other CPU is listed or allowed");
    return;
  }
  std::unique_ptr<CrossCpuPeer> peer;
  std::optional<ScopedPin> pin;
  try {
    pin.emplace(placement.timed);
    peer = std::make_unique<CrossCpuPeer>(placement.others.front());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::size_t failures = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    failures += static_cast<std::size_t>(!peer->roundtrip());
    if (failures != 0) break;
  }
  const auto t1 = Clock::now();
  peer.reset();
  if (failures != 0) {
    state.SkipWithError("sentinel/cross_cpu: a write or read on an eventfd failed");
    return;
  }
  set_counter(state, "ns_per_roundtrip",
              per(elapsed_ns(t0, t1), static_cast<double>(state.iterations())));
  set_cpus_used(state, 2);
}

void release_sentinel() noexcept {
  g_pair.reset();
}

void run_sentinel(benchmark::State& state) {
  const SentinelPair* pair = nullptr;
  try {
    pair = &sentinel_pair();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const int writer = pair->writer.get();
  const int reader = pair->reader.get();
  char byte = 's';
  std::size_t failures = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    failures += static_cast<std::size_t>(::write(writer, &byte, 1) != 1);
    failures += static_cast<std::size_t>(::read(reader, &byte, 1) != 1);
  }
  const auto t1 = Clock::now();
  if (failures != 0) {
    state.SkipWithError("sentinel: a write or read on the socketpair failed");
    return;
  }
  set_counter(state, "ns_per_roundtrip",
              per(elapsed_ns(t0, t1), static_cast<double>(state.iterations())));
}

void register_sentinel() {
  static std::int64_t position = 0;
  register_row(RowName("sentinel", "roundtrip").add("at", position), 0, run_sentinel);
  register_row(RowName("sentinel", "cross_cpu").add("at", position), 0, run_cross_cpu_sentinel);
  ++position;
}

}  // namespace pollbench::bench
