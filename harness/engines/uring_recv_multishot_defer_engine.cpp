// uring_recv_multishot_defer: uring_recv_multishot (a multishot recv per connection over a
// provided-buffer ring) on the ring set-up the io_uring authors recommend for a server
// whose loop is one thread: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, the
// ring's own fd registered, and registered (direct) descriptors for the connections. Its
// shared quirks are uring_engine.cpp's A-J and uring_recv_multishot_engine.cpp's a-f.
//
// Quirks this file handles:
//  a) DEFER_TASKRUN: completions are not posted by task work interrupting the thread (an
//     IPI and a signal-style return to user space) but only when the thread enters the
//     kernel asking for events — which the loop's one io_uring_submit_and_wait per turn
//     does. COOP_TASKRUN is not added: it only matters without DEFER_TASKRUN.
//  b) DEFER_TASKRUN needs SINGLE_ISSUER, and a SINGLE_ISSUER ring takes submissions from the
//     thread that created it — or, created IORING_SETUP_R_DISABLED, from the one that
//     enables it: run() enables it, since the server process and the tests construct the
//     loop in one thread and run it in another (H). A kernel that refuses the flags
//     (EINVAL before Linux 6.1) makes the engine unavailable with that reason.
//  c) io_uring_register_ring_fd: the enter skips the ring fd's lookup; it is per thread,
//     so run() registers it. A refusal costs only the lookup, and is ignored.
//  d) Direct descriptors: the multishot accept installs each connection in a slot of a
//     sparse registered file table (IORING_FILE_INDEX_ALLOC), sized to RLIMIT_NOFILE (the
//     kernel refuses a larger table with EMFILE); a full table fails the accept with
//     -ENFILE, counted in accept_errors (E). recv and send name the slot with
//     IOSQE_FIXED_FILE, the close is IORING_OP_CLOSE on the slot (io_uring_prep_close_direct).
//     No per-request file reference is taken.
//  e) A direct descriptor has no fd for setsockopt: TCP_NODELAY comes from the listener (F),
//     and the teardown's SO_LINGER reset installs each open slot as an fd first
//     (IORING_OP_FIXED_FD_INSTALL, Linux 6.8), sets SO_LINGER 0 on it, closes it, and drops
//     the table, whose reference was the socket's last.
//  f) An idle connection costs what it does in uring_recv_multishot, less its fd, plus a
//     table slot (8 bytes in the kernel).
#include <memory>
#include <string_view>

#include "harness/engines/uring_recv_multishot_engine.hpp"
#include "harness/server_loop.hpp"

#if POLLBENCH_HAVE_LIBURING
#include <liburing.h>
#endif

namespace pollbench {
namespace {

#if POLLBENCH_HAVE_LIBURING
constexpr unsigned kFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;  // a, b
#else
constexpr unsigned kFlags = 0;  // make_multishot_recv_engine says why it is unavailable
#endif

}  // namespace

std::unique_ptr<ServerLoop> make_uring_recv_multishot_defer_engine(int listener) {
  return engines::make_multishot_recv_engine(listener, {.who = "uring_recv_multishot_defer",
                                                        .flags = kFlags,
                                                        .direct = true,
                                                        .register_ring = true});
}

}  // namespace pollbench
