#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "harness/did_you_mean.hpp"
#include "harness/fd_pool.hpp"

namespace pollbench {
namespace {

TEST(UniqueFd, ClosesOnDestructionAndMovesOwnership) {
  const int before = count_open_fds();
  {
    UniqueFd a(::eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(a.valid());
    EXPECT_EQ(count_open_fds(), before + 1);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(b.valid());
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(count_open_fds(), before + 1);
  }
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdAccounting, CountOpenFdsSeesALeak) {
  // The leak check used by every conformance test is only worth something if it can fail.
  const int before = count_open_fds();
  const int leaked = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(leaked, 0);
  EXPECT_EQ(count_open_fds(), before + 1);
  ::close(leaked);
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdLimit, SoftLimitIsRaisedToTheHardLimit) {
  const int soft = raise_fd_limit();
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(lim.rlim_cur, lim.rlim_max);
  EXPECT_EQ(static_cast<rlim_t>(soft), lim.rlim_cur);
  EXPECT_GT(pool_capacity(FdKind::kEventFd), pool_capacity(FdKind::kSocketPair));
}

TEST(FdPool, ARequestBeyondTheLimitIsRefusedWithHowToRaiseIt) {
  const std::size_t too_many = pool_capacity(FdKind::kSocketPair) + 1;
  const int before = count_open_fds();
  try {
    FdPool pool(too_many);
    FAIL() << "expected std::length_error";
  } catch (const std::length_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("RLIMIT_NOFILE"), std::string::npos) << what;
    EXPECT_NE(what.find("ulimit -Hn"), std::string::npos) << what;
  }
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdPool, TheLargestPoolThatFitsIsCreatedAndFullyReleased) {
  const int before = count_open_fds();
  const std::size_t size = std::min<std::size_t>(9000, pool_capacity(FdKind::kSocketPair));
  {
    FdPool pool(size);
    EXPECT_EQ(pool.size(), size);
    EXPECT_EQ(count_open_fds(), before + static_cast<int>(2 * size));
  }
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdPool, PolledEndsTakeTheLowestFdNumbers) {
  FdPool pool(500);
  int max_polled = 0;
  int min_peer = INT_MAX;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    max_polled = std::max(max_polled, pool.polled_fd(i));
    min_peer = std::min(min_peer, pool.peer_fd(i));
  }
  EXPECT_LT(max_polled, min_peer);
  EXPECT_LT(max_polled, 1024) << "500 polled ends should all fit under FD_SETSIZE";
}

TEST(FdPool, EveryFdIsNonBlockingAndCloseOnExec) {
  for (FdKind kind : {FdKind::kSocketPair, FdKind::kPipe, FdKind::kEventFd, FdKind::kTcp}) {
    FdPool pool(4, kind);
    for (std::size_t i = 0; i < pool.size(); ++i) {
      for (int fd : {pool.polled_fd(i), pool.peer_fd(i)}) {
        EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0) << to_string(kind);
        EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << to_string(kind);
      }
    }
  }
}

TEST(FdPool, MakeReadyThenDrainEmptiesTheFd) {
  for (FdKind kind : {FdKind::kSocketPair, FdKind::kPipe, FdKind::kEventFd, FdKind::kTcp}) {
    FdPool pool(3, kind);
    EXPECT_EQ(pool.drain(1), 0U) << to_string(kind);
    ASSERT_TRUE(pool.make_ready(1));
    EXPECT_GT(pool.drain(1), 0U) << to_string(kind);
    EXPECT_EQ(pool.drain(1), 0U) << to_string(kind);
  }
}

// A tcp pair is one loopback connection with Nagle off at both ends, and the pool leaves no
// descriptor behind (its listener included).
TEST(FdPool, TcpPairsAreConnectedLoopbackNoDelay) {
  const int before = count_open_fds();
  {
    FdPool pool(8, FdKind::kTcp);
    EXPECT_EQ(count_open_fds(), before + 16);
    for (std::size_t i = 0; i < pool.size(); ++i) {
      for (int fd : {pool.polled_fd(i), pool.peer_fd(i)}) {
        int nodelay = 0;
        socklen_t len = sizeof nodelay;
        ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
        EXPECT_EQ(nodelay, 1);
        sockaddr_in peer{};
        len = sizeof peer;
        ASSERT_EQ(::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);
        EXPECT_EQ(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
      }
      ASSERT_TRUE(pool.make_ready(i));
      char byte = 0;
      // TCP_NODELAY: the byte is there at once (loopback delivers within the write).
      EXPECT_EQ(::read(pool.polled_fd(i), &byte, 1), 1);
      EXPECT_EQ(byte, 'x');
    }
  }
  EXPECT_EQ(count_open_fds(), before);
}

TEST(FdPool, FdKindNamesRoundTrip) {
  for (FdKind kind : {FdKind::kSocketPair, FdKind::kPipe, FdKind::kEventFd, FdKind::kTcp}) {
    EXPECT_EQ(parse_fd_kind(to_string(kind)), kind);
  }
  EXPECT_THROW(parse_fd_kind("fifo"), std::invalid_argument);
}

TEST(DidYouMean, SuggestsTheNameASlipMeantAndNothingForAStranger) {
  const std::array<std::string_view, 4> known{"epoll_lt", "epoll_et", "poll", "uring_oneshot"};
  EXPECT_EQ(did_you_mean("EPOLL-LT", known), "; did you mean 'epoll_lt'?");
  EXPECT_EQ(did_you_mean("uring_oneshoot", known), "; did you mean 'uring_oneshot'?");
  EXPECT_EQ(did_you_mean("pol", known), "; did you mean 'poll'?");
  EXPECT_EQ(did_you_mean("nosuch", known), "");
  EXPECT_EQ(did_you_mean("kqueue", known), "");
  try {
    parse_fd_kind("pipes");
    ADD_FAILURE() << "'pipes' parsed";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(std::string_view(e.what()).ends_with("; did you mean 'pipe'?")) << e.what();
  }
}

void expect_valid_subset(const std::vector<std::size_t>& s, std::size_t n, std::size_t k) {
  EXPECT_EQ(s.size(), k);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::set<std::size_t>(s.begin(), s.end()).size(), s.size()) << "duplicates";
  for (std::size_t i : s) EXPECT_LT(i, n);
}

TEST(Subsets, AreSortedDistinctAndInRange) {
  for (auto [n, k] :
       {std::pair<std::size_t, std::size_t>{10, 10}, {1000, 7}, {4096, 4096}, {5, 1}}) {
    expect_valid_subset(spread_subset(n, k), n, k);
    expect_valid_subset(first_subset(n, k), n, k);
    expect_valid_subset(random_subset(n, k, 42), n, k);
  }
}

TEST(Subsets, SpreadCoversTheWholeRange) {
  const auto s = spread_subset(1000, 4);
  EXPECT_EQ(s, (std::vector<std::size_t>{0, 250, 500, 750}));
  EXPECT_EQ(first_subset(100, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Subsets, RandomIsReproducibleBySeed) {
  EXPECT_EQ(random_subset(5000, 100, 1), random_subset(5000, 100, 1));
  EXPECT_NE(random_subset(5000, 100, 1), random_subset(5000, 100, 2));
}

}  // namespace
}  // namespace pollbench
