#include "harness/server_loop.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "backends/registry.hpp"
#include "harness/http_server.hpp"

namespace pollbench {

// The engines (harness/engines/): one factory each, one row each below.
std::unique_ptr<ServerLoop> make_uring_recv_send_engine(int listener);
std::unique_ptr<ServerLoop> make_uring_recv_multishot_engine(int listener);
std::unique_ptr<ServerLoop> make_uring_recv_multishot_defer_engine(int listener);

namespace {

constexpr ServerEngine kEngines[] = {
    {"uring_recv_multishot_defer",
     "io_uring: uring_recv_multishot on a SINGLE_ISSUER | DEFER_TASKRUN ring, direct "
     "descriptors",
     make_uring_recv_multishot_defer_engine},
    {"uring_recv_multishot",
     "io_uring: multishot accept, a multishot recv per connection over a provided-buffer ring",
     make_uring_recv_multishot_engine},
    {"uring_recv_send",
     "io_uring: multishot accept, one recv (own buffer) and one send request per step",
     make_uring_recv_send_engine},
};

// The readiness loop of a registry row: HttpServer over a Poller it owns.
class ReadinessLoop final : public ServerLoop {
 public:
  ReadinessLoop(const Backend& backend, int listener)
      : poller_(backend.make()),
        server_(*poller_, backend.capabilities.edge_triggered, backend.capabilities.max_fd,
                listener) {}
  ReadinessLoop(const ReadinessLoop&) = delete;
  ReadinessLoop& operator=(const ReadinessLoop&) = delete;
  ReadinessLoop(ReadinessLoop&&) = delete;
  ReadinessLoop& operator=(ReadinessLoop&&) = delete;
  ~ReadinessLoop() override = default;  // the server (its connections) before its Poller

  void watch_control(int fd, std::function<bool()> on_ready) override {
    server_.watch_control(fd, std::move(on_ready));
  }
  int run() override { return server_.run(); }
  [[nodiscard]] const HttpServerStats& stats() const noexcept override { return server_.stats(); }

 private:
  std::unique_ptr<Poller> poller_;
  HttpServer server_;
};

[[noreturn]] void throw_sys(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

[[noreturn]] void throw_unknown(std::string_view name) {
  throw std::invalid_argument("no server loop called '" + std::string(name) +
                              "' (a registry row or an engine: pollbench-server loops)");
}

}  // namespace

UniqueFd listen_loopback(std::uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_sys("socket(AF_INET)");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw_sys("bind(127.0.0.1:0)");
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) throw_sys("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_sys("getsockname");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

std::span<const ServerEngine> server_engines() noexcept {
  return kEngines;
}

const ServerEngine* find_server_engine(std::string_view name) noexcept {
  for (const ServerEngine& e : kEngines) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::unique_ptr<ServerLoop> make_server_loop(std::string_view name, int listener) {
  if (const Backend* backend = find_backend(name)) {
    return std::make_unique<ReadinessLoop>(*backend, listener);
  }
  if (const ServerEngine* engine = find_server_engine(name)) return engine->make(listener);
  throw_unknown(name);
}

std::vector<std::string> server_loop_names() {
  std::vector<std::string> names;
  for (const Backend& b : backends()) names.emplace_back(b.name);
  for (const ServerEngine& e : kEngines) names.emplace_back(e.name);
  return names;
}

std::optional<std::string> server_loop_unavailable(std::string_view name) {
  if (const Backend* backend = find_backend(name)) return unavailable_reason(*backend);
  const ServerEngine* engine = find_server_engine(name);
  if (engine == nullptr) throw_unknown(name);
  try {
    std::uint16_t port = 0;
    const UniqueFd listener = listen_loopback(port);
    engine->make(listener.get());
  } catch (const std::system_error& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace pollbench
