// ChildProcess: a program started by fork + exec, owned like an fd: its stdin is a pipe from
// here (closing it is the child's cue to end), its stdout (and stderr, if asked) a pipe to here.
// The server scenario's processes (pollbench-server, wrk, pollbench-load) are ChildProcesses.
//
// What it guarantees, in the order a child meets it:
//   a. PR_SET_PDEATHSIG (SIGKILL) before exec, and a check that the parent did not die before
//      the prctl: no child outlives this process, also when it is killed.
//   b. Only async-signal-safe calls between fork and exec: the parent may have threads.
//   c. The child starts with no signal blocked and no fd of ours but its stdin/stdout/stderr
//      (close_range), pinned to one CPU if asked.
//   d. A child that died leaves its stdin pipe without a reader: send() then fails instead of
//      raising a SIGPIPE that would end this process.
//   e. The destructor ends it: closes its stdin, waits up to kEndDeadline, then SIGKILLs it and
//      reaps it: never a zombie, never an orphan.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/unique_fd.hpp"

namespace pollbench {

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kEndDeadline{5};

  // argv[0] is the program's path. cpu < 0: not pinned. Throws std::system_error naming the
  // syscall (pipe2, fork).
  ChildProcess(const std::vector<std::string>& argv, int cpu, bool merge_stderr);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&&) = delete;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess() { end(); }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Sends one line to the child's stdin; false if it is gone (d).
  bool send(std::string_view line) noexcept;
  // The next line of the child's stdout, or nullopt at its end or at the deadline.
  std::optional<std::string> line(Clock::time_point deadline);
  // Everything the child writes until it closes its stdout (or the deadline).
  std::string rest(Clock::time_point deadline);

  // Whether the child is still running (reaps it if not).
  bool running() noexcept;
  // Waits for the child to end (by itself, within the deadline; else SIGKILL) and says how.
  std::string wait_ended(Clock::time_point deadline);
  [[nodiscard]] bool exited_cleanly() const noexcept;
  // To the child's main thread (tgkill): wrk ends when the signal interrupts its main thread's
  // sleep; a process-directed signal may land on a worker thread instead.
  void signal(int signo) noexcept;
  // Closes its stdin (the child's cue to end) and waits for it (e).
  std::string end() noexcept;

  // The CPU time all the child's threads have run so far, in ns (the kernel's schedstat: ns
  // resolution, where getrusage of a child counts only once it is reaped), or nullopt if the
  // kernel keeps none or the child is gone.
  [[nodiscard]] std::optional<std::int64_t> cpu_ns() const;

 private:
  bool read_some(Clock::time_point deadline);

  pid_t pid_ = -1;
  UniqueFd in_;
  UniqueFd out_;
  std::string buffer_;
  std::optional<int> status_;
};

// How a wait status reads: "exited with status 1", "was killed by signal 9".
std::string describe_wait_status(int status);

// `name` on PATH, or "" if it is not there.
std::string find_program(std::string_view name);

// A program built beside the running executable (build/<preset>/NAME), or "" if it is not.
std::string sibling_program(std::string_view name);

}  // namespace pollbench
