// The machinery every io_uring completion engine shares (uring_engine.hpp). Quirks handled
// here, checked on Linux 6.18 with liburing 2.3:
//  A) One io_uring_enter per loop turn: everything a turn prepares (re-arms, recvs, sends,
//     cancels, closes) goes to the kernel with the wait for the next completions, in one
//     io_uring_submit_and_wait(1), and the completions are reaped in a batch
//     (io_uring_for_each_cqe, one io_uring_cq_advance). Only a full SQ (kSqEntries) submits
//     early, with one more io_uring_enter.
//  B) A multishot request (accept, the control poll, a multishot recv) stays armed while its
//     CQEs carry IORING_CQE_F_MORE; the kernel may end it at any CQE (an error, -ENOBUFS, a
//     cancel, an overflowing CQ), and the loop re-arms it in the same turn. A request counts
//     as in flight until its last CQE.
//  C) close(2) cancels nothing: an armed recv or send holds a reference to its file, so a
//     recv waiting for data (or a send waiting for space) would keep the socket, and its
//     buffer, busy forever. Closing a connection cancels its armed requests by user_data
//     (a hash lookup; a cancel by descriptor, IORING_ASYNC_CANCEL_FD, walks every armed
//     request — O(idle connections) per close) and its state is kept until the last CQE of
//     each is in (a per-connection count); then an IORING_OP_CLOSE goes into the same
//     turn's submit. From that submit on the descriptor's number can come back from the
//     accept, so the slot is free as soon as the close is queued, and the close's own CQE
//     is not asked for (IOSQE_CQE_SKIP_SUCCESS).
//  D) One send in flight per connection: two sends on one socket can complete out of order
//     when the first waits for space (liburing's proxy example says so too). Responses parsed
//     meanwhile queue in `out`, which swaps with `sending` (both keep their capacity) when
//     the send completes. A short send (the socket's buffer filled) is submitted again for
//     the rest. MSG_NOSIGNAL: a peer gone costs EPIPE, never a SIGPIPE; EPIPE, ECONNRESET
//     and any other error close the connection.
//  E) Accept errors (EMFILE, ENFILE; a full registered file table for direct descriptors)
//     are counted in accept_errors and end the multishot accept; it is re-armed in the same
//     turn, so while the cause persists the loop retries, as a level-triggered readiness loop
//     does. ECONNABORTED (a connection reset in the backlog) is not an error.
//  F) TCP_NODELAY is set once on the listener: Linux copies it into every accepted socket,
//     which saves a setsockopt per connection (and a direct descriptor has no fd to set it
//     on). Accepted sockets stay blocking (no SOCK_NONBLOCK): io_uring tries each recv and
//     send without blocking and, when it would block, arms a poll of its own; the loop's
//     thread never blocks on a socket.
//  G) The CQ has kCqEntries entries: an idle connection posts nothing, so a turn's CQEs are
//     bounded by the active requests; what does not fit (teardown cancels one request per
//     connection: ~19,000) is kept by the kernel (IORING_FEAT_NODROP, IORING_SQ_CQ_OVERFLOW)
//     and flushed by the next io_uring_submit_and_wait, which always asks for events.
//  H) A request belongs to the thread that submitted it and is cancelled when that thread
//     exits (backends/uring_poller.cpp, quirk j); a SINGLE_ISSUER ring takes submissions from
//     one thread only. So the thread of run() does the teardown before run() returns: one
//     cancel per armed request (by user_data: IORING_ASYNC_CANCEL_ANY took 3.4 s for 19,000
//     idle connections, each of its steps searching the armed requests from the start),
//     then reap until every request's last CQE is in, then every open connection is reset
//     (SO_LINGER 0, so thousands leave no TIME_WAIT) and closed. The destructor only
//     closes the ring; stats().open is 0 once run() has returned.
//  I) The control channel is a multishot poll (POLLIN): one CQE per wakeup, edge-style, so
//     its callback reads until EAGAIN (as it must for the edge-triggered registry rows).
//  J) user_data is op << 32 | slot, the slot being the socket's fd or its file index: both
//     are unique among open connections, so no lookup and no generation count (C).
#include "harness/engines/uring_engine.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "backends/detail/uring.hpp"

#if POLLBENCH_HAVE_LIBURING
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pollbench::engines {

void check_uring_engines_available(std::string_view who) {
#if POLLBENCH_HAVE_LIBURING
  try {
    detail::check_io_uring_enabled();
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), std::string(who) +
                                          ": io_uring disabled by "
                                          "POLLBENCH_DISABLE_IO_URING");
  }
#else
  throw std::system_error(ENOSYS, std::generic_category(),
                          std::string(who) + ": built without liburing (liburing-dev)");
#endif
}

#if POLLBENCH_HAVE_LIBURING

namespace {

constexpr unsigned kSqEntries = 4096;
constexpr unsigned kCqEntries = 16384;
// IORING_OP_FIXED_FD_INSTALL (Linux 6.8): liburing 2.3's headers predate it.
constexpr std::uint8_t kOpFixedFdInstall = 54;
// The slot of a request that belongs to no connection.
constexpr std::uint32_t kNoSlot = 0xffffffffU;

[[noreturn]] void throw_errno(int err, std::string_view who, std::string_view what) {
  throw std::system_error(err, std::generic_category(),
                          std::string(who) + ": " + std::string(what));
}

void reset_and_close(int fd) noexcept {
  const linger reset{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
}

}  // namespace

UringEngine::UringEngine(int listener, const UringSetup& setup)
    : listener_(listener),
      direct_(setup.direct),
      register_ring_(setup.register_ring),
      disabled_((setup.flags & IORING_SETUP_SINGLE_ISSUER) != 0) {
  check_uring_engines_available(setup.who);
  io_uring_params params{};
  // H: a SINGLE_ISSUER ring belongs to the thread that enables it; created disabled, it is
  // enabled by run()'s thread (the constructor's may be another one).
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | setup.flags |
                 (disabled_ ? IORING_SETUP_R_DISABLED : 0U);
  params.cq_entries = kCqEntries;
  if (const int rc = io_uring_queue_init_params(kSqEntries, &ring_, &params); rc < 0) {
    throw_errno(-rc, setup.who, "io_uring_queue_init_params");
  }
  if ((params.features & IORING_FEAT_NODROP) == 0) {  // G
    io_uring_queue_exit(&ring_);
    throw_errno(ENOSYS, setup.who, "io_uring without IORING_FEAT_NODROP (needs Linux 5.5)");
  }
  if (direct_) {  // the sparse table: as many slots as this process may have fds
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const auto slots = static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, 1U << 20));
    if (const int rc = io_uring_register_files_sparse(&ring_, slots); rc < 0) {
      io_uring_queue_exit(&ring_);
      throw_errno(-rc, setup.who, "io_uring_register_files_sparse");
    }
  }
  const int one = 1;  // F
  if (::setsockopt(listener_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    const int err = errno;
    io_uring_queue_exit(&ring_);
    throw_errno(err, setup.who, "setsockopt(listener, TCP_NODELAY)");
  }
}

UringEngine::~UringEngine() {
  // Nothing is in flight: run() tore down before it returned (H), or never ran.
  close_ring();
}

void UringEngine::close_ring() noexcept {
  if (!ring_open_) return;
  io_uring_queue_exit(&ring_);
  ring_open_ = false;
}

void UringEngine::watch_control(int fd, std::function<bool()> on_ready) {
  control_ = fd;
  on_control_ = std::move(on_ready);
}

io_uring_sqe* UringEngine::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {  // A: the SQ is full
    before_submit();
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  ++inflight_;
  return sqe;
}

io_uring_sqe* UringEngine::prep(Connection& c, Op op) {
  io_uring_sqe* sqe = get_sqe();
  ++c.inflight;
  io_uring_sqe_set_data64(sqe, tag(op, slot_of(c)));
  return sqe;
}

void UringEngine::arm_accept() {
  io_uring_sqe* sqe = get_sqe();
  if (direct_) {
    io_uring_prep_multishot_accept_direct(sqe, listener_, nullptr, nullptr, 0);
  } else {
    io_uring_prep_multishot_accept(sqe, listener_, nullptr, nullptr, SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe, tag(Op::kAccept, 0));
  accept_armed_ = true;
}

void UringEngine::arm_control() {
  if (control_ < 0) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_poll_multishot(sqe, control_, POLLIN);
  io_uring_sqe_set_data64(sqe, tag(Op::kControl, 0));
  control_armed_ = true;
}

int UringEngine::run() {
  if (!started_) {
    if (disabled_) {
      // liburing 2.3 declares io_uring_enable_rings but does not export it.
      if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr,
                    0) != 0) {
        return -errno;
      }
    }
    // Each thread registers the ring for itself; a failure only costs the fd lookup.
    if (register_ring_) io_uring_register_ring_fd(&ring_);
    started_ = true;
  }
  stop_ = false;
  stopping_ = false;
  arm_accept();
  arm_control();
  int result = 0;
  try {
    while (!stop_) {
      before_submit();
      const int rc = io_uring_submit_and_wait(&ring_, 1);  // A
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
        result = rc;
        break;
      }
      reap();
    }
  } catch (...) {  // the control callback's: nothing may stay in flight past run()
    teardown();
    throw;
  }
  teardown();  // H
  return result;
}

void UringEngine::reap() {
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    handle(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
}

void UringEngine::handle(const io_uring_cqe& cqe) {
  const auto op = static_cast<Op>(cqe.user_data >> 32);
  const auto slot = static_cast<std::uint32_t>(cqe.user_data);
  const bool last = (cqe.flags & IORING_CQE_F_MORE) == 0;
  if (op == Op::kClose || op == Op::kInstall) return;  // C; kInstall: teardown reaps them
  if (last) --inflight_;
  switch (op) {
    case Op::kAccept:
      if (last) accept_armed_ = false;
      on_accept(cqe);
      if (last && !stopping_) arm_accept();  // B, E
      return;
    case Op::kControl:
      if (last) control_armed_ = false;
      if (!stopping_ && cqe.res > 0 && !on_control_()) stop_ = true;
      if (last && !stopping_ && !stop_) arm_control();  // B
      return;
    case Op::kCancel:
      if (slot == kNoSlot) return;  // the teardown's cancel of the accept or the control poll
      break;
    default:
      break;
  }
  if (slot >= connections_.size() || !connections_[slot]) return;
  Connection& c = *connections_[slot];
  if (last) --c.inflight;
  if (op == Op::kRecv) {
    if (last) c.recv_armed = false;
    on_recv(c, cqe);
  } else if (op == Op::kSend) {
    c.send_armed = false;
    on_send(c, cqe.res);
  }
  finish_if_done(c);
}

void UringEngine::on_accept(const io_uring_cqe& cqe) {
  if (cqe.res < 0) {
    if (cqe.res != -ECANCELED && cqe.res != -ECONNABORTED && cqe.res != -EAGAIN &&
        cqe.res != -EINTR) {
      ++stats_.accept_errors;  // E
    }
    return;
  }
  const auto slot = static_cast<std::size_t>(cqe.res);
  if (slot >= connections_.size()) connections_.resize(slot + 1);
  if (!connections_[slot]) connections_[slot] = std::make_unique<Connection>();
  Connection& c = *connections_[slot];
  c.fd = cqe.res;
  c.open = true;
  c.closing = false;
  c.recv_armed = false;
  c.send_armed = false;
  c.inflight = 0;
  c.parser.reset();
  c.in.clear();
  c.out.clear();
  c.sending.clear();
  c.sent = 0;
  ++stats_.accepted;
  ++stats_.open;
  on_accepted(c);
  if (stopping_) {     // accepted while the teardown's cancel was on its way
    c.closing = true;  // H: reset with the others
    return;
  }
  arm_recv(c);
}

bool UringEngine::received(Connection& c, std::string_view data) {
  if (c.in.empty()) {
    const std::size_t used = c.parser.feed(data, c.out, stats_.requests);
    if (used < data.size()) c.in.assign(data.substr(used));
  } else {
    c.in.append(data);
    c.in.erase(0, c.parser.feed(c.in, c.out, stats_.requests));
  }
  if (c.parser.closing()) c.in.clear();
  start_send(c);
  if (c.parser.closing() && !c.send_armed) {
    close_connection(c);
    return false;
  }
  return !c.parser.closing();
}

void UringEngine::start_send(Connection& c) {
  if (c.send_armed || c.out.empty() || c.closing) return;
  std::swap(c.sending, c.out);  // D
  c.out.clear();
  c.sent = 0;
  io_uring_sqe* sqe = prep(c, Op::kSend);
  io_uring_prep_send(sqe, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
  mark_fd(sqe);
  c.send_armed = true;
}

void UringEngine::on_send(Connection& c, int res) {
  if (c.closing || stopping_) return;
  if (res <= 0) {  // D: EPIPE, ECONNRESET, ...
    close_connection(c);
    return;
  }
  c.sent += static_cast<std::size_t>(res);
  if (c.sent < c.sending.size()) {  // D: a short send
    io_uring_sqe* sqe = prep(c, Op::kSend);
    io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent,
                       MSG_NOSIGNAL);
    mark_fd(sqe);
    c.send_armed = true;
    return;
  }
  c.sending.clear();
  start_send(c);
  if (!c.send_armed && c.parser.closing()) close_connection(c);
}

void UringEngine::close_connection(Connection& c) {
  if (c.closing) return;
  c.closing = true;
  if (!stopping_) cancel_requests(c);  // finish_if_done closes it when they are in
}

void UringEngine::cancel_requests(Connection& c) {
  // C: by user_data, one hash lookup each (a cancel by descriptor walks every armed request:
  // O(idle connections) per close).
  for (const Op op : {Op::kRecv, Op::kSend}) {
    if (!(op == Op::kRecv ? c.recv_armed : c.send_armed)) continue;
    io_uring_sqe* sqe = prep(c, Op::kCancel);
    io_uring_prep_cancel64(sqe, tag(op, slot_of(c)), 0);
  }
}

void UringEngine::finish_if_done(Connection& c) {
  if (!c.open || !c.closing || c.inflight > 0 || stopping_) return;
  io_uring_sqe* sqe = get_sqe();  // C
  --inflight_;                    // its CQE is ignored
  if (direct_) {
    io_uring_prep_close_direct(sqe, static_cast<unsigned>(c.fd));
  } else {
    io_uring_prep_close(sqe, c.fd);
  }
  io_uring_sqe_set_data64(sqe, tag(Op::kClose, slot_of(c)));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  c.open = false;
  c.closing = false;
  --stats_.open;
}

void UringEngine::teardown() {
  if (!started_ || stopping_) return;
  stopping_ = true;
  // H: cancel every request, one by one, then reap until the last CQE of each is in.
  for (const Op op : {Op::kAccept, Op::kControl}) {
    if (!(op == Op::kAccept ? accept_armed_ : control_armed_)) continue;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, tag(op, 0), 0);
    io_uring_sqe_set_data64(sqe, tag(Op::kCancel, kNoSlot));
  }
  for (const std::unique_ptr<Connection>& c : connections_) {
    if (c && c->open) cancel_requests(*c);
  }
  while (inflight_ > 0) {
    before_submit();
    const int rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) break;
    reap();
  }
  // Every open connection reset, then closed (H). A direct descriptor gets an fd first.
  std::vector<int> to_reset;
  for (const std::unique_ptr<Connection>& c : connections_) {
    if (!c || !c->open) continue;
    if (!direct_) {
      reset_and_close(c->fd);
    } else {
      io_uring_sqe* install = io_uring_get_sqe(&ring_);
      if (install == nullptr) {
        io_uring_submit(&ring_);
        install = io_uring_get_sqe(&ring_);
      }
      io_uring_prep_rw(kOpFixedFdInstall, install, c->fd, nullptr, 0, 0);
      install->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(install, tag(Op::kInstall, slot_of(*c)));
      to_reset.push_back(c->fd);
    }
    c->open = false;
    c->closing = false;
    --stats_.open;
  }
  if (!to_reset.empty()) {
    std::size_t left = to_reset.size();
    while (left > 0) {
      if (const int rc = io_uring_submit_and_wait(&ring_, 1); rc < 0 && rc != -EINTR) break;
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        if (cqe->res >= 0) reset_and_close(cqe->res);  // the file table keeps its reference
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      left -= std::min<std::size_t>(left, seen);
    }
  }
  // SO_LINGER is the socket's, not the descriptor's: the reset happens when the table's
  // reference, the last one, goes.
  if (direct_) io_uring_unregister_files(&ring_);
}

#endif  // POLLBENCH_HAVE_LIBURING

}  // namespace pollbench::engines
