// The loop of the server process (tools/server.cpp, the server rows of bench/server.cpp): a
// readiness loop over any registry Poller (HttpServer, harness/http_server.hpp) or one of the
// io_uring completion engines (harness/engines/), which do the I/O itself through the ring.
// Every loop speaks the same HTTP (harness/http_protocol.hpp), and tests/server_test.cpp runs
// the same protocol cases over every loop name.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/unique_fd.hpp"

namespace pollbench {

// A listening TCP socket on 127.0.0.1, on a port the kernel chooses (backlog SOMAXCONN),
// non-blocking and close-on-exec. Throws std::system_error naming the syscall.
UniqueFd listen_loopback(std::uint16_t& port);

struct HttpServerStats {
  std::uint64_t requests = 0;       // responses queued (one per complete request)
  std::uint64_t accepted = 0;       // connections accepted and watched
  std::uint64_t open = 0;           // connections open now
  std::uint64_t refused = 0;        // connections closed at once: the loop cannot watch them
  std::uint64_t accept_errors = 0;  // accept failures other than EAGAIN (EMFILE, ENFILE, ...)
};

class ServerLoop {
 public:
  ServerLoop() = default;
  ServerLoop(const ServerLoop&) = delete;
  ServerLoop& operator=(const ServerLoop&) = delete;
  ServerLoop(ServerLoop&&) = delete;
  ServerLoop& operator=(ServerLoop&&) = delete;
  // Resets (SO_LINGER 0) every connection still open, so that thousands of them leave no
  // TIME_WAIT behind for the next run's ports.
  virtual ~ServerLoop() = default;

  // `fd` is watched for reading too; run() calls `on_ready` when it is readable (once per
  // report: read it until EAGAIN) and stops when on_ready returns false (a control channel:
  // a pipe from the owner, an eventfd in a test).
  virtual void watch_control(int fd, std::function<bool()> on_ready) = 0;

  // Serves until the control callback returns false. Returns 0, or the negative errno of a
  // wait that failed.
  virtual int run() = 0;

  // Read it from the thread that runs the loop, or after run() has returned.
  [[nodiscard]] virtual const HttpServerStats& stats() const noexcept = 0;
};

// One row of the engine table, like backends/registry.cpp's rows.
struct ServerEngine {
  std::string_view name;  // "uring_..." — distinct from every registry row name
  std::string_view what;  // one line: what the engine does
  // Serves `listener` (not owned; it may set options on it). Throws std::system_error naming
  // the refused call (the engine's availability probe).
  std::unique_ptr<ServerLoop> (*make)(int listener);
};

// Every completion engine, available here or not, in preference order.
std::span<const ServerEngine> server_engines() noexcept;

// The engine called `name`, or nullptr.
const ServerEngine* find_server_engine(std::string_view name) noexcept;

// A registry row's name (the readiness loop: HttpServer over backend->make()) or an engine's
// name. Throws std::invalid_argument for an unknown name, std::system_error for a mechanism
// the kernel refuses.
std::unique_ptr<ServerLoop> make_server_loop(std::string_view name, int listener);

// Every loop name: the registry rows' names, then the engines'.
std::vector<std::string> server_loop_names();

// nullopt if the loop `name` can run here, else why not. The probe constructs it for real:
// the engine's make() on a throwaway listener, or the registry row's unavailable_reason.
// Throws std::invalid_argument for an unknown name.
std::optional<std::string> server_loop_unavailable(std::string_view name);

}  // namespace pollbench
