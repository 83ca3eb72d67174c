#include "harness/cpus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <numeric>
#include <system_error>

namespace pollbench {
namespace {

[[noreturn]] void throw_sys(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

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

}  // namespace pollbench
