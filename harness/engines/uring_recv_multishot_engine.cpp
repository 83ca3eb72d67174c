// uring_recv_multishot: a multishot accept, then per connection one multishot
// IORING_OP_RECV that takes its buffers from a ring of provided buffers shared by every
// connection (io_uring_register_buf_ring, group kBufferGroup); a send per batch of responses.
// What it shares with the other engines (one submit per turn, sends, closes, teardown) and
// its quirks A-J are in uring_engine.cpp; uring_recv_multishot_defer is this engine on a
// SINGLE_ISSUER | DEFER_TASKRUN ring with direct descriptors.
//
// Quirks this file handles:
//  a) One recv request per connection for its whole life: each arrival of data posts a CQE
//     with IORING_CQE_F_MORE and a buffer id (IORING_CQE_F_BUFFER, the id above
//     IORING_CQE_BUFFER_SHIFT); a request costs a CQE, a send SQE, and no recv SQE.
//  b) The kernel ends the multishot recv (a CQE without F_MORE) at EOF (res 0), on an error,
//     when the buffer ring is empty (-ENOBUFS) or when it chooses to; -ENOBUFS and a
//     positive last CQE re-arm it in the same turn, the others close the connection.
//  c) A buffer is the kernel's again only once it is added back to the ring and the ring's
//     tail published: each CQE's buffer is given back as soon as its bytes are parsed (a
//     partial request's tail is copied to the connection first), and the tail is
//     published once per turn, before the submit (and before an early one, A), so the
//     re-arm after -ENOBUFS finds buffers. Nothing holds a buffer between turns, so
//     kBuffers only has to cover the data of one turn; -ENOBUFS costs a re-arm, not data.
//  d) liburing 2.3 has no io_uring_setup_buf_ring: the ring's memory is mapped here
//     (page-aligned, as the kernel asks) and registered with io_uring_register_buf_ring.
//  e) A CQE of a connection that is closing still carries a buffer: given back too.
//  f) An idle connection costs its slot (~200 bytes with the allocator's) and the kernel's
//     armed request, and no buffer: with 19,000 idle connections the whole server process
//     had 9.2 MB resident here, the kBuffers x kBufferSize (2 MB) shared buffers included
//     (uring_recv_send: 83 MB; epoll_lt: 6.1 MB).
#include "harness/engines/uring_recv_multishot_engine.hpp"

#include <memory>
#include <string_view>
#include <system_error>

#if POLLBENCH_HAVE_LIBURING
#include <sys/mman.h>

#include <cerrno>
#include <string>
#endif

namespace pollbench {
namespace engines {
namespace {

#if POLLBENCH_HAVE_LIBURING

constexpr unsigned kBuffers = 512;  // a power of two, as the kernel asks
constexpr unsigned kBufferSize = 4096;
constexpr std::uint16_t kBufferGroup = 0;

class UringRecvMultishotEngine final : public UringEngine {
 public:
  UringRecvMultishotEngine(int listener, const UringSetup& setup)
      : UringEngine(listener, setup),
        memory_(std::make_unique<char[]>(std::size_t{kBuffers} * kBufferSize)) {
    const std::size_t ring_bytes = kBuffers * sizeof(io_uring_buf);  // d
    void* mapped =
        ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapped == MAP_FAILED) {
      throw std::system_error(errno, std::generic_category(),
                              std::string(setup.who) + ": mmap(buffer ring)");
    }
    buffers_ = static_cast<io_uring_buf_ring*>(mapped);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(buffers_);
    reg.ring_entries = kBuffers;
    reg.bgid = kBufferGroup;
    if (const int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0) {
      ::munmap(buffers_, ring_bytes);
      throw std::system_error(-rc, std::generic_category(),
                              std::string(setup.who) + ": io_uring_register_buf_ring");
    }
    io_uring_buf_ring_init(buffers_);
    for (unsigned id = 0; id < kBuffers; ++id) give_back(static_cast<std::uint16_t>(id));
    before_submit();
  }
  UringRecvMultishotEngine(const UringRecvMultishotEngine&) = delete;
  UringRecvMultishotEngine& operator=(const UringRecvMultishotEngine&) = delete;
  UringRecvMultishotEngine(UringRecvMultishotEngine&&) = delete;
  UringRecvMultishotEngine& operator=(UringRecvMultishotEngine&&) = delete;
  // The ring goes first, and the group with it: unregistering the group alone is refused
  // (EEXIST) on a SINGLE_ISSUER ring from another thread than run()'s.
  ~UringRecvMultishotEngine() override {
    close_ring();
    ::munmap(buffers_, kBuffers * sizeof(io_uring_buf));
  }

 private:
  void on_accepted(Connection& /*c*/) override {}

  void arm_recv(Connection& c) override {
    io_uring_sqe* sqe = prep(c, Op::kRecv);
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    mark_fd(sqe);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    c.recv_armed = true;
  }

  void on_recv(Connection& c, const io_uring_cqe& cqe) override {
    const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
    std::string_view data;
    int id = -1;
    if ((cqe.flags & IORING_CQE_F_BUFFER) != 0) {
      id = static_cast<int>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      if (cqe.res > 0) data = std::string_view(buffer(id), static_cast<std::size_t>(cqe.res));
    }
    if (c.closing || stopping()) {  // e
      if (id >= 0) give_back(static_cast<std::uint16_t>(id));
      return;
    }
    bool wants_more = true;
    if (!data.empty()) wants_more = received(c, data);
    if (id >= 0) give_back(static_cast<std::uint16_t>(id));  // c
    if (!wants_more || c.closing || more) return;
    if (cqe.res > 0 || cqe.res == -ENOBUFS) {  // b
      arm_recv(c);
    } else {
      close_connection(c);  // EOF, ECONNRESET, ...
    }
  }

  void before_submit() override {  // c
    if (returned_ == 0) return;
    io_uring_buf_ring_advance(buffers_, static_cast<int>(returned_));
    returned_ = 0;
  }

  char* buffer(int id) const noexcept {
    return memory_.get() + static_cast<std::size_t>(id) * kBufferSize;
  }

  void give_back(std::uint16_t id) noexcept {
    io_uring_buf_ring_add(buffers_, buffer(id), kBufferSize, id, io_uring_buf_ring_mask(kBuffers),
                          static_cast<int>(returned_));
    ++returned_;
  }

  std::unique_ptr<char[]> memory_;
  io_uring_buf_ring* buffers_ = nullptr;
  unsigned returned_ = 0;  // buffers added since the tail was last published
};

#endif

constexpr std::string_view kName = "uring_recv_multishot";

}  // namespace

std::unique_ptr<ServerLoop> make_multishot_recv_engine(int listener, const UringSetup& setup) {
  check_uring_engines_available(setup.who);
#if POLLBENCH_HAVE_LIBURING
  return std::make_unique<UringRecvMultishotEngine>(listener, setup);
#else
  (void)listener;
  return nullptr;
#endif
}

}  // namespace engines

std::unique_ptr<ServerLoop> make_uring_recv_multishot_engine(int listener) {
  return engines::make_multishot_recv_engine(listener, {.who = engines::kName});
}

}  // namespace pollbench
