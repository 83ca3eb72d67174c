// The CPUs of the machine and of a thread: what `--cpu` lists are checked against and how the
// timed thread and the rigs' threads are placed.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pollbench {

// The CPUs the calling thread may run on (sched_getaffinity), in increasing order.
std::vector<int> allowed_cpus();

// The online CPUs (/sys/devices/system/cpu/online; if unreadable, 0 .. configured − 1).
std::vector<int> online_cpus();

// A CPU list as taskset and /sys write it: "0", "0,1", "1-3", "0,2-3". Returns the CPUs in the
// order given, each once; nullopt if an item is not a CPU number or an increasing range, and
// then `bad` holds that item.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text, std::string& bad);

// {3, 0, 1} -> "0-1,3": sorted, runs joined; "" for none.
std::string format_cpu_list(std::vector<int> cpus);

// Restricts `thread` to `cpus` (at least one); throws std::system_error naming
// pthread_setaffinity_np.
void place_thread(pthread_t thread, std::span<const int> cpus);

// Pins the calling thread to `cpu` and restores its previous mask on destruction.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu);  // throws std::system_error naming pthread_setaffinity_np
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  ScopedPin(ScopedPin&&) = delete;
  ScopedPin& operator=(ScopedPin&&) = delete;
  ~ScopedPin();

 private:
  cpu_set_t saved_{};
};

}  // namespace pollbench
