// What the io_uring completion engines (harness/engines/uring_*_engine.cpp) share: the ring,
// the multishot accept, the control channel's multishot poll, one send in flight per
// connection, the close of a connection once its last completion is in, and the reset of
// every connection when run() ends. An engine adds how it receives: arm_recv() and on_recv().
// The quirks handled here are listed once, in uring_engine.cpp; each engine's file lists its
// own and refers to those.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/http_protocol.hpp"
#include "harness/server_loop.hpp"

#if POLLBENCH_HAVE_LIBURING
#include <liburing.h>
#endif

namespace pollbench::engines {

// How an engine's ring is set up.
struct UringSetup {
  std::string_view who;        // the engine's name, in error messages
  unsigned flags = 0;          // IORING_SETUP_* beyond CQSIZE | SUBMIT_ALL
  bool direct = false;         // registered (direct) descriptors: multishot accept direct
  bool register_ring = false;  // io_uring_register_ring_fd in run()'s thread
};

// Throws std::system_error(ENOSYS) naming `who` when this build has no liburing, or when
// POLLBENCH_DISABLE_IO_URING turns io_uring off.
void check_uring_engines_available(std::string_view who);

#if POLLBENCH_HAVE_LIBURING

class UringEngine : public ServerLoop {
 public:
  ~UringEngine() override;

  void watch_control(int fd, std::function<bool()> on_ready) override;
  int run() override;
  [[nodiscard]] const HttpServerStats& stats() const noexcept override { return stats_; }

 protected:
  UringEngine(int listener, const UringSetup& setup);

  struct Connection {
    int fd = -1;  // the socket, or its index in the registered file table (direct)
    bool open = false;
    bool closing = false;     // a cancel or the end of the protocol: no new request
    bool recv_armed = false;  // a recv request (single or multishot) is in flight
    bool send_armed = false;  // `sending` is in flight
    unsigned inflight = 0;    // requests of this connection whose last CQE is not in yet
    HttpRequestParser parser;
    std::string in;       // an unparsed partial request
    std::string out;      // responses queued while a send is in flight
    std::string sending;  // the bytes of the send in flight
    std::size_t sent = 0;
    std::unique_ptr<char[]> buffer;  // the engine's, kept with the slot (uring_recv_send)
  };

  enum class Op : std::uint8_t { kAccept, kControl, kRecv, kSend, kCancel, kClose, kInstall };
  static std::uint64_t tag(Op op, std::uint32_t slot) noexcept {
    return (static_cast<std::uint64_t>(op) << 32) | slot;
  }

  // A free SQE, for a request of this connection: its fd (FIXED_FILE if direct), its tag,
  // and inflight counted. Submits early (one more io_uring_enter) only if the SQ is full.
  io_uring_sqe* prep(Connection& c, Op op);
  // After a recv brought `data` (the connection is open, not closing): feeds the parser,
  // starts a send, or closes. Returns whether the connection wants more bytes.
  bool received(Connection& c, std::string_view data);
  void close_connection(Connection& c);  // cancels its requests; closed when all are in
  // IOSQE_FIXED_FILE on a request of a connection when the engine uses direct descriptors;
  // after io_uring_prep_*, which clears the flags.
  void mark_fd(io_uring_sqe* sqe) const noexcept {
    if (direct_) sqe->flags |= IOSQE_FIXED_FILE;
  }
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }
  [[nodiscard]] std::uint32_t slot_of(const Connection& c) const noexcept {
    return static_cast<std::uint32_t>(c.fd);
  }

  // Hooks of an engine.
  virtual void on_accepted(Connection& c) = 0;  // set up its receive (allocates per slot)
  virtual void arm_recv(Connection& c) = 0;     // one recv request (prep(c, Op::kRecv))
  // A CQE of the recv: inflight is already counted down when it was the request's last.
  virtual void on_recv(Connection& c, const io_uring_cqe& cqe) = 0;
  virtual void before_submit() {}  // publish what the engine recycled (buffers)

  // io_uring_queue_exit, once (the base's destructor does it if an engine's did not).
  void close_ring() noexcept;

  io_uring ring_{};

 private:
  io_uring_sqe* get_sqe();
  void arm_accept();
  void arm_control();
  void handle(const io_uring_cqe& cqe);
  void on_accept(const io_uring_cqe& cqe);
  void on_send(Connection& c, int res);
  void start_send(Connection& c);
  void cancel_requests(Connection& c);
  void finish_if_done(Connection& c);
  void reap();
  void teardown();

  int listener_;
  bool direct_;
  bool register_ring_;
  bool disabled_;  // created IORING_SETUP_R_DISABLED: enabled by run()'s thread
  bool ring_open_ = true;
  bool started_ = false;
  bool stopping_ = false;
  bool stop_ = false;
  bool accept_armed_ = false;
  bool control_armed_ = false;
  int control_ = -1;
  std::function<bool()> on_control_;
  std::uint64_t inflight_ = 0;  // requests of the ring whose last CQE is not in yet
  std::vector<std::unique_ptr<Connection>> connections_;  // by fd or file index
  HttpServerStats stats_;
};

#endif  // POLLBENCH_HAVE_LIBURING

}  // namespace pollbench::engines
