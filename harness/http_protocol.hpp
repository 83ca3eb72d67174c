// The HTTP/1.1 side of the server scenario, written once for every server loop: the readiness
// loop (harness/http_server.cpp) and the io_uring completion engines (harness/engines/) feed
// each connection's received bytes to its HttpRequestParser and write what it queues.
//
// What it handles:
//   a. Partial requests: feed() answers only complete requests (a header up to its blank
//      line, then a Content-Length body, skipped) and says how many bytes it used; the caller
//      keeps the rest and feeds it again with what arrives next.
//   b. Pipelined requests: every complete request of the bytes fed is answered, in order.
//   c. Keep-alive: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 (ab)
//      closes it unless `Connection: keep-alive`, and the response then says keep-alive.
//   d. A header longer than kMaxHttpHeader: nothing more is answered on the connection, which
//      closes once what was answered is written (as after a `Connection: close`).
//
// feed() appends to the caller's output buffer and allocates nothing else: a connection's
// buffers keep their capacity for its life.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pollbench {

// The response to every request (a fixed body).
inline constexpr std::string_view kHttpBody = "Hello, world\n";

// A request header longer than this is refused (d).
inline constexpr std::size_t kMaxHttpHeader = 8192;

// One connection's parse state between the reads.
class HttpRequestParser {
 public:
  // Answers every complete request at the front of `data` (a, b), appending one response each
  // to `out` and counting it in `requests`. Returns the bytes used; the caller keeps
  // data[used..] and feeds it again, in front of the next bytes. Once closing(), it uses
  // everything and answers nothing.
  std::size_t feed(std::string_view data, std::string& out, std::uint64_t& requests);

  // The last answered request asked to close, or a header was too long (c, d): the
  // connection closes once its output is written, and what else arrives is dropped.
  [[nodiscard]] bool closing() const noexcept { return close_after_; }

  // A new connection.
  void reset() noexcept { *this = HttpRequestParser{}; }

 private:
  bool close_after_ = false;
  std::size_t body_left_ = 0;  // Content-Length bytes still to skip (a)
};

}  // namespace pollbench
