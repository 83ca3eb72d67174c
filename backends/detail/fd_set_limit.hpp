// The largest fd number an fd_set holds, written once for everything that uses select(2)'s
// sets: the registry rows of select and of libevent over select (their max_fd), the select
// backend's arrays and checks, libevent_poller.cpp's refusal (its quirk f) and the bare select
// loop of bench/raw.cpp. FD_SET on a larger fd writes past the end of the fd_set (a fortified
// build aborts instead), so each of them refuses such fds rather than restating FD_SETSIZE.
#pragma once

#include <sys/select.h>

namespace pollbench::detail {

inline constexpr int kFdSetMaxFd = FD_SETSIZE - 1;

}  // namespace pollbench::detail
