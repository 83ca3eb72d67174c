// The server scenario's HTTP loop (harness/http_server.hpp) on every registry row, as the
// conformance suite checks the Pollers: the protocol cases a real client meets — partial
// reads, pipelined requests, HTTP/1.0 keep-alive and close, a body, a response larger than the
// socket buffers, a client that closes or half-closes mid-request, many connections at once —
// and that the server answers each exactly once, in order. No timings: a client's blocking
// read has a receive timeout only so that a broken backend fails instead of hanging.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/registry.hpp"
#include "harness/fd_pool.hpp"
#include "harness/http_server.hpp"
#include "harness/unique_fd.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";

// The loop on its own thread, stopped through an eventfd.
class ServerTest : public ::testing::TestWithParam<const Backend*> {
 protected:
  void SetUp() override {
    fds_at_start_ = count_open_fds();
    const Backend& backend = *GetParam();
    if (auto why = unavailable_reason(backend)) GTEST_SKIP() << backend.name << ": " << *why;
    poller_ = backend.make();
    listener_ = listen_loopback(port_);
    stop_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    ASSERT_TRUE(stop_.valid());
    server_ = std::make_unique<HttpServer>(*poller_, backend.capabilities.edge_triggered,
                                           backend.capabilities.max_fd, listener_.get());
    server_->watch_control(stop_.get(), [] { return false; });
    thread_ = std::thread([this] { result_ = server_->run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      const std::uint64_t one = 1;
      EXPECT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
      thread_.join();
      EXPECT_EQ(result_, 0) << "the server's wait failed";
    }
    server_.reset();
    poller_.reset();
    listener_.reset();
    stop_.reset();
    EXPECT_EQ(count_open_fds(), fds_at_start_) << "the test leaked (or closed) descriptors";
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

 private:
  int fds_at_start_ = 0;
  std::unique_ptr<Poller> poller_;
  UniqueFd listener_;
  UniqueFd stop_;
  std::uint16_t port_ = 0;
  std::unique_ptr<HttpServer> server_;
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

std::string row_name(const ::testing::TestParamInfo<const Backend*>& info) {
  return std::string(info.param->name);
}

std::vector<const Backend*> all_rows() {
  std::vector<const Backend*> rows;
  for (const Backend& b : backends()) rows.push_back(&b);
  return rows;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ServerTest, ::testing::ValuesIn(all_rows()), row_name);

}  // namespace
}  // namespace pollbench
