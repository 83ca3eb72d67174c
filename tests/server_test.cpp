// The server scenario's loops (harness/server_loop.hpp) — the readiness loop on every registry
// row and every io_uring completion engine — as the conformance suite checks the Pollers: the
// protocol cases a real client meets — partial reads, pipelined requests, HTTP/1.0 keep-alive
// and close, a body, responses larger than the socket buffers (short writes), a client that
// closes, half-closes or resets mid-request, many connections at once, hundreds of idle ones —
// and that the server answers each exactly once, in order. No timings: a client's blocking
// read has a receive timeout only so that a broken loop fails instead of hanging.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/registry.hpp"
#include "harness/fd_pool.hpp"
#include "harness/server_loop.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";

// The loop on its own thread, stopped through an eventfd.
class ServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fds_at_start_ = count_open_fds();
    if (auto why = server_loop_unavailable(GetParam())) GTEST_SKIP() << GetParam() << ": " << *why;
    listener_ = listen_loopback(port_);
    stop_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    ASSERT_TRUE(stop_.valid());
    server_ = make_server_loop(GetParam(), listener_.get());
    server_->watch_control(stop_.get(), [] { return false; });
    thread_ = std::thread([this] { result_ = server_->run(); });
  }

  void TearDown() override {
    if (server_) stop_server();
    server_.reset();
    listener_.reset();
    stop_.reset();
    EXPECT_EQ(count_open_fds(), fds_at_start_) << "the test leaked (or closed) descriptors";
  }

  // Stops the loop and returns its counters (read once its thread has ended).
  const HttpServerStats& stop_server() {
    if (thread_.joinable()) {
      const std::uint64_t one = 1;
      EXPECT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
      thread_.join();
      EXPECT_EQ(result_, 0) << "the server's wait failed";
    }
    return server_->stats();
  }

  // A blocking client connection (5 s receive timeout: a hang fails instead).
  [[nodiscard]] UniqueFd connect_client(int receive_buffer = 0) const {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(fd.valid());
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (receive_buffer > 0) {
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port_);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    return fd;
  }

  static void send_all(int fd, std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;  // see receive()
      ASSERT_GT(n, 0) << "send failed";
      done += static_cast<std::size_t>(n);
    }
  }

  // Exactly `size` bytes (fewer if the server closes or the timeout passes).
  static std::string receive(int fd, std::size_t size) {
    std::string got;
    char buf[4096];
    while (got.size() < size) {
      const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, size - got.size()), 0);
      // EINTR: a thread that created an io_uring (an earlier test's poller) gets the ring's
      // task work as an interruption of its blocking calls (uring_poller.cpp, quirk i).
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  // Whether the server closed the connection: the next read returns 0 (end of stream).
  static bool closed_by_server(int fd) {
    char byte = 0;
    ssize_t n = 0;
    while ((n = ::recv(fd, &byte, 1, 0)) < 0 && errno == EINTR) {
    }
    return n == 0;
  }

  static std::string repeat(std::string_view s, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i) out += s;
    return out;
  }

  std::unique_ptr<ServerLoop> server_;
  UniqueFd listener_;

 private:
  int fds_at_start_ = 0;
  UniqueFd stop_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  int result_ = -1;
};

TEST_P(ServerTest, AnswersOneRequest) {
  const UniqueFd c = connect_client();
  send_all(c.get(), kGet);
  EXPECT_EQ(receive(c.get(), kResponse.size()), kResponse);
}

TEST_P(ServerTest, KeepsTheConnectionForTheNextRequest) {
  const UniqueFd c = connect_client();
  for (int i = 0; i < 5; ++i) {
    send_all(c.get(), kGet);
    ASSERT_EQ(receive(c.get(), kResponse.size()), kResponse) << "request " << i;
  }
}

// (a) A request that arrives a byte at a time is answered once, when it is complete.
TEST_P(ServerTest, PartialReadsAreJoined) {
  const UniqueFd c = connect_client();
  const int one = 1;
  ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (const char byte : kGet) send_all(c.get(), std::string_view(&byte, 1));
  send_all(c.get(), kGet);  // then a whole one: exactly two responses in all
  EXPECT_EQ(receive(c.get(), 2 * kResponse.size()), repeat(kResponse, 2));
}

// (b) Requests sent together are answered in order, each once.
TEST_P(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  const UniqueFd c = connect_client();
  send_all(c.get(), repeat(kGet, 10));
  EXPECT_EQ(receive(c.get(), 10 * kResponse.size()), repeat(kResponse, 10));
}

// (d) More responses than the socket buffers hold: the server waits for writability (an
// edge-triggered row must write until EAGAIN and be told again) and loses none.
TEST_P(ServerTest, ResponsesLargerThanTheSocketBufferAllArrive) {
  constexpr std::size_t kRequests = 3000;  // ~240 KB of responses against a 4 KB receive buffer
  const UniqueFd c = connect_client(4096);
  send_all(c.get(), repeat(kGet, kRequests));
  const std::string got = receive(c.get(), kRequests * kResponse.size());
  ASSERT_EQ(got.size(), kRequests * kResponse.size());
  EXPECT_EQ(got, repeat(kResponse, kRequests));
}

// (c) ab's HTTP/1.0 with keep-alive keeps the connection and is told so; without it, and with
// HTTP/1.1's Connection: close, the server closes after its response.
TEST_P(ServerTest, KeepAliveAndCloseFollowTheRequest) {
  const UniqueFd ab = connect_client();
  send_all(ab.get(), "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: x\r\n\r\n");
  const std::string keep_alive =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
      "keep-alive\r\n\r\nHello, world\n";
  EXPECT_EQ(receive(ab.get(), keep_alive.size()), keep_alive);
  send_all(ab.get(), "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_EQ(receive(ab.get(), keep_alive.size()), keep_alive);

  const std::string closing =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
      "close\r\n\r\nHello, world\n";
  const UniqueFd http10 = connect_client();
  send_all(http10.get(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(receive(http10.get(), closing.size()), closing);
  EXPECT_TRUE(closed_by_server(http10.get()));

  const UniqueFd close11 = connect_client();
  // What follows the closing request on the connection is not answered.
  send_all(close11.get(),
           std::string("GET / HTTP/1.1\r\nconnection: close\r\n\r\n") + std::string(kGet));
  EXPECT_EQ(receive(close11.get(), closing.size()), closing);
  EXPECT_TRUE(closed_by_server(close11.get()));
}

// (a) A Content-Length body is skipped, not taken for the next request.
TEST_P(ServerTest, ABodyIsSkipped) {
  const UniqueFd c = connect_client();
  send_all(c.get(), "POST / HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  send_all(c.get(), kGet);
  EXPECT_EQ(receive(c.get(), 2 * kResponse.size()), repeat(kResponse, 2));
  send_all(c.get(), kGet);  // and nothing more came before this one's answer
  EXPECT_EQ(receive(c.get(), kResponse.size()), kResponse);
}

// (e) A client that shuts down its side (or closes) mid-request gets no answer and its
// connection is closed by the server; the others are served as before.
TEST_P(ServerTest, AClientThatClosesMidRequestIsDropped) {
  const UniqueFd other = connect_client();
  const UniqueFd half = connect_client();
  send_all(half.get(), "GET / HTTP/1.1\r\nHost:");
  ASSERT_EQ(::shutdown(half.get(), SHUT_WR), 0);
  EXPECT_TRUE(closed_by_server(half.get())) << "no response, and the server's end closed";
  {
    const UniqueFd gone = connect_client();
    send_all(gone.get(), "GET / HT");
  }  // closed mid-request
  send_all(other.get(), kGet);
  EXPECT_EQ(receive(other.get(), kResponse.size()), kResponse);
}

// (f) Many connections at once: an edge-triggered row must accept until EAGAIN.
TEST_P(ServerTest, ManyConnectionsAreAllServed) {
  std::vector<UniqueFd> clients;
  clients.reserve(64);
  for (int i = 0; i < 64; ++i) clients.push_back(connect_client());
  for (const UniqueFd& c : clients) send_all(c.get(), kGet);
  for (const UniqueFd& c : clients) EXPECT_EQ(receive(c.get(), kResponse.size()), kResponse);
}

// (b, e) A client that resets its connection (SO_LINGER 0) mid-request or with responses
// on their way costs the server an ECONNRESET: that connection is dropped, the others served.
TEST_P(ServerTest, AResetConnectionIsDropped) {
  const UniqueFd other = connect_client();
  for (const std::string_view request : {std::string_view("GET / HT"), kGet}) {
    UniqueFd reset = connect_client(4096);
    send_all(reset.get(), request == kGet ? repeat(kGet, 500) : std::string(request));
    const linger now{.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(::setsockopt(reset.get(), SOL_SOCKET, SO_LINGER, &now, sizeof now), 0);
    reset.reset();
  }
  send_all(other.get(), kGet);
  EXPECT_EQ(receive(other.get(), kResponse.size()), kResponse);
  const HttpServerStats& stats = stop_server();
  EXPECT_EQ(stats.accepted, 3U);
}

// A short write: the server's socket gets a small send buffer (SO_SNDBUF on the listener,
// which accepted sockets inherit), and a client reads nothing while its ~480 KB of responses
// pile up. The server keeps the rest (a readiness loop waits for writability; an engine's
// send completes short and is sent again), serves another client meanwhile, and loses
// nothing once the first reads.
TEST_P(ServerTest, AShortWriteIsFinishedWhileOthersAreServed) {
  constexpr std::size_t kRequests = 6000;
  const int small = 4096;
  ASSERT_EQ(::setsockopt(listener_.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  const UniqueFd slow = connect_client(4096);
  send_all(slow.get(), repeat(kGet, kRequests));
  const UniqueFd other = connect_client();
  for (int i = 0; i < 3; ++i) {
    send_all(other.get(), kGet);
    ASSERT_EQ(receive(other.get(), kResponse.size()), kResponse) << "request " << i;
  }
  const std::string got = receive(slow.get(), kRequests * kResponse.size());
  ASSERT_EQ(got.size(), kRequests * kResponse.size());
  EXPECT_EQ(got, repeat(kResponse, kRequests));
}

// Hundreds of idle connections (the server rows hold up to ~19,000) cost the loop nothing it
// could lose: the active ones are all answered, and every connection was accepted.
TEST_P(ServerTest, IdleConnectionsDoNotStopTheOthers) {
  constexpr std::size_t kIdle = 300;
  constexpr std::size_t kActive = 16;
  std::vector<UniqueFd> idle;
  idle.reserve(kIdle);
  for (std::size_t i = 0; i < kIdle; ++i) idle.push_back(connect_client());
  std::vector<UniqueFd> active;
  for (std::size_t i = 0; i < kActive; ++i) active.push_back(connect_client());
  for (int round = 0; round < 3; ++round) {
    for (const UniqueFd& c : active) send_all(c.get(), kGet);
    for (const UniqueFd& c : active) {
      ASSERT_EQ(receive(c.get(), kResponse.size()), kResponse) << "round " << round;
    }
  }
  send_all(idle.front().get(), kGet);  // an idle one wakes up
  EXPECT_EQ(receive(idle.front().get(), kResponse.size()), kResponse);
  const HttpServerStats& stats = stop_server();
  EXPECT_EQ(stats.accepted, kIdle + kActive);
  EXPECT_EQ(stats.requests, 3 * kActive + 1);
  EXPECT_EQ(stats.accept_errors, 0U);
}

// (f) Connections still open when the loop ends are reset (SO_LINGER 0), not closed in
// order: thousands of them must leave no TIME_WAIT behind for the next run's ports.
TEST_P(ServerTest, OpenConnectionsAreResetAtTheEnd) {
  const UniqueFd c = connect_client();
  send_all(c.get(), kGet);
  ASSERT_EQ(receive(c.get(), kResponse.size()), kResponse);
  stop_server();
  server_.reset();
  char byte = 0;
  ssize_t n = 0;
  while ((n = ::recv(c.get(), &byte, 1, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_EQ(n, -1) << "the server closed in order (0) or sent bytes";
  EXPECT_EQ(errno, ECONNRESET);
}

// The names: every engine's says io_uring and differs from every registry row's.
TEST(ServerLoops, EveryNameIsDistinctAndEveryEngineSaysUring) {
  const std::vector<std::string> names = server_loop_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.size(), backends().size() + server_engines().size());
  for (const ServerEngine& e : server_engines()) {
    EXPECT_TRUE(e.name.starts_with("uring_")) << e.name;
    EXPECT_EQ(find_backend(e.name), nullptr) << e.name;
    EXPECT_EQ(find_server_engine(e.name), &e);
  }
  EXPECT_THROW((void)make_server_loop("no_such_loop", -1), std::invalid_argument);
  EXPECT_THROW((void)server_loop_unavailable("no_such_loop"), std::invalid_argument);
}

// POLLBENCH_DISABLE_IO_URING turns the engines off as a refusing kernel would: each is listed
// unavailable, with the reason, never dropped.
TEST(ServerLoops, ADisabledIoUringMakesEveryEngineUnavailable) {
  ASSERT_EQ(::setenv("POLLBENCH_DISABLE_IO_URING", "1", 1), 0);
  for (const ServerEngine& e : server_engines()) {
    const std::optional<std::string> why = server_loop_unavailable(e.name);
    ASSERT_TRUE(why.has_value()) << e.name;
    EXPECT_NE(why->find(std::string(e.name)), std::string::npos) << *why;
  }
  ASSERT_EQ(::unsetenv("POLLBENCH_DISABLE_IO_URING"), 0);
}

std::string loop_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

INSTANTIATE_TEST_SUITE_P(AllLoops, ServerTest, ::testing::ValuesIn(server_loop_names()), loop_name);

}  // namespace
}  // namespace pollbench
