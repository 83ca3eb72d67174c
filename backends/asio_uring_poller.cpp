// asio_uring: the Asio backend of asio_poller.cpp on Asio's io_uring service (ASIO_HAS_IO_URING
// with ASIO_DISABLE_EPOLL: io_uring for every descriptor), compiled a second time with its
// namespace renamed (asio_poller.cpp, quirks a and b). Built when asio.hpp and liburing are
// found (Debian: libasio-dev, liburing-dev); otherwise listed as unavailable.
#define POLLBENCH_ASIO_IO_URING 1
#include "backends/asio_poller.cpp"  // NOLINT(bugprone-suspicious-include): one class, two builds
