#pragma once

// One HTTP/1.x response, read in whatever pieces the socket delivers, for the fixed-rate load
// generator (tools/load.cpp). Fixed storage, no allocation: it is fed in the timed loop.
//
// What it handles:
//  a) A response split anywhere, down to one byte per read, the header's end included.
//  b) The body's end by Content-Length; without one, the body runs to the end of the
//     connection (end_of_input()), as HTTP/1.x allows for a response that closes.
//  c) Whether the connection stays open: HTTP/1.1 unless "Connection: close", HTTP/1.0 only
//     with "Connection: keep-alive". Header names and these values are matched without case.
//  d) What it cannot read is an error, never a guess: a header over kMaxHead bytes, a status
//     line that is not "HTTP/1.x NNN", Transfer-Encoding (chunked bodies are not needed here),
//     a malformed Content-Length, and bytes after the response's end (nothing was asked
//     for: the generator never pipelines).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace pollbench {

class HttpResponseParser {
 public:
  static constexpr std::size_t kMaxHead = 2048;
  enum class Result { kMore, kDone, kError };

  // Ready for the next response (the header's bytes are overwritten, not cleared).
  void reset() noexcept {
    head_len_ = 0;
    in_body_ = failed_ = has_length_ = keep_alive_ = false;
    body_left_ = 0;
    status_ = 0;
  }

  // Takes the next `n` bytes of the connection. kDone: the response is complete (and took all
  // `n` bytes); kMore: more is needed; kError: the response cannot be read (see d).
  Result feed(const char* data, std::size_t n) noexcept {
    if (failed_) return Result::kError;
    std::size_t i = 0;
    if (!in_body_) {
      while (i < n && !in_body_) {
        if (head_len_ == kMaxHead) return fail();
        head_[head_len_++] = data[i++];
        if (head_len_ >= 4 && std::memcmp(&head_[head_len_ - 4], "\r\n\r\n", 4) == 0) {
          if (!read_head()) return fail();
          in_body_ = true;
        }
      }
      if (!in_body_) return Result::kMore;
    }
    if (!has_length_) return Result::kMore;  // to the end of input: everything is body
    const std::size_t rest = n - i;
    if (rest > body_left_) return fail();  // bytes after the response
    body_left_ -= rest;
    return body_left_ == 0 ? Result::kDone : Result::kMore;
  }

  // The connection ended: kDone if that ends this response (a body without Content-Length).
  [[nodiscard]] Result end_of_input() const noexcept {
    return in_body_ && !has_length_ && !failed_ ? Result::kDone : Result::kError;
  }

  // Whether any byte of the response has arrived.
  [[nodiscard]] bool started() const noexcept { return head_len_ > 0; }
  [[nodiscard]] int status() const noexcept { return status_; }
  [[nodiscard]] bool keep_alive() const noexcept { return keep_alive_; }

 private:
  Result fail() noexcept {
    failed_ = true;
    return Result::kError;
  }

  static char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  static bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
  }
  static bool icontains(std::string_view text, std::string_view word) noexcept {
    for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
      if (iequals(text.substr(i, word.size()), word)) return true;
    }
    return false;
  }
  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  bool read_head() noexcept {
    const std::string_view head(head_.data(), head_len_ - 2);  // each line ends in \r\n
    std::size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.x NNN reason"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[9] < '0' ||
        status_line[9] > '9' || status_line[10] < '0' || status_line[10] > '9' ||
        status_line[11] < '0' || status_line[11] > '9' || status_line[8] != ' ') {
      return false;
    }
    const bool http10 = status_line[7] == '0';
    status_ = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
    bool said_close = false;
    bool said_keep_alive = false;
    while (eol != std::string_view::npos) {
      const std::size_t start = eol + 2;
      eol = head.find("\r\n", start);
      const std::string_view line =
          head.substr(start, eol == std::string_view::npos ? eol : eol - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length")) {
        if (value.empty() || value.size() > 15) return false;
        std::uint64_t length = 0;
        for (const char c : value) {
          if (c < '0' || c > '9') return false;
          length = length * 10 + static_cast<std::uint64_t>(c - '0');
        }
        has_length_ = true;
        body_left_ = length;
      } else if (iequals(name, "transfer-encoding")) {
        return false;
      } else if (iequals(name, "connection")) {
        said_close = said_close || icontains(value, "close");
        said_keep_alive = said_keep_alive || icontains(value, "keep-alive");
      }
    }
    keep_alive_ = has_length_ && (http10 ? said_keep_alive && !said_close : !said_close);
    return true;
  }

  std::array<char, kMaxHead> head_{};
  std::size_t head_len_ = 0;
  bool in_body_ = false;
  bool failed_ = false;
  bool has_length_ = false;
  bool keep_alive_ = false;
  std::uint64_t body_left_ = 0;
  int status_ = 0;
};

}  // namespace pollbench
