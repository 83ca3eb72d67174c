#include "harness/rigs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace pollbench {
namespace {

constexpr std::int64_t kPatienceNs =
    std::chrono::duration_cast<std::chrono::nanoseconds>(kRigPatience).count();

[[noreturn]] void throw_sys(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void sleep_ns(std::int64_t ns) noexcept {
  timespec ts{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
  while (::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

pid_t current_tid() noexcept {
  return ::gettid();
}

// Waits (yielding) until the thread behind `tid` has published its id, for kRigPatience.
pid_t await_tid(const std::atomic<pid_t>& tid) {
  const std::int64_t deadline = monotonic_ns() + kPatienceNs;
  pid_t t = 0;
  while ((t = tid.load(std::memory_order_acquire)) == 0) {
    if (monotonic_ns() > deadline) throw_sys(ETIMEDOUT, "rig: a waiter thread did not start");
    ::sched_yield();
  }
  return t;
}

// The start handshake: waiters block until the constructor has finished their setup.
void release(std::atomic<bool>& go) noexcept {
  go.store(true, std::memory_order_release);
  go.notify_all();
}

void await_release(const std::atomic<bool>& go) noexcept {
  go.wait(false, std::memory_order_acquire);
}

std::string describe(const char* failure, int err) {
  if (failure == nullptr) return "no failure";
  if (err == 0) return failure;
  return fmt::format("{}: {}", failure, std::generic_category().message(err));
}

}  // namespace

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) throw_sys(errno, "sched_getaffinity");
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::vector<int> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string line;
  std::string bad;
  if (in && std::getline(in, line)) {
    if (auto cpus = parse_cpu_list(line, bad)) {
      std::sort(cpus->begin(), cpus->end());
      return *cpus;
    }
  }
  const long configured = std::max(::sysconf(_SC_NPROCESSORS_CONF), 1L);
  std::vector<int> cpus(static_cast<std::size_t>(configured));
  std::iota(cpus.begin(), cpus.end(), 0);
  return cpus;
}

namespace {

// A CPU number: decimal digits only, at most six of them (the caller checks it is online).
std::optional<int> parse_cpu(std::string_view text) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(std::string_view text, std::string& bad) {
  std::vector<int> cpus;
  const auto push = [&](int cpu) {
    if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) cpus.push_back(cpu);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    const std::size_t dash = item.find('-');
    const std::optional<int> first = parse_cpu(item.substr(0, dash));
    const std::optional<int> last =
        dash == std::string_view::npos ? first : parse_cpu(item.substr(dash + 1));
    if (!first || !last || *last < *first) {
      bad = std::string(item);
      return std::nullopt;
    }
    for (int cpu = *first; cpu <= *last; ++cpu) push(cpu);
    start = comma + 1;
  }
  return cpus;
}

std::string format_cpu_list(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    out += fmt::format("{}{}", out.empty() ? "" : ",", cpus[i]);
    if (j > i) out += fmt::format("-{}", cpus[j]);
    i = j + 1;
  }
  return out;
}

void place_thread(pthread_t thread, std::span<const int> cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) throw_sys(EINVAL, fmt::format("CPU {}", cpu));
    CPU_SET(cpu, &set);
  }
  const int rc = ::pthread_setaffinity_np(thread, sizeof(set), &set);
  if (rc != 0) {
    throw_sys(rc, fmt::format("pthread_setaffinity_np(CPUs {})",
                              format_cpu_list({cpus.begin(), cpus.end()})));
  }
}

ScopedPin::ScopedPin(int cpu) {
  CPU_ZERO(&saved_);
  int rc = ::pthread_getaffinity_np(::pthread_self(), sizeof(saved_), &saved_);
  if (rc != 0) throw_sys(rc, "pthread_getaffinity_np");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  rc = ::pthread_setaffinity_np(::pthread_self(), sizeof(one), &one);
  if (rc != 0) throw_sys(rc, fmt::format("pthread_setaffinity_np(CPU {})", cpu));
}

ScopedPin::~ScopedPin() {
  (void)::pthread_setaffinity_np(::pthread_self(), sizeof(saved_), &saved_);
}

ThreadState::ThreadState(pid_t tid)
    : fd_(::open(fmt::format("/proc/self/task/{}/stat", tid).c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_) throw_sys(errno, fmt::format("open /proc/self/task/{}/stat", tid));
}

bool ThreadState::sleeping() const noexcept {
  // "<tid> (<comm>) <state> ...": comm may hold ')' and spaces, so the state follows the last
  // ')'.
  std::array<char, 512> buf{};
  const ssize_t got = ::pread(fd_.get(), buf.data(), buf.size() - 1, 0);
  if (got <= 0) return false;
  const std::string_view text(buf.data(), static_cast<std::size_t>(got));
  const std::size_t paren = text.rfind(')');
  return paren != std::string_view::npos && paren + 2 < text.size() && text[paren + 2] == 'S';
}

// --- SampleSet --------------------------------------------------------------------------------

SampleSet::SampleSet(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  kept_.reserve(capacity_);
}

void SampleSet::clear() noexcept {
  kept_.clear();
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
  sorted_ = true;
}

void SampleSet::add(std::int64_t value) noexcept {
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = count_ == 0 ? value : std::max(max_, value);
  sum_ += static_cast<double>(value);
  ++count_;
  sorted_ = false;
  if (kept_.size() < capacity_) {
    kept_.push_back(value);  // capacity reserved at construction: no allocation
    return;
  }
  // Algorithm R: the sample replaces a kept one with probability capacity / count.
  rng_ ^= rng_ << 13U;
  rng_ ^= rng_ >> 7U;
  rng_ ^= rng_ << 17U;
  const std::size_t j = rng_ % count_;
  if (j < capacity_) kept_[j] = value;
}

double SampleSet::mean() const noexcept {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

std::int64_t SampleSet::percentile(double q) {
  if (kept_.empty()) return 0;
  if (!sorted_) {
    std::sort(kept_.begin(), kept_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(kept_.size()));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return kept_[std::min(index, kept_.size() - 1)];
}

// --- WakeupRig --------------------------------------------------------------------------------

namespace {

// The wakeup scenario's source: one byte written to the next of `targets`, pool pairs whose
// polled ends the poller watches with their index as token.
class PoolWake final : public WakeSource {
 public:
  PoolWake(const FdPool& pool, std::vector<std::size_t> targets)
      : pool_(pool), targets_(std::move(targets)) {
    if (targets_.empty()) throw_sys(EINVAL, "wakeup rig: no target fds");
  }
  bool wake(std::int64_t k) noexcept override {
    const auto i = k < 0 ? 0 : static_cast<std::size_t>(k) % targets_.size();
    return pool_.make_ready(targets_[i]);
  }
  bool consume(const Event& event) noexcept override {
    pool_.drain(static_cast<std::size_t>(event.token));
    return true;
  }
  void drain() noexcept override {
    for (const std::size_t t : targets_) pool_.drain(t);
  }

 private:
  const FdPool& pool_;
  std::vector<std::size_t> targets_;
};

}  // namespace

WakeupRig::WakeupRig(std::unique_ptr<Poller> poller, const FdPool& pool,
                     std::vector<std::size_t> targets, int waiter_cpu)
    : WakeupRig(std::move(poller), std::make_unique<PoolWake>(pool, std::move(targets)),
                waiter_cpu) {}

WakeupRig::WakeupRig(std::unique_ptr<Poller> poller, std::unique_ptr<WakeSource> source,
                     int waiter_cpu)
    : poller_(std::move(poller)), source_(std::move(source)), events_(64) {
  thread_ = std::thread([this] { waiter(); });
  try {
    const pid_t tid = await_tid(tid_);
    if (waiter_cpu >= 0) place_thread(thread_.native_handle(), std::array{waiter_cpu});
    state_ = std::make_unique<ThreadState>(tid);
  } catch (...) {
    stop();
    throw;
  }
  release(go_);
}

WakeupRig::~WakeupRig() {
  stop();
}

void WakeupRig::waiter() noexcept {
  tid_.store(current_tid(), std::memory_order_release);
  await_release(go_);  // placed and watched before the first wait
  source_->on_waiter_start();
  std::int64_t acked = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    armed_.store(acked, std::memory_order_release);
    const int got = poller_->wait(events_, std::chrono::nanoseconds{-1});
    const std::int64_t now = monotonic_ns();
    if (stop_.load(std::memory_order_acquire)) break;
    if (got < 0) {
      wait_error_.store(got, std::memory_order_release);
      break;
    }
    if (got == 0) continue;  // a signal (for a self-pipe: its handler has run; wait again)
    bool identified = false;
    for (int i = 0; i < got; ++i) {
      identified = source_->consume(events_[static_cast<std::size_t>(i)]) || identified;
    }
    if (!identified) continue;
    const std::int64_t written = written_.load(std::memory_order_acquire);
    if (written == acked) continue;  // not the driver's byte: nothing to time
    return_ns_.store(now, std::memory_order_relaxed);
    acked = written;
    acked_.store(acked, std::memory_order_release);
  }
  exited_.store(true, std::memory_order_release);
}

bool WakeupRig::fail(const char* why, int err) noexcept {
  failure_ = why;
  failure_errno_ = err;
  return false;
}

std::int64_t WakeupRig::sample() noexcept {
  const std::int64_t k = next_;
  std::int64_t deadline = monotonic_ns() + kPatienceNs;
  // The waiter has announced this sample's wait() and is asleep in it: the byte below wakes a
  // sleeping thread, never one that would find the fd already ready.
  while (armed_.load(std::memory_order_acquire) != k || !state_->sleeping()) {
    if (exited_.load(std::memory_order_acquire)) {
      const int err = wait_error_.load(std::memory_order_acquire);
      fail("the waiter's wait() failed", -err);
      return -1;
    }
    if (monotonic_ns() > deadline) {
      fail("the waiter did not go back to sleep in wait() within 2 s");
      return -1;
    }
    ::sched_yield();
  }
  written_.store(k + 1, std::memory_order_release);
  const std::int64_t write_ns = monotonic_ns();
  if (!source_->wake(k)) {
    fail("write to the target fd (or the wake signal) failed", errno);
    return -1;
  }
  deadline = write_ns + kPatienceNs;
  while (acked_.load(std::memory_order_acquire) != k + 1) {
    if (exited_.load(std::memory_order_acquire)) {
      fail("the waiter's wait() failed", -wait_error_.load(std::memory_order_acquire));
      return -1;
    }
    if (monotonic_ns() > deadline) {
      fail("the waiter's wait() did not return within 2 s of the write or signal (lost event)");
      return -1;
    }
    ::sched_yield();
  }
  next_ = k + 1;
  return return_ns_.load(std::memory_order_relaxed) - write_ns;
}

std::string WakeupRig::failure() const {
  return describe(failure_, failure_errno_);
}

void WakeupRig::stop() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  release(go_);
  // A byte wakes the waiter (a new edge for edge-triggered backends); repeated in case the
  // waiter was between waits and re-entered after the first one was drained.
  while (!exited_.load(std::memory_order_acquire)) {
    source_->wake(-1);
    sleep_ns(200'000);
  }
  thread_.join();
  source_->drain();
}

// --- HerdRig ----------------------------------------------------------------------------------

class HerdRig::Wait {
 public:
  Wait() = default;
  Wait(const Wait&) = delete;
  Wait& operator=(const Wait&) = delete;
  Wait(Wait&&) = delete;
  Wait& operator=(Wait&&) = delete;
  virtual ~Wait() = default;
  // Blocks until something is reported: > 0 events, 0 for a signal, < 0 a negative errno.
  virtual int wait() noexcept = 0;
};

namespace {

class PollerWait final : public HerdRig::Wait {
 public:
  PollerWait(std::unique_ptr<Poller> poller, int fd) : poller_(std::move(poller)) {
    poller_->add(fd, kReadable, 0);
  }
  int wait() noexcept override { return poller_->wait(events_, std::chrono::nanoseconds{-1}); }

 private:
  std::unique_ptr<Poller> poller_;
  std::array<Event, 4> events_{};
};

class SharedEpollWait final : public HerdRig::Wait {
 public:
  explicit SharedEpollWait(int epfd) : epfd_(epfd) {}
  int wait() noexcept override {
    const int got = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), -1);
    if (got < 0) return errno == EINTR ? 0 : -errno;
    return got;
  }

 private:
  int epfd_;
  std::array<epoll_event, 4> events_{};
};

}  // namespace

HerdRig::HerdRig(const FdPool& pool, std::size_t pair, std::vector<int> waiter_cpus)
    : pool_(pool), pair_(pair), waiter_cpus_(std::move(waiter_cpus)) {}

std::unique_ptr<HerdRig> HerdRig::per_waiter(const FdPool& pool, std::size_t pair,
                                             std::size_t waiters, std::unique_ptr<Poller> (*make)(),
                                             std::vector<int> waiter_cpus) {
  // NOLINTNEXTLINE(modernize-make-unique): the constructor is private
  std::unique_ptr<HerdRig> rig(new HerdRig(pool, pair, std::move(waiter_cpus)));
  std::vector<std::unique_ptr<Wait>> waits;
  for (std::size_t w = 0; w < waiters; ++w) {
    waits.push_back(std::make_unique<PollerWait>(make(), pool.polled_fd(pair)));
  }
  rig->start(std::move(waits));
  return rig;
}

std::unique_ptr<HerdRig> HerdRig::shared_epoll(const FdPool& pool, std::size_t pair,
                                               std::size_t waiters, bool edge_triggered,
                                               std::vector<int> waiter_cpus) {
  // NOLINTNEXTLINE(modernize-make-unique): the constructor is private
  std::unique_ptr<HerdRig> rig(new HerdRig(pool, pair, std::move(waiter_cpus)));
  rig->shared_epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!rig->shared_epfd_) throw_sys(errno, "herd_shared: epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN | (edge_triggered ? EPOLLET : 0U);
  ev.data.u64 = 0;
  if (::epoll_ctl(rig->shared_epfd_.get(), EPOLL_CTL_ADD, pool.polled_fd(pair), &ev) != 0) {
    throw_sys(errno, "herd_shared: epoll_ctl(ADD)");
  }
  std::vector<std::unique_ptr<Wait>> waits;
  for (std::size_t w = 0; w < waiters; ++w) {
    waits.push_back(std::make_unique<SharedEpollWait>(rig->shared_epfd_.get()));
  }
  rig->start(std::move(waits));
  return rig;
}

void HerdRig::start(std::vector<std::unique_ptr<Wait>> waits) {
  if (waits.empty()) throw_sys(EINVAL, "herd rig: no waiters");
  waits_ = std::move(waits);
  slots_ = std::make_unique<Slot[]>(waits_.size());  // NOLINT(modernize-avoid-c-arrays)
  threads_.reserve(waits_.size());
  try {
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      threads_.emplace_back([this, w] { waiter(w); });
    }
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      slots_[w].state = std::make_unique<ThreadState>(await_tid(slots_[w].tid));
      // Placed before the release: every wait runs where it was put.
      if (!waiter_cpus_.empty()) place_thread(threads_[w].native_handle(), waiter_cpus_);
    }
  } catch (...) {
    stop();
    throw;
  }
  release(go_);
}

HerdRig::~HerdRig() {
  stop();
}

void HerdRig::waiter(std::size_t w) noexcept {
  Slot& slot = slots_[w];
  Wait& wait = *waits_[w];
  slot.tid.store(current_tid(), std::memory_order_release);
  await_release(go_);  // watched before the first wait
  while (!stop_.load(std::memory_order_acquire)) {
    slot.waiting.store(true, std::memory_order_release);
    const int got = wait.wait();
    const std::int64_t now = monotonic_ns();
    slot.waiting.store(false, std::memory_order_release);
    if (stop_.load(std::memory_order_acquire)) break;
    if (got < 0) {
      wait_error_.store(got, std::memory_order_release);
      break;
    }
    if (got == 0) continue;  // a signal
    // The driver writes round r's byte only while every waiter sleeps, and moves round_ on only
    // when every waiter sleeps again: the round read here is the one whose byte woke us.
    const std::uint32_t r = round_.load(std::memory_order_acquire);
    slot.return_ns.store(now, std::memory_order_relaxed);
    slot.round.store(r, std::memory_order_release);
    // Not again before the byte is drained: a level-triggered wait would return at once.
    for (std::uint32_t d = drained_.load(std::memory_order_acquire); d < r && !stop_.load();
         d = drained_.load(std::memory_order_acquire)) {
      drained_.wait(d, std::memory_order_acquire);
    }
  }
  exited_.fetch_add(1, std::memory_order_acq_rel);
}

bool HerdRig::fail(const char* why, int err) noexcept {
  failure_ = why;
  failure_errno_ = err;
  return false;
}

void HerdRig::reset(std::size_t max_rounds) {
  rounds_ = 0;
  woken_ = 0;
  first_returns_.clear();
  first_returns_.reserve(max_rounds);
}

bool HerdRig::all_asleep() noexcept {
  const std::int64_t deadline = monotonic_ns() + kPatienceNs;
  for (std::size_t w = 0; w < waits_.size(); ++w) {
    while (!slots_[w].waiting.load(std::memory_order_acquire) || !slots_[w].state->sleeping()) {
      if (exited_.load(std::memory_order_acquire) != 0) {
        return fail("a waiter's wait failed", -wait_error_.load(std::memory_order_acquire));
      }
      if (monotonic_ns() > deadline) {
        return fail("a waiter did not go back to sleep in its wait within 2 s");
      }
      ::sched_yield();
    }
  }
  return true;
}

void HerdRig::tally() noexcept {
  if (!pending_) return;
  pending_ = false;
  const std::uint32_t r = round_.load(std::memory_order_relaxed);
  std::size_t woken = 0;
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (std::size_t w = 0; w < waits_.size(); ++w) {
    if (slots_[w].round.load(std::memory_order_acquire) != r) continue;
    ++woken;
    first = std::min(first, slots_[w].return_ns.load(std::memory_order_relaxed));
  }
  ++rounds_;
  woken_ += woken;
  if (woken > 0 && first_returns_.size() < first_returns_.capacity()) {
    first_returns_.push_back(first - write_ns_);  // room made by reset(): no allocation
  }
}

bool HerdRig::round(std::chrono::nanoseconds settle) noexcept {
  if (!all_asleep()) return false;
  tally();
  const std::uint32_t r = round_.load(std::memory_order_relaxed) + 1;
  round_.store(r, std::memory_order_release);
  pending_ = true;
  write_ns_ = monotonic_ns();
  if (!pool_.make_ready(pair_)) return fail("write to the herd fd failed", errno);
  const std::int64_t settle_end = write_ns_ + settle.count();
  const std::int64_t deadline = write_ns_ + kPatienceNs;
  while (true) {
    std::size_t returned = 0;
    for (std::size_t w = 0; w < waits_.size(); ++w) {
      returned += static_cast<std::size_t>(slots_[w].round.load(std::memory_order_acquire) == r);
    }
    if (returned == waits_.size()) break;
    const std::int64_t now = monotonic_ns();
    if (returned > 0 && now >= settle_end) break;
    if (now > deadline) return fail("no waiter returned within 2 s of the write (lost event)");
    sleep_ns(20'000);  // leave the CPUs to the waiters
  }
  pool_.drain(pair_);
  drained_.store(r, std::memory_order_release);
  drained_.notify_all();
  return true;
}

bool HerdRig::finish() noexcept {
  if (!all_asleep()) return false;
  tally();
  return true;
}

std::string HerdRig::failure() const {
  return describe(failure_, failure_errno_);
}

void HerdRig::stop() noexcept {
  if (threads_.empty()) return;
  stop_.store(true, std::memory_order_release);
  release(go_);
  drained_.store(std::numeric_limits<std::uint32_t>::max(), std::memory_order_release);
  drained_.notify_all();
  // One byte wakes at least one waiter (EPOLLEXCLUSIVE and edge-triggered shared waits wake
  // one per write), so write until all have left.
  std::size_t running = 0;
  for (const std::thread& t : threads_) running += static_cast<std::size_t>(t.joinable());
  while (exited_.load(std::memory_order_acquire) < running) {
    pool_.make_ready(pair_);
    sleep_ns(200'000);
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  pool_.drain(pair_);
}

}  // namespace pollbench
