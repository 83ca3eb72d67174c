// The wakeup and herd rigs (harness/wakeup_rig.hpp, harness/herd_rig.hpp) and what they use
// (harness/cpus.hpp, harness/sample_set.hpp) without Google Benchmark: what they count, that the
// driver never writes before the waiter sleeps, and that every thread is joined however a rig ends.
// No timing is asserted. Runs in every preset, so ThreadSanitizer checks the driver/waiter
// protocol.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "backends/registry.hpp"
#include "harness/cpus.hpp"
#include "harness/fd_pool.hpp"
#include "harness/herd_rig.hpp"
#include "harness/sample_set.hpp"
#include "harness/thread_usage.hpp"
#include "harness/wakeup_rig.hpp"

namespace pollbench {
namespace {

constexpr std::size_t kPairs = 32;

std::unique_ptr<Poller> make_backend(std::string_view name) {
  const Backend* b = find_backend(name);
  if (b == nullptr) throw std::runtime_error("no such backend");
  return b->make();
}

// Wraps a Poller and counts the waits that found an event ready before they slept: the rigs'
// driver writes only once the waiter sleeps, so there must be none.
std::atomic<int> g_ready_at_entry{0};

class ProbePoller final : public Poller {
 public:
  explicit ProbePoller(std::unique_ptr<Poller> inner) : inner_(std::move(inner)) {}
  void do_add(int fd, Interest interest, std::uint64_t token) override {
    inner_->add(fd, interest, token);
  }
  void do_modify(int fd, Interest interest, std::uint64_t token) override {
    inner_->modify(fd, interest, token);
  }
  void do_remove(int fd) override { inner_->remove(fd); }
  int do_wait(std::span<Event> events, std::chrono::nanoseconds timeout) noexcept override {
    const int now = inner_->wait(events, std::chrono::nanoseconds{0});
    if (now != 0) {
      g_ready_at_entry.fetch_add(1);
      return now;
    }
    return inner_->wait(events, timeout);
  }

 private:
  std::unique_ptr<Poller> inner_;
};

std::unique_ptr<Poller> make_probe_poll() {
  return std::make_unique<ProbePoller>(make_backend("poll"));
}

// A wait that always fails: the rig must report it and still join its threads.
class FailingPoller final : public Poller {
 public:
  void do_add(int /*fd*/, Interest /*interest*/, std::uint64_t /*token*/) override {}
  void do_modify(int /*fd*/, Interest /*interest*/, std::uint64_t /*token*/) override {}
  void do_remove(int /*fd*/) override {}
  int do_wait(std::span<Event> /*events*/, std::chrono::nanoseconds /*timeout*/) noexcept override {
    return -EBADF;
  }
};

std::unique_ptr<Poller> make_failing() {
  return std::make_unique<FailingPoller>();
}

std::unique_ptr<Poller> registered(std::unique_ptr<Poller> poller, const FdPool& pool) {
  for (std::size_t i = 0; i < pool.size(); ++i) poller->add(pool.polled_fd(i), kReadable, i);
  return poller;
}

TEST(SampleSet, NearestRankPercentilesAndExactExtremes) {
  SampleSet s(1000);
  for (std::int64_t v = 100; v >= 1; --v) s.add(v);
  EXPECT_EQ(s.count(), 100U);
  EXPECT_EQ(s.min(), 1);
  EXPECT_EQ(s.max(), 100);
  EXPECT_DOUBLE_EQ(s.mean(), 50.5);
  EXPECT_EQ(s.percentile(0.0), 1);
  EXPECT_EQ(s.percentile(0.10), 10);
  EXPECT_EQ(s.percentile(0.50), 50);
  EXPECT_EQ(s.percentile(0.99), 99);
  EXPECT_EQ(s.percentile(0.999), 100);
  EXPECT_EQ(s.percentile(1.0), 100);
  s.clear();
  EXPECT_EQ(s.count(), 0U);
  EXPECT_EQ(s.percentile(0.5), 0);
}

TEST(SampleSet, KeepsAtMostItsCapacityButCountsEverySample) {
  SampleSet s(64);
  for (std::int64_t v = 1; v <= 10'000; ++v) s.add(v);
  EXPECT_EQ(s.count(), 10'000U);
  EXPECT_EQ(s.min(), 1);
  EXPECT_EQ(s.max(), 10'000);
  EXPECT_DOUBLE_EQ(s.mean(), 5000.5);
  // The kept samples are a subset of what was added, in order.
  EXPECT_GE(s.percentile(0.0), 1);
  EXPECT_LE(s.percentile(0.5), s.percentile(0.9));
  EXPECT_LE(s.percentile(1.0), 10'000);
}

class WakeupRigTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(WakeupRigTest, SamplesArePositiveAndTheWaiterIsJoined) {
  const int fds_before = count_open_fds();
  {
    const FdPool pool(kPairs);
    const int cpu = allowed_cpus().front();
    WakeupRig rig(registered(make_backend(GetParam()), pool), pool, spread_subset(kPairs, 8), cpu);
    for (int i = 0; i < 200; ++i) {
      const std::int64_t ns = rig.sample();
      ASSERT_GT(ns, 0) << rig.failure();
    }
  }
  EXPECT_EQ(count_open_fds(), fds_before);
}

INSTANTIATE_TEST_SUITE_P(Backends, WakeupRigTest,
                         ::testing::Values("select", "poll", "epoll_lt", "epoll_et",
                                           "epoll_exclusive"),
                         [](const auto& p) { return std::string(p.param); });

TEST(WakeupRig, TheDriverNeverWritesBeforeTheWaiterSleeps) {
  g_ready_at_entry = 0;
  const FdPool pool(kPairs);
  {
    WakeupRig rig(registered(make_probe_poll(), pool), pool, spread_subset(kPairs, 8), -1);
    for (int i = 0; i < 300; ++i) ASSERT_GT(rig.sample(), 0) << rig.failure();
  }
  EXPECT_EQ(g_ready_at_entry.load(), 0);
}

// The waiter's usage is read by the waiter (the driver, which spins with sched_yield, does not
// sleep): it slept in every sample's wait, and the wake that brings it to read its usage is made
// only while it sleeps, as a sample's.
TEST(WakeupRig, ReadsTheWaitersOwnUsageBetweenSamples) {
  g_ready_at_entry = 0;
  const FdPool pool(kPairs);
  {
    WakeupRig rig(registered(make_probe_poll(), pool), pool, spread_subset(kPairs, 8), -1);
    ThreadUsage first;
    ASSERT_TRUE(rig.waiter_usage(first)) << rig.failure();
    constexpr int kSamples = 200;
    for (int i = 0; i < kSamples; ++i) ASSERT_GT(rig.sample(), 0) << rig.failure();
    ThreadUsage second;
    ASSERT_TRUE(rig.waiter_usage(second)) << rig.failure();
    ThreadUsage third;  // at once again: the waiter is asleep, and is woken for it
    ASSERT_TRUE(rig.waiter_usage(third)) << rig.failure();
    for (int i = 0; i < 10; ++i) ASSERT_GT(rig.sample(), 0) << rig.failure();
    const ThreadUsage used = second - first;
    EXPECT_GE(used.voluntary_switches, kSamples / 2);
    EXPECT_GT(used.cpu_ns, 0);
    EXPECT_GE(third.voluntary_switches, second.voluntary_switches);
    EXPECT_GE(third.cpu_ns, second.cpu_ns);
  }
  EXPECT_EQ(g_ready_at_entry.load(), 0);
}

TEST(WakeupRig, OnTheDriversCpuToo) {
  const FdPool pool(kPairs);
  const int cpu = allowed_cpus().front();
  const ScopedPin pin(cpu);
  WakeupRig rig(registered(make_backend("epoll_lt"), pool), pool, {0, 31}, cpu);
  for (int i = 0; i < 100; ++i) ASSERT_GT(rig.sample(), 0) << rig.failure();
}

// Any wake source (the signal scenario's are a signal sent to the process): the rig calls
// on_waiter_start on the waiter thread before its first wait, wake once per sample, consume
// for what the waiter got, and drain once after joining it. The counts outlive the source,
// which the rig owns.
struct WakeCounts {
  std::atomic<int> wakes{0};
  std::atomic<int> consumed{0};
  std::atomic<int> drains{0};
  std::atomic<pid_t> waiter_tid{0};
};

class CountingWake final : public WakeSource {
 public:
  CountingWake(const FdPool& pool, WakeCounts& counts) : pool_(pool), counts_(counts) {}
  bool wake(std::int64_t k) noexcept override {
    if (k >= 0) counts_.wakes.fetch_add(1);
    return pool_.make_ready(0);
  }
  bool consume(const Event& event) noexcept override {
    counts_.consumed.fetch_add(1);
    pool_.drain(static_cast<std::size_t>(event.token));
    return event.token == 0;
  }
  void on_waiter_start() noexcept override { counts_.waiter_tid.store(::gettid()); }
  void drain() noexcept override {
    counts_.drains.fetch_add(1);
    pool_.drain(0);
  }

 private:
  const FdPool& pool_;
  WakeCounts& counts_;
};

TEST(WakeupRig, TakesAnyWakeSource) {
  const FdPool pool(2, FdKind::kEventFd);
  WakeCounts counts;
  {
    auto poller = make_backend("epoll_lt");
    poller->add(pool.polled_fd(0), kReadable, 0);
    WakeupRig rig(std::move(poller), std::make_unique<CountingWake>(pool, counts), -1);
    for (int i = 0; i < 100; ++i) ASSERT_GT(rig.sample(), 0) << rig.failure();
    EXPECT_EQ(counts.wakes.load(), 100);
    EXPECT_GE(counts.consumed.load(), 100);
    EXPECT_NE(counts.waiter_tid.load(), 0);
    EXPECT_NE(counts.waiter_tid.load(), ::gettid());
    EXPECT_EQ(counts.drains.load(), 0);
  }
  EXPECT_EQ(counts.drains.load(), 1);
}

TEST(WakeupRig, AnUnusedRigStillJoinsItsWaiter) {
  const FdPool pool(kPairs);
  const WakeupRig rig(registered(make_backend("poll"), pool), pool, {3}, -1);
}

TEST(WakeupRig, AFailingWaitIsReportedAndTheWaiterJoined) {
  const FdPool pool(4);
  WakeupRig rig(make_failing(), pool, {0}, -1);
  EXPECT_LT(rig.sample(), 0);
  EXPECT_NE(rig.failure().find("wait() failed"), std::string::npos) << rig.failure();
}

struct HerdCase {
  std::string_view variant;  // a backend for per-waiter rigs, or shared_lt / shared_et
  std::size_t waiters;
};

std::unique_ptr<HerdRig> make_herd(const FdPool& pool, const HerdCase& c) {
  if (c.variant == "shared_lt") return HerdRig::shared_epoll(pool, 0, c.waiters, false);
  if (c.variant == "shared_et") return HerdRig::shared_epoll(pool, 0, c.waiters, true);
  return HerdRig::per_waiter(pool, 0, c.waiters, find_backend(c.variant)->make);
}

class HerdRigTest : public ::testing::TestWithParam<HerdCase> {};

TEST_P(HerdRigTest, EveryRoundWakesBetweenOneAndAllWaiters) {
  const HerdCase c = GetParam();
  const int fds_before = count_open_fds();
  {
    const FdPool pool(2);
    auto rig = make_herd(pool, c);
    ASSERT_EQ(rig->waiters(), c.waiters);
    constexpr std::size_t kRounds = 20;
    for (int pass = 0; pass < 2; ++pass) {  // reset() between passes, as between repetitions
      rig->reset(kRounds);
      for (std::size_t r = 0; r < kRounds; ++r)
        ASSERT_TRUE(rig->round(std::chrono::microseconds{500})) << rig->failure();
      ASSERT_TRUE(rig->finish()) << rig->failure();
      EXPECT_EQ(rig->rounds(), kRounds);
      EXPECT_GE(rig->woken(), kRounds);  // the settle window waits for a first return
      EXPECT_LE(rig->woken(), kRounds * c.waiters);
      ASSERT_EQ(rig->first_returns().size(), kRounds);
      for (const std::int64_t ns : rig->first_returns()) EXPECT_GT(ns, 0);
    }
  }
  EXPECT_EQ(count_open_fds(), fds_before);
}

INSTANTIATE_TEST_SUITE_P(Variants, HerdRigTest,
                         ::testing::Values(HerdCase{"select", 1}, HerdCase{"select", 3},
                                           HerdCase{"poll", 3}, HerdCase{"epoll_lt", 3},
                                           HerdCase{"epoll_exclusive", 1},
                                           HerdCase{"epoll_exclusive", 3}, HerdCase{"shared_lt", 3},
                                           HerdCase{"shared_et", 1}, HerdCase{"shared_et", 3}),
                         [](const auto& p) {
                           return std::string(p.param.variant) + "_" +
                                  std::to_string(p.param.waiters);
                         });

TEST(HerdRig, TheDriverNeverWritesBeforeEveryWaiterSleeps) {
  g_ready_at_entry = 0;
  const FdPool pool(2);
  auto rig = HerdRig::per_waiter(pool, 0, 3, make_probe_poll);
  rig->reset(30);
  for (int r = 0; r < 30; ++r)
    ASSERT_TRUE(rig->round(std::chrono::microseconds{300})) << rig->failure();
  ASSERT_TRUE(rig->finish()) << rig->failure();
  EXPECT_EQ(g_ready_at_entry.load(), 0);
}

TEST(HerdRig, AnUnusedRigStillJoinsItsWaiters) {
  const FdPool pool(2);
  const auto exclusive = HerdRig::per_waiter(pool, 0, 4, find_backend("epoll_exclusive")->make);
  const auto shared_et = HerdRig::shared_epoll(pool, 1, 4, true);
}

TEST(HerdRig, AFailingWaitIsReportedAndTheWaitersJoined) {
  const FdPool pool(2);
  auto rig = HerdRig::per_waiter(pool, 0, 2, make_failing);
  rig->reset(1);
  EXPECT_FALSE(rig->round(std::chrono::microseconds{100}));
  EXPECT_NE(rig->failure().find("wait failed"), std::string::npos) << rig->failure();
}

TEST(CpuList, ParsesTasksetListsInTheGivenOrder) {
  std::string bad;
  EXPECT_EQ(parse_cpu_list("0", bad), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("3,1", bad), (std::vector<int>{3, 1}));
  EXPECT_EQ(parse_cpu_list("1-3", bad), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(parse_cpu_list("2,0-2", bad), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(bad, "");
}

TEST(CpuList, NamesTheItemThatIsNoCpuNumber) {
  for (const std::string_view text : {"x", "", "0,", "-1", "2-1", "0,1x", "1-", "99999999"}) {
    std::string bad = "unset";
    EXPECT_EQ(parse_cpu_list(text, bad), std::nullopt) << text;
    EXPECT_NE(std::string(text).find(bad), std::string::npos) << text << " -> " << bad;
  }
  std::string bad;
  EXPECT_EQ(parse_cpu_list("0,x,2", bad), std::nullopt);
  EXPECT_EQ(bad, "x");
}

TEST(CpuList, FormatsSortedRuns) {
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({0}), "0");
  EXPECT_EQ(format_cpu_list({1, 0}), "0-1");
  EXPECT_EQ(format_cpu_list({3, 0, 1, 5, 6, 7}), "0-1,3,5-7");
}

// The CPUs thread `tid` of this process may run on.
std::vector<int> affinity_of(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(tid, sizeof(set), &set) != 0) return {};
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// The threads of this process other than the calling one and those in `before`: a sanitizer
// runs threads of its own (ThreadSanitizer starts its background thread with the first thread
// the process creates, so take `before` with threads_before_a_rig()).
std::vector<pid_t> other_threads(const std::vector<pid_t>& before = {}) {
  std::vector<pid_t> tids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    const pid_t tid = std::stoi(entry.path().filename().string());
    if (tid != ::gettid() && std::find(before.begin(), before.end(), tid) == before.end()) {
      tids.push_back(tid);
    }
  }
  return tids;
}

std::vector<pid_t> threads_before_a_rig() {
  std::thread([] {}).join();
  return other_threads();
}

// The benchmark's thread may be pinned to one CPU when it creates a rig: the waiters must go
// where they are sent, not inherit its CPU.
TEST(HerdRig, WaitersRunOnTheCpusTheyAreGiven) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const std::vector<int> target{allowed.back()};
  const ScopedPin pin(allowed.front());
  const FdPool pool(2);
  for (const bool shared : {false, true}) {
    const std::vector<pid_t> before = threads_before_a_rig();
    auto rig = shared ? HerdRig::shared_epoll(pool, 0, 3, false, target)
                      : HerdRig::per_waiter(pool, 0, 3, find_backend("poll")->make, target);
    const std::vector<pid_t> tids = other_threads(before);
    ASSERT_EQ(tids.size(), 3U);
    for (const pid_t tid : tids) EXPECT_EQ(affinity_of(tid), target) << "shared=" << shared;
    rig->reset(4);
    EXPECT_TRUE(rig->round(std::chrono::microseconds{100})) << rig->failure();
    EXPECT_TRUE(rig->finish()) << rig->failure();
  }
}

TEST(HerdRig, WaitersWithoutCpusRunWhereTheirCreatorMay) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const ScopedPin pin(allowed.front());
  const FdPool pool(2);
  const std::vector<pid_t> before = threads_before_a_rig();
  const auto rig = HerdRig::per_waiter(pool, 0, 2, find_backend("poll")->make);
  const std::vector<pid_t> tids = other_threads(before);
  ASSERT_EQ(tids.size(), 2U);
  for (const pid_t tid : tids) EXPECT_EQ(affinity_of(tid), std::vector<int>{allowed.front()});
}

}  // namespace
}  // namespace pollbench
