// The multishot-recv engine with a provided-buffer ring (uring_recv_multishot_engine.cpp),
// built with the ring set-up a row asks for: uring_recv_multishot and
// uring_recv_multishot_defer share it.
#pragma once

#include <memory>

#include "harness/engines/uring_engine.hpp"
#include "harness/server_loop.hpp"

namespace pollbench::engines {

// Throws std::system_error naming the refused call.
std::unique_ptr<ServerLoop> make_multishot_recv_engine(int listener, const UringSetup& setup);

}  // namespace pollbench::engines
