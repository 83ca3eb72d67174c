// The known name a mistyped one most likely meant, for the "did you mean" of a one-line usage
// error (an unknown backend, fd kind, ...).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pollbench {

namespace detail {

// Lower case without separators: case and '-' for '_' are the usual slips (EPOLL-LT).
inline std::string folded(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace detail

// The known name equal to `name` but for case and separators, else the nearest within a third
// of its length in edits; nullopt when none is close enough to be the one meant.
inline std::optional<std::string_view> closest_name(std::string_view name,
                                                    std::span<const std::string_view> known) {
  const std::string mine = detail::folded(name);
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(1, mine.size() / 3) + 1;
  for (const std::string_view k : known) {
    const std::size_t d = detail::edit_distance(mine, detail::folded(k));
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

// "; did you mean 'epoll_lt'?" or "".
inline std::string did_you_mean(std::string_view name, std::span<const std::string_view> known) {
  const auto close = closest_name(name, known);
  return close ? "; did you mean '" + std::string(*close) + "'?" : std::string();
}

}  // namespace pollbench
