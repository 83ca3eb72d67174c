// sentinel: one 1-byte write + read on one socketpair. It does not depend on N or on any
// backend, so its drift over a run is the machine's noise (neighbours, frequency, thermal)
// rather than pollbench's. Its rows sentinel/roundtrip/at:<k> are registered before, between
// and after the scenarios; with the repetitions interleaved (the default) their repetitions
// land at random points of the sweep, and each one's exec_order counter (rows.hpp) says where.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "bench/common.hpp"
#include "bench/rows.hpp"
#include "bench/scenarios.hpp"
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

}  // namespace

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
  register_row(RowName("sentinel", "roundtrip").add("at", position++), 0, run_sentinel);
}

}  // namespace pollbench::bench
