#include "harness/fd_pool.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#include "harness/did_you_mean.hpp"

namespace pollbench {
namespace {

// fds left free for the rest of the process: the test runner, benchmark output, /proc reads.
constexpr int kReserveFds = 16;

[[noreturn]] void throw_sys(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::size_t fds_per_pair(FdKind kind) {
  return kind == FdKind::kEventFd ? 1 : 2;
}

// The ephemeral ports connect() may take (net.ipv4.ip_local_port_range): one per TCP pair.
std::size_t ephemeral_ports() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  long low = 0;
  long high = 0;
  if (!(in >> low >> high) || high < low) return 28232;  // the kernel's default range
  return static_cast<std::size_t>(high - low + 1);
}

// A listening TCP socket on 127.0.0.1, on a port the kernel chooses.
UniqueFd tcp_listener(sockaddr_in& bound) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_sys("socket(AF_INET)");
  bound = sockaddr_in{};
  bound.sin_family = AF_INET;
  bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bound.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&bound), sizeof bound) != 0) {
    throw_sys("bind(127.0.0.1:0)");
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) throw_sys("listen");
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    throw_sys("getsockname");
  }
  return fd;
}

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    throw_sys("setsockopt(TCP_NODELAY)");
  }
}

// One connected loopback TCP connection: [0] the accepted end, [1] the connecting end, both
// non-blocking, close-on-exec, TCP_NODELAY. The connect completes in the kernel (the listener's
// backlog takes it) before the accept, so one thread makes both ends.
void tcp_pair(int listener, const sockaddr_in& to, UniqueFd ends[2]) {
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client) throw_sys("socket(AF_INET)");
  if (::connect(client.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    throw_sys("connect(127.0.0.1)");
  }
  UniqueFd accepted(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!accepted) throw_sys("accept4");
  const int flags = ::fcntl(client.get(), F_GETFL);
  if (flags < 0 || ::fcntl(client.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_sys("fcntl(O_NONBLOCK)");
  }
  set_nodelay(client.get());
  set_nodelay(accepted.get());
  ends[0] = std::move(accepted);
  ends[1] = std::move(client);
}

// Moves fd to the lowest free number >= base, so that the low numbers stay for polled ends.
// If nothing is free up there, the fd stays where it is: placement is best effort.
UniqueFd move_high(UniqueFd fd, int base) {
  const int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, base);
  if (high < 0) {
    if (errno == EMFILE || errno == EINVAL) return fd;
    throw_sys("fcntl(F_DUPFD_CLOEXEC)");
  }
  return UniqueFd(high);
}

}  // namespace

std::string_view to_string(FdKind kind) noexcept {
  switch (kind) {
    case FdKind::kSocketPair:
      return "socketpair";
    case FdKind::kPipe:
      return "pipe";
    case FdKind::kEventFd:
      return "eventfd";
    case FdKind::kTcp:
      return "tcp";
  }
  return "?";
}

FdKind parse_fd_kind(std::string_view name) {
  constexpr std::array kKinds{FdKind::kSocketPair, FdKind::kPipe, FdKind::kEventFd, FdKind::kTcp};
  std::array<std::string_view, kKinds.size()> names{};
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (to_string(kKinds[i]) == name) return kKinds[i];
    names[i] = to_string(kKinds[i]);
  }
  throw std::invalid_argument(
      fmt::format("unknown fd kind '{}' (expected socketpair, pipe, eventfd or tcp){}", name,
                  did_you_mean(name, names)));
}

int raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) throw_sys("getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) throw_sys("setrlimit(RLIMIT_NOFILE)");
  }
  return lim.rlim_cur > static_cast<rlim_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(lim.rlim_cur);
}

int count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) throw_sys("opendir(/proc/self/fd)");
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own fd
}

std::size_t pool_capacity(FdKind kind) {
  // tcp: one more fd, the listener, while the pool is made.
  const int free_fds =
      raise_fd_limit() - count_open_fds() - kReserveFds - (kind == FdKind::kTcp ? 1 : 0);
  const std::size_t pairs =
      free_fds <= 0 ? 0 : static_cast<std::size_t>(free_fds) / fds_per_pair(kind);
  return kind == FdKind::kTcp ? std::min(pairs, ephemeral_ports()) : pairs;
}

FdPool::FdPool(std::size_t size, FdKind kind) : kind_(kind) {
  const int limit = raise_fd_limit();
  const std::size_t capacity = pool_capacity(kind);
  if (size > capacity) {
    throw std::length_error(fmt::format(
        "{} {}s need {} fds, but only {} pairs fit under RLIMIT_NOFILE (hard limit {}); "
        "raise the hard limit (ulimit -Hn, LimitNOFILE= or /etc/security/limits.conf) or "
        "ask for fewer",
        size, to_string(kind), size * fds_per_pair(kind), capacity, limit));
  }
  const int high_base = limit / 2;
  polled_.reserve(size);
  if (kind != FdKind::kEventFd) peer_.reserve(size);
  UniqueFd listener;
  sockaddr_in listening{};
  if (kind == FdKind::kTcp) listener = tcp_listener(listening);
  for (std::size_t i = 0; i < size; ++i) {
    switch (kind) {
      case FdKind::kSocketPair: {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
          throw_sys("socketpair");
        }
        polled_.emplace_back(sv[0]);
        peer_.push_back(move_high(UniqueFd(sv[1]), high_base));
        break;
      }
      case FdKind::kPipe: {
        int p[2];
        if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) throw_sys("pipe2");
        polled_.emplace_back(p[0]);
        peer_.push_back(move_high(UniqueFd(p[1]), high_base));
        break;
      }
      case FdKind::kEventFd: {
        const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) throw_sys("eventfd");
        polled_.emplace_back(fd);
        break;
      }
      case FdKind::kTcp: {
        UniqueFd ends[2];
        tcp_pair(listener.get(), listening, ends);
        polled_.push_back(std::move(ends[0]));
        peer_.push_back(move_high(std::move(ends[1]), high_base));
        break;
      }
    }
  }
}

FdPool::~FdPool() {
  if (kind_ != FdKind::kTcp) return;
  const linger reset{.l_onoff = 1, .l_linger = 0};
  for (const UniqueFd& fd : polled_) {
    if (fd) ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  polled_.clear();  // RST: the peer ends below then close without a TIME_WAIT
}

int FdPool::peer_fd(std::size_t i) const noexcept {
  return kind_ == FdKind::kEventFd ? polled_[i].get() : peer_[i].get();
}

bool FdPool::make_ready(std::size_t i) const noexcept {
  if (kind_ == FdKind::kEventFd) {
    const std::uint64_t one = 1;
    return ::write(polled_[i].get(), &one, sizeof one) == sizeof one;
  }
  const char byte = 'x';
  return ::write(peer_[i].get(), &byte, 1) == 1;
}

std::size_t FdPool::drain(std::size_t i) const noexcept {
  const int fd = polled_[i].get();
  if (kind_ == FdKind::kEventFd) {
    std::uint64_t count = 0;
    return ::read(fd, &count, sizeof count) == sizeof count ? sizeof count : 0;
  }
  char buf[256];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < sizeof buf) return total;
  }
}

void FdPool::close_peer(std::size_t i) {
  if (kind_ == FdKind::kEventFd) throw std::logic_error("an eventfd pool has no peer end to close");
  peer_[i].reset();
}

std::vector<std::size_t> spread_subset(std::size_t n, std::size_t k) {
  k = std::min(k, n);
  std::vector<std::size_t> out(k);
  for (std::size_t i = 0; i < k; ++i) out[i] = i * n / k;
  return out;
}

std::vector<std::size_t> first_subset(std::size_t n, std::size_t k) {
  std::vector<std::size_t> out(std::min(k, n));
  std::iota(out.begin(), out.end(), std::size_t{0});
  return out;
}

std::vector<std::size_t> random_subset(std::size_t n, std::size_t k, std::uint64_t seed) {
  k = std::min(k, n);
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, n - 1);
    std::swap(all[i], all[pick(rng)]);
  }
  all.resize(k);
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace pollbench
