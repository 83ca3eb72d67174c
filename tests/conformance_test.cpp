// The conformance suite: every behaviour of the Poller contract (backends/poller.hpp), run over
// every row of the registry. A new backend gets all of it by adding its row; capabilities
// (edge_triggered, max_fd) decide the few expectations that differ.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "backends/registry.hpp"
#include "harness/fd_pool.hpp"

namespace pollbench {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// Tokens use the high bits too, so a backend that truncates them to 32 bits (or returns the
// fd instead) fails.
constexpr std::uint64_t kTokenBase = 0xA5A5'0000'0000'0000ULL;
std::uint64_t token_of(std::size_t i) {
  return kTokenBase + i;
}

constexpr nanoseconds kNow{0};

class Conformance : public ::testing::TestWithParam<const Backend*> {
 protected:
  void SetUp() override {
    fds_at_start_ = count_open_fds();
    const Backend& backend = *GetParam();
    if (auto why = unavailable_reason(backend)) GTEST_SKIP() << backend.name << ": " << *why;
    poller_ = backend.make();
    caps_ = backend.capabilities;
  }

  void TearDown() override {
    poller_.reset();
    pool_.reset();
    EXPECT_EQ(count_open_fds(), fds_at_start_) << "the test leaked (or closed) descriptors";
  }

  // A pool of up to `wanted` socketpairs whose polled ends the backend accepts (select stops
  // at FD_SETSIZE), every one registered for `interest` with token_of(i).
  FdPool& register_pool(std::size_t wanted, Interest interest = kReadable,
                        FdKind kind = FdKind::kSocketPair) {
    std::size_t size = wanted;
    if (caps_.max_fd != INT_MAX) {
      const auto room = static_cast<std::size_t>(caps_.max_fd + 1 - count_open_fds() - 8);
      size = std::min(size, room);
    }
    pool_ = std::make_unique<FdPool>(size, kind);
    for (std::size_t i = 0; i < pool_->size(); ++i) {
      EXPECT_LE(pool_->polled_fd(i), caps_.max_fd);
      poller_->add(pool_->polled_fd(i), interest, token_of(i));
    }
    return *pool_;
  }

  std::vector<Event> wait_events(nanoseconds timeout, std::size_t capacity = 4096) {
    std::vector<Event> buf(capacity);
    const int n = poller_->wait(buf, timeout);
    EXPECT_GE(n, 0) << "wait failed with errno " << -n;
    EXPECT_LE(n, static_cast<int>(capacity));
    buf.resize(static_cast<std::size_t>(std::max(n, 0)));
    return buf;
  }

  // wait_events() for a wait that blocks, in a thread of its own, and how long it took. The
  // kernel interrupts every thread that used an io_uring some milliseconds after the ring is
  // closed, and epoll_wait then returns EINTR (uring_poller.cpp, quirk i): a new thread has
  // used no ring, so no earlier test can cut its wait short.
  std::pair<std::vector<Event>, steady_clock::duration> blocking_wait(nanoseconds timeout) {
    std::pair<std::vector<Event>, steady_clock::duration> result;
    std::thread waiter([&] {
      const auto start = steady_clock::now();
      result.first = wait_events(timeout);
      result.second = steady_clock::now() - start;
    });
    waiter.join();
    return result;
  }

  static std::set<std::uint64_t> tokens(const std::vector<Event>& events) {
    std::set<std::uint64_t> out;
    for (const Event& e : events) {
      EXPECT_TRUE(out.insert(e.token).second) << "token reported twice in one wait: " << e.token;
    }
    return out;
  }

  static std::set<std::uint64_t> tokens_of(const std::vector<std::size_t>& indices) {
    std::set<std::uint64_t> out;
    for (std::size_t i : indices) out.insert(token_of(i));
    return out;
  }

  std::unique_ptr<Poller> poller_;
  std::unique_ptr<FdPool> pool_;
  Capabilities caps_{};
  int fds_at_start_ = 0;
};

int error_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    EXPECT_FALSE(std::string(e.what()).empty());
    return e.code().value();
  }
  return 0;
}

TEST_P(Conformance, NothingRegisteredTimeoutZeroReturnsZero) {
  EXPECT_TRUE(wait_events(kNow).empty());
}

TEST_P(Conformance, NothingReadyTimeoutZeroReturnsZero) {
  register_pool(64);
  EXPECT_TRUE(wait_events(kNow).empty());
}

TEST_P(Conformance, OneReadyAmongAThousandIdleIsReportedOnceWithItsToken) {
  FdPool& pool = register_pool(1000);
  const std::size_t hot = pool.size() * 2 / 3;
  ASSERT_TRUE(pool.make_ready(hot));
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(hot));
  EXPECT_TRUE(events[0].readable);
  EXPECT_FALSE(events[0].writable);
  EXPECT_FALSE(events[0].error);
}

TEST_P(Conformance, ExactlyTheActiveSubsetIsReportedForRandomSubsets) {
  FdPool& pool = register_pool(2000);
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const auto active = random_subset(pool.size(), 1 + seed * 37, seed);
    for (std::size_t i : active) ASSERT_TRUE(pool.make_ready(i));
    EXPECT_EQ(tokens(wait_events(kNow)), tokens_of(active)) << "seed " << seed;
    for (std::size_t i : active) EXPECT_EQ(pool.drain(i), 1U);
  }
  EXPECT_TRUE(wait_events(kNow).empty());
}

TEST_P(Conformance, UnreadDataIsReportedAgainOnlyWhenLevelTriggered) {
  FdPool& pool = register_pool(8);
  ASSERT_TRUE(pool.make_ready(3));
  ASSERT_EQ(wait_events(kNow).size(), 1U);
  const auto again = wait_events(kNow);
  if (caps_.edge_triggered) {
    EXPECT_TRUE(again.empty()) << "edge-triggered backend reported unread data twice";
  } else {
    ASSERT_EQ(again.size(), 1U) << "level-triggered backend forgot unread data";
    EXPECT_EQ(again[0].token, token_of(3));
  }
}

TEST_P(Conformance, NewDataOnAnUnreadFdIsReportedAgain) {
  FdPool& pool = register_pool(8);
  ASSERT_TRUE(pool.make_ready(5));
  ASSERT_EQ(wait_events(kNow).size(), 1U);
  (void)wait_events(kNow);  // ET: nothing; LT: the same fd again
  ASSERT_TRUE(pool.make_ready(5));
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(5));
  EXPECT_EQ(pool.drain(5), 2U);
}

TEST_P(Conformance, RemoveStopsReportsAndLeavesTheOthers) {
  FdPool& pool = register_pool(16);
  ASSERT_TRUE(pool.make_ready(4));
  ASSERT_TRUE(pool.make_ready(9));
  poller_->remove(pool.polled_fd(4));
  const auto events = wait_events(kNow);
  EXPECT_EQ(tokens(events), std::set<std::uint64_t>{token_of(9)});
}

TEST_P(Conformance, SwapRemoveKeepsEveryOtherRegistrationIntact) {
  FdPool& pool = register_pool(500);
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (i % 3 == 1) {
      poller_->remove(pool.polled_fd(i));
    } else {
      kept.push_back(i);
    }
    ASSERT_TRUE(pool.make_ready(i));
  }
  EXPECT_EQ(tokens(wait_events(kNow)), tokens_of(kept));
  // Re-adding the removed ones works and reports them too.
  for (std::size_t i = 1; i < pool.size(); i += 3) {
    poller_->add(pool.polled_fd(i), kReadable, token_of(i));
  }
  if (caps_.edge_triggered) {
    for (std::size_t i = 0; i < pool.size(); ++i) ASSERT_TRUE(pool.make_ready(i));
  }
  EXPECT_EQ(tokens(wait_events(kNow)).size(), pool.size());
}

TEST_P(Conformance, ModifySwitchesBetweenReadAndWriteInterest) {
  FdPool& pool = register_pool(4);
  EXPECT_TRUE(wait_events(kNow).empty()) << "an idle socket reported readable";
  poller_->modify(pool.polled_fd(2), kWritable, token_of(2));
  auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(2));
  EXPECT_TRUE(events[0].writable);
  EXPECT_FALSE(events[0].readable);
  poller_->modify(pool.polled_fd(2), kReadable, token_of(2));
  EXPECT_TRUE(wait_events(kNow).empty()) << "write interest survived modify back to read";
  ASSERT_TRUE(pool.make_ready(2));
  events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_TRUE(events[0].readable);
  EXPECT_FALSE(events[0].writable);
}

TEST_P(Conformance, ModifyReplacesTheToken) {
  FdPool& pool = register_pool(4);
  constexpr std::uint64_t kNewToken = 0xFFFF'FFFF'FFFF'FFF0ULL;
  poller_->modify(pool.polled_fd(1), kReadable, kNewToken);
  ASSERT_TRUE(pool.make_ready(1));
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, kNewToken);
}

TEST_P(Conformance, AWritableSocketIsReportedWritable) {
  FdPool& pool = register_pool(32, kWritable);
  const auto events = wait_events(kNow);
  EXPECT_EQ(events.size(), pool.size());
  for (const Event& e : events) {
    EXPECT_TRUE(e.writable);
    EXPECT_FALSE(e.readable);
  }
}

TEST_P(Conformance, ReadAndWriteInterestGiveOneEventWithBothFlags) {
  FdPool& pool = register_pool(4, kReadWrite);
  ASSERT_TRUE(pool.make_ready(0));
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), pool.size()) << "one event per fd, not one per direction";
  for (const Event& e : events) {
    EXPECT_TRUE(e.writable);
    EXPECT_EQ(e.readable, e.token == token_of(0)) << "token " << e.token;
  }
}

TEST_P(Conformance, PeerCloseIsReportedAsHangupOrReadableEof) {
  FdPool& pool = register_pool(8);
  pool.close_peer(6);
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(6));
  EXPECT_TRUE(events[0].hangup || events[0].readable);
  char byte = 0;
  EXPECT_EQ(::read(pool.polled_fd(6), &byte, 1), 0) << "peer close must read as EOF";
}

TEST_P(Conformance, EveryFdKindBecomesReadable) {
  for (FdKind kind : {FdKind::kSocketPair, FdKind::kPipe, FdKind::kEventFd}) {
    poller_ = GetParam()->make();
    FdPool& pool = register_pool(64, kReadable, kind);
    const auto active = spread_subset(pool.size(), 5);
    for (std::size_t i : active) ASSERT_TRUE(pool.make_ready(i));
    EXPECT_EQ(tokens(wait_events(kNow)), tokens_of(active)) << to_string(kind);
    for (std::size_t i : active) EXPECT_GT(pool.drain(i), 0U);
    EXPECT_TRUE(wait_events(kNow).empty()) << to_string(kind);
    poller_.reset();
  }
}

TEST_P(Conformance, BlockingWaitIsWokenByAWriteFromAnotherThread) {
  FdPool& pool = register_pool(100);
  std::thread writer([&pool] {
    std::this_thread::sleep_for(milliseconds(20));
    pool.make_ready(42);
  });
  const auto events = blocking_wait(nanoseconds(-1)).first;
  writer.join();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(42));
}

TEST_P(Conformance, PositiveTimeoutWithNothingReadyReturnsZeroNoEarlierThanTheTimeout) {
  register_pool(16);
  // 1.5 ms checks that sub-resolution timeouts are rounded up, not truncated to 1 ms.
  for (nanoseconds timeout : {nanoseconds(1'500'000), nanoseconds(milliseconds(30))}) {
    const auto [events, elapsed] = blocking_wait(timeout);
    EXPECT_TRUE(events.empty());
    EXPECT_GE(elapsed, timeout) << "returned early";  // a lower bound only: the machine is shared
  }
}

TEST_P(Conformance, ASmallEventArraySpreadsReadyFdsOverWaitsWithNoneLost) {
  FdPool& pool = register_pool(400);
  const auto active = spread_subset(pool.size(), 50);
  for (std::size_t i : active) ASSERT_TRUE(pool.make_ready(i));
  // Without draining: ceil(50 / 7) = 8 waits must between them report every ready fd, and
  // (edge-triggered) none twice.
  std::set<std::uint64_t> seen;
  for (int round = 0; round < 8; ++round) {
    const auto events = wait_events(kNow, 7);
    ASSERT_FALSE(events.empty()) << "round " << round;
    for (const Event& e : events) {
      const bool fresh = seen.insert(e.token).second;
      if (caps_.edge_triggered) {
        EXPECT_TRUE(fresh) << "edge-triggered event repeated";
      }
    }
  }
  EXPECT_EQ(seen, tokens_of(active));
}

TEST_P(Conformance, ASmallEventArrayWithDrainingReportsEachFdExactlyOnce) {
  FdPool& pool = register_pool(400);
  const auto active = random_subset(pool.size(), 61, 7);
  for (std::size_t i : active) ASSERT_TRUE(pool.make_ready(i));
  std::set<std::uint64_t> seen;
  for (int round = 0; round < 100 && seen.size() < active.size(); ++round) {
    for (const Event& e : wait_events(kNow, 5)) {
      EXPECT_TRUE(seen.insert(e.token).second) << "drained fd reported again: " << e.token;
      EXPECT_EQ(pool.drain(e.token - kTokenBase), 1U);
    }
  }
  EXPECT_EQ(seen, tokens_of(active));
  EXPECT_TRUE(wait_events(kNow).empty());
}

TEST_P(Conformance, AnEmptyEventArrayReturnsZero) {
  FdPool& pool = register_pool(4);
  ASSERT_TRUE(pool.make_ready(0));
  EXPECT_EQ(poller_->wait({}, kNow), 0);
}

TEST_P(Conformance, RegisteringAnFdTwiceFailsWithEexistAndKeepsTheFirst) {
  FdPool& pool = register_pool(4);
  EXPECT_EQ(error_code_of([&] { poller_->add(pool.polled_fd(1), kReadable, 999); }), EEXIST);
  ASSERT_TRUE(pool.make_ready(1));
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, token_of(1));
}

TEST_P(Conformance, RemovingOrModifyingAnUnregisteredFdFailsWithEnoent) {
  FdPool& pool = register_pool(4);
  poller_->remove(pool.polled_fd(2));
  EXPECT_EQ(error_code_of([&] { poller_->remove(pool.polled_fd(2)); }), ENOENT);
  EXPECT_EQ(error_code_of([&] { poller_->modify(pool.polled_fd(2), kReadable, 1); }), ENOENT);
  UniqueFd never_added(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(never_added.valid());
  EXPECT_EQ(error_code_of([&] { poller_->remove(never_added.get()); }), ENOENT);
}

TEST_P(Conformance, AnEmptyInterestOrANegativeFdIsRefused) {
  FdPool& pool = register_pool(2);
  UniqueFd spare(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(spare.valid());
  EXPECT_EQ(error_code_of([&] { poller_->add(spare.get(), Interest{}, 1); }), EINVAL);
  EXPECT_EQ(error_code_of([&] { poller_->modify(pool.polled_fd(0), Interest{}, 1); }), EINVAL);
  EXPECT_EQ(error_code_of([&] { poller_->add(-1, kReadable, 1); }), EBADF);
}

TEST_P(Conformance, AnFdAboveTheBackendsLimitIsRefusedWithErange) {
  if (caps_.max_fd == INT_MAX) GTEST_SKIP() << "no fd-number limit for this backend";
  raise_fd_limit();
  UniqueFd low(::eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(low.valid());
  UniqueFd high(::fcntl(low.get(), F_DUPFD_CLOEXEC, caps_.max_fd + 1));
  ASSERT_TRUE(high.valid());
  EXPECT_EQ(error_code_of([&] { poller_->add(high.get(), kReadable, 1); }), ERANGE);
  EXPECT_EQ(error_code_of([&] { poller_->add(caps_.max_fd + 7, kReadable, 1); }), ERANGE);
  EXPECT_TRUE(wait_events(kNow).empty());
}

// The documented outcome for an fd that is not open: refused with EBADF where the mechanism
// checks at registration (epoll_ctl), otherwise an error event for its token at the next wait.
TEST_P(Conformance, AClosedFdIsRefusedOrReportedAsAnError) {
  int closed_fd = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(closed_fd, 0);
  ::close(closed_fd);
  const int code = error_code_of([&] { poller_->add(closed_fd, kReadable, 77); });
  if (code != 0) {
    EXPECT_EQ(code, EBADF);
    return;
  }
  const auto events = wait_events(kNow);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].token, 77U);
  if (caps_.bad_fd_error) {
    EXPECT_TRUE(events[0].error);
  } else {
    EXPECT_TRUE(events[0].readable) << "bad_fd_error = false: reported as readable instead";
  }
  poller_->remove(closed_fd);
  if (!caps_.bad_fd_error) {
    GTEST_SKIP() << "error flag not checked: this backend declares bad_fd_error = false (it "
                    "cannot tell an fd that is not open from a readable one); the event and its "
                    "token were checked";
  }
}

TEST_P(Conformance, AnFdClosedWhileRegisteredNeverBreaksLaterWaits) {
  if (!caps_.survives_close_while_registered) {
    GTEST_SKIP() << "this backend declares survives_close_while_registered = false: closing a "
                    "registered fd before remove() can abort the process";
  }
  FdPool& pool = register_pool(10);
  const int doomed = pool.polled_fd(3);
  ASSERT_TRUE(pool.make_ready(5));
  pool.close_polled(3);
  for (int i = 0; i < 3; ++i) {
    for (const Event& e : wait_events(kNow)) {
      // bad_fd_error = false: the closed fd may come back readable instead of with `error`.
      const bool closed_fd_event = e.error || (!caps_.bad_fd_error && e.readable);
      EXPECT_TRUE(e.token == token_of(5) || (e.token == token_of(3) && closed_fd_event))
          << "unexpected event for token " << e.token;
    }
  }
  try {
    poller_->remove(doomed);  // epoll already dropped it (EBADF); poll/select still hold it
  } catch (const std::system_error& e) {
    EXPECT_TRUE(e.code().value() == EBADF || e.code().value() == ENOENT) << e.what();
  }
  ASSERT_TRUE(pool.make_ready(5));  // a fresh edge, for the edge-triggered backends
  EXPECT_EQ(tokens(wait_events(kNow)), std::set<std::uint64_t>{token_of(5)});
}

std::string row_name(const ::testing::TestParamInfo<const Backend*>& info) {
  return std::string(info.param->name);
}

std::vector<const Backend*> all_rows() {
  std::vector<const Backend*> rows;
  for (const Backend& b : backends()) rows.push_back(&b);
  return rows;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Conformance, ::testing::ValuesIn(all_rows()), row_name);

// Differential: for hundreds of random rounds on one pool, every backend reports exactly the
// same ready set — and the one the harness made.
TEST(Differential, EveryBackendReportsTheSameReadySetEveryRound) {
  const int fds_at_start = count_open_fds();
  {
    std::vector<std::unique_ptr<Poller>> pollers;
    std::vector<std::string_view> names;
    int max_fd = INT_MAX;
    for (const Backend& b : backends()) {
      if (unavailable_reason(b)) continue;
      pollers.push_back(b.make());
      names.push_back(b.name);
      max_fd = std::min(max_fd, b.capabilities.max_fd);
    }
    ASSERT_GE(pollers.size(), 2U);
    const std::size_t size =
        std::min<std::size_t>(900, static_cast<std::size_t>(max_fd - count_open_fds() - 16));
    FdPool pool(size);
    for (auto& p : pollers) {
      for (std::size_t i = 0; i < pool.size(); ++i) p->add(pool.polled_fd(i), kReadable, i);
    }
    std::vector<Event> buf(pool.size());
    std::mt19937_64 rng(2026);
    for (int round = 0; round < 300; ++round) {
      const std::size_t k = (round % 10 == 0) ? rng() % pool.size() : rng() % 40;
      const auto active = random_subset(pool.size(), k, rng());
      for (std::size_t i : active) ASSERT_TRUE(pool.make_ready(i));
      const std::set<std::uint64_t> expected(active.begin(), active.end());
      for (std::size_t p = 0; p < pollers.size(); ++p) {
        const int n = pollers[p]->wait(buf, kNow);
        ASSERT_GE(n, 0) << names[p];
        std::set<std::uint64_t> got;
        for (int i = 0; i < n; ++i) got.insert(buf[static_cast<std::size_t>(i)].token);
        ASSERT_EQ(got, expected) << names[p] << " in round " << round;
      }
      for (std::size_t i : active) ASSERT_EQ(pool.drain(i), 1U);
    }
  }
  EXPECT_EQ(count_open_fds(), fds_at_start);
}

}  // namespace
}  // namespace pollbench

// --- The event loop's other descriptors: eventfd, timerfd, signalfd -------------------------
// Every backend must report the descriptors a loop uses for wake-ups, timers and signals like
// any other readable fd: a write to an eventfd from another thread, a timerfd's expiry (again
// after each re-arm, so an edge- or completion-based backend sees every expiry), a signal sent
// to the process while a signalfd is registered. The descriptors are harness/event_fds.hpp's,
// which restore the signal mask and disposition they change; the last test checks that.
#include <csignal>

#include "harness/event_fds.hpp"

namespace pollbench {
namespace {

// How long a blocking wait here may take before the descriptor counts as never reported.
constexpr nanoseconds kEventPatience{milliseconds(2000)};

// The kernel reports SA_RESTORER, which glibc's sigaction adds, once a disposition has been
// set through it: not a difference.
bool same_disposition(const struct sigaction& a, const struct sigaction& b) {
  constexpr int kSaRestorer = 0x04000000;
  return a.sa_handler == b.sa_handler && (a.sa_flags & ~kSaRestorer) == (b.sa_flags & ~kSaRestorer);
}

TEST_P(Conformance, AnEventFdWrittenByAnotherThreadIsReportedOnceDrained) {
  FdPool wake(1, FdKind::kEventFd);
  register_pool(16);
  poller_->add(wake.polled_fd(0), kReadable, token_of(1000));
  // Submitted from this thread, which outlives the waiter below: io_uring runs a poll's
  // completion as task work of the thread that submitted it.
  EXPECT_TRUE(wait_events(kNow).empty());
  std::thread writer([&wake] {
    std::this_thread::sleep_for(milliseconds(20));
    wake.make_ready(0);
    wake.make_ready(0);  // a counter: two writes are one readable fd
  });
  const auto events = blocking_wait(kEventPatience).first;
  writer.join();
  EXPECT_EQ(tokens(events), std::set<std::uint64_t>{token_of(1000)});
  EXPECT_EQ(wake.drain(0), sizeof(std::uint64_t)) << "one 8-byte read empties the counter";
  EXPECT_TRUE(wait_events(kNow).empty());
  ASSERT_TRUE(wake.make_ready(0));  // written again: a new edge
  EXPECT_EQ(tokens(wait_events(kNow)), std::set<std::uint64_t>{token_of(1000)});
  wake.drain(0);
  poller_->remove(wake.polled_fd(0));
}

TEST_P(Conformance, ATimerFdIsReportedAtEveryExpiryAndNotBefore) {
  register_pool(16);
  const UniqueFd timer = make_timerfd();
  poller_->add(timer.get(), kReadable, token_of(2000));
  EXPECT_TRUE(wait_events(kNow).empty()) << "a disarmed timerfd is not readable";
  for (int round = 0; round < 3; ++round) {  // re-armed after each expiry, as a loop does
    constexpr nanoseconds kIn{milliseconds(5)};
    const auto armed_at = steady_clock::now();
    ASSERT_TRUE(arm_timerfd(timer.get(), kIn.count()));
    const auto events = blocking_wait(kEventPatience).first;
    const auto elapsed = steady_clock::now() - armed_at;
    ASSERT_EQ(tokens(events), std::set<std::uint64_t>{token_of(2000)}) << "round " << round;
    EXPECT_GE(elapsed, kIn) << "reported before it expired";  // a lower bound only
    EXPECT_EQ(read_timerfd(timer.get()), 1) << "one expiry";
    EXPECT_TRUE(wait_events(kNow).empty()) << "read: no longer readable";
  }
  poller_->remove(timer.get());
}

TEST_P(Conformance, ASignalSentToTheProcessIsReportedThroughASignalFd) {
  register_pool(16);
  struct sigaction before {};
  ASSERT_EQ(::sigaction(kBenchSignal, nullptr, &before), 0);
  {
    // Blocked in this thread before the waiter thread exists (it inherits the mask), and a
    // do-nothing handler in case a thread of the test runner does not block it.
    const ScopedSignalMask blocked(SIG_BLOCK, kBenchSignal);
    const ScopedSignalHandler safety(kBenchSignal, &ignore_signal);
    const UniqueFd sigfd = make_signalfd(kBenchSignal);
    poller_->add(sigfd.get(), kReadable, token_of(3000));
    EXPECT_TRUE(wait_events(kNow).empty()) << "no signal pending yet";
    std::thread sender([] {
      std::this_thread::sleep_for(milliseconds(20));
      send_signal(kBenchSignal);
    });
    const auto events = blocking_wait(kEventPatience).first;
    sender.join();
    EXPECT_EQ(tokens(events), std::set<std::uint64_t>{token_of(3000)});
    EXPECT_EQ(read_signalfd(sigfd.get()), kBenchSignal) << "the signal's number, read back";
    EXPECT_TRUE(wait_events(kNow).empty()) << "read: nothing pending";
    poller_->remove(sigfd.get());
    discard_pending(kBenchSignal);  // if a failure above left it pending
  }
  struct sigaction after {};
  ASSERT_EQ(::sigaction(kBenchSignal, nullptr, &after), 0);
  EXPECT_TRUE(same_disposition(before, after)) << "the disposition was not restored";
  sigset_t mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_FALSE(sigismember(&mask, kBenchSignal)) << "the mask was not restored";
}

// The self-pipe's handler writes the signal's number; the RAII pieces put back the
// disposition and the mask, also when an exception leaves the scope that set them.
TEST(EventFds, TheSelfPipeAndTheScopedSignalStateRestoreWhatTheyChanged) {
  const int fds_at_start = count_open_fds();
  struct sigaction before {};
  ASSERT_EQ(::sigaction(kBenchSignal, nullptr, &before), 0);
  {
    const SelfPipe pipe(kBenchSignal);
    EXPECT_THROW(SelfPipe{kBenchSignal}, std::system_error) << "one self-pipe per process";
    ASSERT_TRUE(send_signal(kBenchSignal));  // not blocked here: the handler runs at once
    EXPECT_EQ(pipe.read_signal(), kBenchSignal);
    EXPECT_EQ(pipe.read_signal(), 0) << "one byte per signal";
  }
  struct sigaction after {};
  ASSERT_EQ(::sigaction(kBenchSignal, nullptr, &after), 0);
  EXPECT_TRUE(same_disposition(before, after));
  try {
    const ScopedSignalMask blocked(SIG_BLOCK, kBenchSignal);
    const ScopedSignalHandler safety(kBenchSignal, &ignore_signal);
    throw std::runtime_error("a failure while the signal is blocked");
  } catch (const std::runtime_error&) {
  }
  ASSERT_EQ(::sigaction(kBenchSignal, nullptr, &after), 0);
  EXPECT_TRUE(same_disposition(before, after));
  sigset_t mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_FALSE(sigismember(&mask, kBenchSignal));
  EXPECT_EQ(count_open_fds(), fds_at_start);
}

}  // namespace
}  // namespace pollbench
