// A bounded sample buffer with exact min/max/mean and nearest-rank percentiles: what a rig's
// latencies are kept in. add() runs on timed paths: it never allocates, logs or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pollbench {

// Up to `capacity` samples kept (a uniform reservoir beyond that), reserved at construction;
// count, min, max and mean cover every sample added.
class SampleSet {
 public:
  explicit SampleSet(std::size_t capacity);
  void clear() noexcept;
  void add(std::int64_t value) noexcept;
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] std::int64_t min() const noexcept { return min_; }
  [[nodiscard]] std::int64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept;
  // Nearest-rank percentile of the kept samples, q in [0, 1]; 0 when empty. Sorts them: not
  // for timed paths.
  [[nodiscard]] std::int64_t percentile(double q);

 private:
  std::vector<std::int64_t> kept_;
  std::size_t capacity_;
  std::size_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  bool sorted_ = true;
};

}  // namespace pollbench
