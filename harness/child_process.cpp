#include "harness/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

namespace pollbench {

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return fmt::format("ended with wait status {}", status);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, int cpu, bool merge_stderr) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  UniqueFd in_read(in[0]);
  in_.reset(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  out_.reset(out[0]);
  UniqueFd out_write(out[1]);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu >= 0) CPU_SET(cpu, &set);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (cpu >= 0) ::sched_setaffinity(0, sizeof set, &set);
    ::dup2(in_read.get(), STDIN_FILENO);
    ::dup2(out_write.get(), STDOUT_FILENO);
    if (merge_stderr) ::dup2(out_write.get(), STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

bool ChildProcess::send(std::string_view line) noexcept {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t saved;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  std::size_t done = 0;
  bool ok = true;
  while (done < line.size()) {
    const ssize_t n = ::write(in_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (!ok && !was_pending) {
    const timespec zero{};
    ::sigtimedwait(&pipe_only, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return ok;
}

std::optional<std::string> ChildProcess::line(Clock::time_point deadline) {
  for (;;) {
    if (const std::size_t eol = buffer_.find('\n'); eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      return line;
    }
    if (!read_some(deadline)) return std::nullopt;
  }
}

std::string ChildProcess::rest(Clock::time_point deadline) {
  while (read_some(deadline)) {
  }
  return std::exchange(buffer_, {});
}

bool ChildProcess::running() noexcept {
  if (status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return !status_;
}

std::string ChildProcess::wait_ended(Clock::time_point deadline) {
  while (running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
  }
  return describe_wait_status(*status_);
}

bool ChildProcess::exited_cleanly() const noexcept {
  return status_ && WIFEXITED(*status_) && WEXITSTATUS(*status_) == 0;
}

void ChildProcess::signal(int signo) noexcept {
  if (!status_) ::syscall(SYS_tgkill, pid_, pid_, signo);
}

std::string ChildProcess::end() noexcept {
  if (pid_ <= 0) return {};
  in_.reset();
  std::string how;
  try {
    how = wait_ended(Clock::now() + kEndDeadline);
  } catch (...) {
    how = "?";
  }
  out_.reset();
  pid_ = -1;
  return how;
}

std::optional<std::int64_t> ChildProcess::cpu_ns() const {
  if (pid_ <= 0 || status_) return std::nullopt;
  const std::string tasks = fmt::format("/proc/{}/task", pid_);
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) return std::nullopt;
  std::int64_t total = 0;
  bool any = false;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = fmt::format("{}/{}/schedstat", tasks, entry->d_name);
    // "<ns on the CPU> <ns waiting to run> <timeslices>"; a thread that ended since readdir
    // has no file any more, and its time is gone with it (wrk's threads live as long as wrk).
    if (FILE* f = std::fopen(path.c_str(), "re")) {
      long long on_cpu = 0;
      if (std::fscanf(f, "%lld", &on_cpu) == 1) {
        total += on_cpu;
        any = true;
      }
      std::fclose(f);
    }
  }
  ::closedir(dir);
  if (!any) return std::nullopt;
  return total;
}

bool ChildProcess::read_some(Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{.fd = out_.get(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

std::string find_program(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = std::min(dirs.find(':'), dirs.size());
    std::string candidate = fmt::format("{}/{}", dirs.substr(0, colon), name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
  }
  return {};
}

std::string sibling_program(std::string_view name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const auto path = self.parent_path() / name;
  return ::access(path.c_str(), X_OK) == 0 ? path.string() : std::string{};
}

}  // namespace pollbench
