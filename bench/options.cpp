#include "bench/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "backends/registry.hpp"
#include "harness/did_you_mean.hpp"
#include "harness/fd_pool.hpp"
#include "harness/server_loop.hpp"

namespace pollbench::bench {
namespace {

[[noreturn]] void usage_error(std::string_view line) {
  fmt::print(stderr, "pollbench-bench: {}\n", line);
  std::exit(2);
}

// The comma-separated items of `list` ("" is one empty item).
std::vector<std::string_view> items(std::string_view list) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The registry rows and server engines (harness/server_loop.hpp) `list` names, each in its
// order without repeats.
void parse_rows(std::string_view list, Rows& rows, std::vector<std::string>& engines) {
  if (list.find_first_not_of(',') == std::string_view::npos) {
    // An empty list is refused like an empty --filter, not read as "every backend".
    usage_error(
        "--backend needs a comma-separated list of backends (names as in ./pollbench list)");
  }
  std::vector<std::string_view> known;
  for (const Backend& k : backends()) known.push_back(k.name);
  for (const ServerEngine& e : server_engines()) known.push_back(e.name);
  for (const std::string_view name : items(list)) {
    if (const Backend* b = find_backend(name)) {
      if (std::find(rows.begin(), rows.end(), b) == rows.end()) rows.push_back(b);
      continue;
    }
    if (find_server_engine(name) != nullptr) {
      if (std::find(engines.begin(), engines.end(), name) == engines.end()) {
        engines.emplace_back(name);
      }
      continue;
    }
    std::string names;
    for (const std::string_view k : known)
      names += fmt::format("{}{}", names.empty() ? "" : ", ", k);
    usage_error(
        fmt::format("unknown backend '{}' (known: {}){}", name, names, did_you_mean(name, known)));
  }
}

// "16,1024" -> {16, 1024}.
std::vector<std::int64_t> parse_sizes(std::string_view flag, std::string_view list) {
  std::vector<std::int64_t> out;
  for (const std::string_view item : items(list)) {
    const std::string text(item);
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size() || value < 1) {
      usage_error(fmt::format("{}: '{}' is not a positive whole number", flag, text));
    }
    out.push_back(value);
  }
  return out;
}

// The value of `--pollbench_<name>=VALUE` in `arg`, or nullopt.
std::optional<std::string_view> value_of(std::string_view arg, std::string_view name) {
  const std::string prefix = fmt::format("--pollbench_{}=", name);
  if (!arg.starts_with(prefix)) return std::nullopt;
  return arg.substr(prefix.size());
}

}  // namespace

Options take_options(std::vector<std::string>& args) {
  Options o;
  std::optional<std::string> backend_list;
  std::string fds_list;
  std::string active_list;
  std::optional<std::string> fd_kind;
  std::erase_if(args, [&](const std::string& arg) {
    // Stores the value if `arg` is --pollbench_<name>=VALUE.
    const auto take = [&arg](std::string_view name, auto& into) {
      const auto value = value_of(arg, name);
      if (value) into = std::string(*value);
      return value.has_value();
    };
    if (arg == "--pollbench_quick") {
      o.config.quick = true;
      return true;
    }
    if (arg == "--pollbench_plan") {
      o.print_plan = true;
      return true;
    }
    return take("fds", fds_list) || take("active", active_list) || take("backends", backend_list) ||
           take("fd_kind", fd_kind) || take("cpu", o.cpu_list);
  });
  if (fd_kind) {
    try {
      o.config.fd_kind = parse_fd_kind(*fd_kind);
    } catch (const std::invalid_argument& e) {
      usage_error(fmt::format("--fd-kind: {}", e.what()));
    }
  }
  if (backend_list) {
    parse_rows(*backend_list, o.rows, o.engines);
  } else {
    for (const Backend& b : backends()) o.rows.push_back(&b);
    for (const ServerEngine& e : server_engines()) o.engines.emplace_back(e.name);
  }
  if (!active_list.empty() && fds_list.empty()) {
    usage_error("--active (--pollbench_active) needs --fds (--pollbench_fds)");
  }
  if (!fds_list.empty()) {
    o.fds = parse_sizes("--fds", fds_list);
    o.actives =
        active_list.empty() ? std::vector<std::int64_t>{1} : parse_sizes("--active", active_list);
  }
  return o;
}

}  // namespace pollbench::bench
