#include "harness/http_protocol.hpp"

#include <algorithm>

namespace pollbench {
namespace {

// Content-Length of kHttpBody (13) is written out below; the static_assert keeps them together.
static_assert(kHttpBody.size() == 13);
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";
constexpr std::string_view kResponseKeepAlive =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
    "keep-alive\r\n\r\nHello, world\n";
constexpr std::string_view kResponseClose =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: "
    "close\r\n\r\nHello, world\n";

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool icontains(std::string_view text, std::string_view word) noexcept {
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, word.size()), word)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What one request header asks: keep the connection or close it after the response, and how
// many body bytes follow.
struct RequestHead {
  bool keep_alive = true;
  bool http10 = false;
  std::size_t content_length = 0;
};

RequestHead read_head(std::string_view head) {
  RequestHead r;
  std::size_t eol = head.find("\r\n");
  const std::string_view request_line = head.substr(0, eol);
  r.http10 = request_line.ends_with("HTTP/1.0");
  bool said_keep_alive = false;
  bool said_close = false;
  while (eol != std::string_view::npos) {
    const std::size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      said_close = said_close || icontains(value, "close");
      said_keep_alive = said_keep_alive || icontains(value, "keep-alive");
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') break;
        n = n * 10 + static_cast<std::size_t>(c - '0');
      }
      r.content_length = n;
    }
  }
  r.keep_alive = r.http10 ? said_keep_alive && !said_close : !said_close;
  return r;
}

}  // namespace

std::size_t HttpRequestParser::feed(std::string_view data, std::string& out,
                                    std::uint64_t& requests) {
  if (close_after_) return data.size();  // (c, d) nothing more is answered
  std::size_t at = 0;
  while (at < data.size()) {
    if (body_left_ > 0) {  // (a) a body is skipped
      const std::size_t skip = std::min(body_left_, data.size() - at);
      body_left_ -= skip;
      at += skip;
      continue;
    }
    const std::size_t end = data.find("\r\n\r\n", at);
    if (end == std::string_view::npos) {  // (a) wait for the rest, unless it is too long (d)
      if (data.size() - at < kMaxHttpHeader) return at;
      close_after_ = true;
      return data.size();
    }
    const RequestHead head = read_head(data.substr(at, end - at));
    at = end + 4;
    body_left_ = head.content_length;
    ++requests;
    if (!head.keep_alive) {
      out.append(kResponseClose);
      close_after_ = true;  // (c) what follows on this connection is not answered
      return data.size();
    }
    out.append(head.http10 ? kResponseKeepAlive : kResponse);
  }
  return at;
}

}  // namespace pollbench
