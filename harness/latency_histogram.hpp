#pragma once

// A fixed log-linear histogram of latencies in nanoseconds, for the fixed-rate load generator
// (tools/load.cpp): recording never allocates, so it can sit in a timed loop.
//
// Layout (HdrHistogram's, with 6 sub-bucket bits): values below 64 ns have a bucket each; above,
// every power of two [2^m, 2^(m+1)) is cut into 64 equal buckets, so a bucket is at most 1/64
// of its values wide and a quantile read back is within 1/64 (1.6%) above the true one. The top
// octave is [2^37, 2^38) ns, 137-275 s; larger values are counted in its last bucket (the exact
// maximum is kept apart). 2,112 buckets, 17 KiB.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace pollbench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;  // 64
  static constexpr int kTopBit = 37;  // the last octave starts at 2^37 ns
  static constexpr std::size_t kBuckets =
      kSubBuckets + static_cast<std::size_t>(kTopBit - kSubBucketBits + 1) * kSubBuckets;

  // The bucket that holds `ns`.
  static constexpr std::size_t index(std::uint64_t ns) noexcept {
    if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
    // bit_width is int since C++23 (LWG 3656), the argument's type in older libraries.
    const int msb = std::min(static_cast<int>(std::bit_width(ns)) - 1, kTopBit);
    if (msb == kTopBit && (ns >> kTopBit) > 1) return kBuckets - 1;  // beyond the range
    const int shift = msb - kSubBucketBits;
    const std::uint64_t sub = (ns >> shift) - kSubBuckets;  // 0..63
    return static_cast<std::size_t>(kSubBuckets + static_cast<std::uint64_t>(shift) * kSubBuckets +
                                    sub);
  }

  // The largest value bucket `i` holds.
  static constexpr std::uint64_t upper_bound(std::size_t i) noexcept {
    if (i < kSubBuckets) return i;
    const std::uint64_t shift = (i - kSubBuckets) / kSubBuckets;
    const std::uint64_t sub = (i - kSubBuckets) % kSubBuckets;
    return ((kSubBuckets + sub + 1) << shift) - 1;
  }

  void record(std::uint64_t ns) noexcept {
    ++counts_[index(ns)];
    ++total_;
    max_ = std::max(max_, ns);
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }

  // The smallest recorded value v (to the bucket's upper end, never above the maximum) such
  // that at least parts_per_100k / 100,000 of the values are <= v; 0 when nothing was recorded.
  [[nodiscard]] std::uint64_t quantile(std::uint64_t parts_per_100k) const noexcept {
    if (total_ == 0) return 0;
    const std::uint64_t rank =
        std::max<std::uint64_t>(1, (total_ * parts_per_100k + 99'999) / 100'000);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace pollbench
