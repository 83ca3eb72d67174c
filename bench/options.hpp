// pollbench-bench's own flags (the --pollbench_* ones; Google Benchmark reads the rest), each
// checked here and nowhere else: a bad value is one line on stderr naming `./pollbench run`'s
// flag, and exit status 2. plots/pipeline.py forwards its options to these and relays the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/rows.hpp"
#include "bench/sweep.hpp"

namespace pollbench::bench {

struct Options {
  RunConfig config;                     // --pollbench_quick, --pollbench_fd_kind
  std::vector<std::int64_t> fds;        // --pollbench_fds (empty: the sweep's sizes)
  std::vector<std::int64_t> actives;    // --pollbench_active (empty: 1 when fds are given)
  Rows rows;                            // --pollbench_backends (default: every registry row)
  std::vector<std::string> engines;     // ... and server engines (default: every engine)
  std::optional<std::string> cpu_list;  // --pollbench_cpu, checked by place_cpus
  bool print_plan = false;              // --pollbench_plan: print plan_json and exit
};

// Takes the --pollbench_* flags out of `args` (the rest is Google Benchmark's) and checks
// them; exits with status 2 and one line on a bad one.
Options take_options(std::vector<std::string>& args);

}  // namespace pollbench::bench
