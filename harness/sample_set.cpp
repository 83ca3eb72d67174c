#include "harness/sample_set.hpp"

#include <algorithm>
#include <cmath>

namespace pollbench {

SampleSet::SampleSet(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  kept_.reserve(capacity_);
}

void SampleSet::clear() noexcept {
  kept_.clear();
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
  sorted_ = true;
}

void SampleSet::add(std::int64_t value) noexcept {
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = count_ == 0 ? value : std::max(max_, value);
  sum_ += static_cast<double>(value);
  ++count_;
  sorted_ = false;
  if (kept_.size() < capacity_) {
    kept_.push_back(value);  // capacity reserved at construction: no allocation
    return;
  }
  // Algorithm R: the sample replaces a kept one with probability capacity / count.
  rng_ ^= rng_ << 13U;
  rng_ ^= rng_ >> 7U;
  rng_ ^= rng_ << 17U;
  const std::size_t j = rng_ % count_;
  if (j < capacity_) kept_[j] = value;
}

double SampleSet::mean() const noexcept {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

std::int64_t SampleSet::percentile(double q) {
  if (kept_.empty()) return 0;
  if (!sorted_) {
    std::sort(kept_.begin(), kept_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(kept_.size()));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return kept_[std::min(index, kept_.size() - 1)];
}

}  // namespace pollbench
