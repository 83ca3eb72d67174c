// io_uring set-up, shared by the io_uring backends (backends/uring_poller.cpp) and the bare
// io_uring loop of the raw benchmark (bench/raw.cpp), so that both are turned off by the same
// switch and ask the kernel for the same kind of ring.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "backends/poller.hpp"

#if POLLBENCH_HAVE_LIBURING
#include <liburing.h>
#endif

namespace pollbench::detail {

// POLLBENCH_DISABLE_IO_URING=<anything but empty or 0> turns io_uring off for the whole suite,
// as a kernel that refuses it would (seccomp, kernel.io_uring_disabled): the io_uring rows are
// then listed as unavailable and skipped with that reason.
inline bool io_uring_disabled() noexcept {
  const char* off = std::getenv("POLLBENCH_DISABLE_IO_URING");
  return off != nullptr && *off != '\0' && std::string_view(off) != "0";
}

// Throws std::system_error(ENOSYS) "io_uring disabled by POLLBENCH_DISABLE_IO_URING" when
// io_uring_disabled().
inline void check_io_uring_enabled() {
  if (io_uring_disabled()) {
    throw std::system_error(ENOSYS, std::generic_category(),
                            "io_uring disabled by POLLBENCH_DISABLE_IO_URING");
  }
}

#if POLLBENCH_HAVE_LIBURING

// Sets up `ring` with sq_entries SQEs and room for cq_entries CQEs (IORING_SETUP_CQSIZE), plus
// IORING_SETUP_SUBMIT_ALL where the kernel has it (Linux 5.18; without it a submit stops at the
// first SQE that fails). Returns the kernel's IORING_FEAT_* bits; the caller owns the ring from
// then on (io_uring_queue_exit). Throws std::system_error "<who>: io_uring_queue_init_params"
// with the kernel's errno if no ring can be had. Does not look at POLLBENCH_DISABLE_IO_URING:
// check that first.
inline unsigned init_ring(io_uring& ring, unsigned sq_entries, unsigned cq_entries,
                          std::string_view who) {
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = cq_entries;
  int rc = io_uring_queue_init_params(sq_entries, &ring, &params);
  if (rc == -EINVAL) {  // a kernel older than 5.18 (SUBMIT_ALL): CQSIZE alone
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = cq_entries;
    rc = io_uring_queue_init_params(sq_entries, &ring, &params);
  }
  if (rc < 0) throw_errno(-rc, who, "io_uring_queue_init_params");
  return params.features;
}

#endif  // POLLBENCH_HAVE_LIBURING

}  // namespace pollbench::detail
