// uring_recv_send: the io_uring completion engine in its plainest form — a multishot accept,
// then per connection one IORING_OP_RECV into the connection's own buffer and, when it
// completes, one IORING_OP_SEND of the responses; the recv is re-armed as soon as its bytes
// are parsed. The machinery it shares with the other engines (one submit per turn, sends,
// closes, teardown) and its quirks A-J are in uring_engine.cpp.
//
// Quirks this file handles:
//  a) A recv is one-shot: it completes once (data, 0 at EOF, or an error) and is re-armed
//     by the loop, in the same turn's submit (A), after the parser has taken its bytes — so a
//     request costs a recv SQE and a send SQE, and no io_uring_enter of its own.
//  b) The buffer belongs to the request until its CQE is in: it lives with the connection's
//     slot (allocated when a slot is first used, kept for the next connection on it), never
//     freed while the recv is armed (C).
//  c) A recv armed on an idle connection is a poll waiting in the kernel: an idle connection
//     costs its slot (~200 bytes), the kRecvBuffer-byte buffer its armed recv pins, and the
//     kernel's request. With 19,000 idle connections the server process had 83 MB resident
//     here (uring_recv_multishot: 9.2 MB, which is why the provided-buffer engines exist).
//  d) -ECONNRESET and the other errors close the connection; 0 is the peer's end (also
//     mid-request): closed, its unanswered bytes dropped.
//  e) -ECANCELED without a close asked for: the submitting thread is gone (H) — not the
//     case in run(), whose thread does the teardown; the connection is closed.
#include <memory>
#include <string_view>

#include "harness/engines/uring_engine.hpp"
#include "harness/server_loop.hpp"

namespace pollbench {
namespace {

constexpr std::string_view kName = "uring_recv_send";

#if POLLBENCH_HAVE_LIBURING

constexpr std::size_t kRecvBuffer = 4096;

class UringRecvSendEngine final : public engines::UringEngine {
 public:
  explicit UringRecvSendEngine(int listener) : UringEngine(listener, {.who = kName}) {}
  UringRecvSendEngine(const UringRecvSendEngine&) = delete;
  UringRecvSendEngine& operator=(const UringRecvSendEngine&) = delete;
  UringRecvSendEngine(UringRecvSendEngine&&) = delete;
  UringRecvSendEngine& operator=(UringRecvSendEngine&&) = delete;
  ~UringRecvSendEngine() override = default;

 private:
  void on_accepted(Connection& c) override {
    if (!c.buffer) c.buffer = std::make_unique<char[]>(kRecvBuffer);  // b
  }

  void arm_recv(Connection& c) override {
    io_uring_sqe* sqe = prep(c, Op::kRecv);
    io_uring_prep_recv(sqe, c.fd, c.buffer.get(), kRecvBuffer, 0);
    c.recv_armed = true;
  }

  void on_recv(Connection& c, const io_uring_cqe& cqe) override {
    if (c.closing || stopping()) return;
    if (cqe.res <= 0) {  // d, e
      close_connection(c);
      return;
    }
    if (received(c, std::string_view(c.buffer.get(), static_cast<std::size_t>(cqe.res)))) {
      arm_recv(c);  // a
    }
  }
};

#endif

}  // namespace

std::unique_ptr<ServerLoop> make_uring_recv_send_engine(int listener) {
  engines::check_uring_engines_available(kName);
#if POLLBENCH_HAVE_LIBURING
  return std::make_unique<UringRecvSendEngine>(listener);
#else
  (void)listener;
  return nullptr;
#endif
}

}  // namespace pollbench
