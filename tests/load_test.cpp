// The fixed-rate load generator's two fixed-size parts (tools/load.cpp): the latency histogram
// (every value lands in a bucket at most 1/64 of it wide, quantiles by rank) and the response
// parser (a response in any pieces, its end by Content-Length or by the connection's end, what
// it refuses). Its behaviour against servers is tests/python/test_load.py.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "harness/http_response_parser.hpp"
#include "harness/latency_histogram.hpp"

namespace pollbench {
namespace {

using Result = HttpResponseParser::Result;

// What pollbench-server answers (harness/http_server.cpp), byte for byte.
constexpr std::string_view kServerResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";

// --- histogram -----------------------------------------------------------------------------

// The smallest value of bucket i: one above the previous bucket's largest.
std::uint64_t lower_bound(std::size_t i) {
  return i == 0 ? 0 : LatencyHistogram::upper_bound(i - 1) + 1;
}

void expect_in_own_bucket(std::uint64_t ns) {
  const std::size_t i = LatencyHistogram::index(ns);
  ASSERT_LT(i, LatencyHistogram::kBuckets) << ns;
  EXPECT_LE(lower_bound(i), ns) << "bucket " << i;
  EXPECT_GE(LatencyHistogram::upper_bound(i), ns) << "bucket " << i;
  // width relative to the bucket's values: at most 1/64 (exact below 64 ns)
  const std::uint64_t width = LatencyHistogram::upper_bound(i) - lower_bound(i) + 1;
  EXPECT_LE(width * 64, std::max<std::uint64_t>(lower_bound(i), 64)) << ns;
}

TEST(LatencyHistogram, EveryValueLandsInABucketThatHoldsItAndIsAtMostOneSixtyFourthWide) {
  for (std::uint64_t ns = 0; ns < 200'000; ++ns) expect_in_own_bucket(ns);
  std::mt19937_64 random(7);
  const std::uint64_t top = (std::uint64_t{1} << (LatencyHistogram::kTopBit + 1)) - 1;
  for (int n = 0; n < 200'000; ++n) expect_in_own_bucket(random() % top);
  expect_in_own_bucket(top);
  EXPECT_EQ(LatencyHistogram::index(top), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, BucketsAreContiguousAndIncreasing) {
  for (std::size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::index(lower_bound(i)), i);
    ASSERT_EQ(LatencyHistogram::index(LatencyHistogram::upper_bound(i)), i);
    ASSERT_GT(LatencyHistogram::upper_bound(i), LatencyHistogram::upper_bound(i - 1));
  }
}

TEST(LatencyHistogram, ValuesBeyondTheRangeAreCountedInTheLastBucketWithTheirExactMaximum) {
  LatencyHistogram h;
  const std::uint64_t huge = std::uint64_t{1} << 50;
  EXPECT_EQ(LatencyHistogram::index(huge), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::index(~std::uint64_t{0}), LatencyHistogram::kBuckets - 1);
  h.record(huge);
  EXPECT_EQ(h.count(), 1U);
  EXPECT_EQ(h.max(), huge);
  EXPECT_EQ(h.quantile(50'000), LatencyHistogram::upper_bound(LatencyHistogram::kBuckets - 1));
}

TEST(LatencyHistogram, QuantilesAreTheValueOfTheirRankToWithinTheBucket) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(99'000), 0U);                                 // nothing recorded
  for (std::uint64_t us = 1; us <= 1000; ++us) h.record(us * 1000);  // 1 us .. 1 ms
  EXPECT_EQ(h.count(), 1000U);
  EXPECT_EQ(h.max(), 1'000'000U);
  const auto expect_near = [&](std::uint64_t parts, std::uint64_t exact) {
    const std::uint64_t got = h.quantile(parts);
    EXPECT_GE(got, exact) << parts;
    EXPECT_LE(got, exact + exact / 64) << parts;
  };
  expect_near(50'000, 500'000);  // rank 500
  expect_near(90'000, 900'000);
  expect_near(99'000, 990'000);
  expect_near(99'900, 999'000);
  EXPECT_EQ(h.quantile(100'000), 1'000'000U);  // never above the maximum
  expect_near(1, 1000);                        // rank 1: the smallest
}

TEST(LatencyHistogram, OneSlowValueInAThousandIsTheP999NotTheP99) {
  LatencyHistogram h;
  for (int n = 0; n < 999; ++n) h.record(50'000);
  h.record(300'000'000);
  EXPECT_LT(h.quantile(99'000), 51'000U);
  EXPECT_LT(h.quantile(99'900), 51'000U);  // rank 999 of 1000
  EXPECT_EQ(h.quantile(100'000), 300'000'000U);
  h.record(300'000'000);  // 2 of 1001: now inside the top 0.1%
  EXPECT_GE(h.quantile(99'900), 300'000'000U);
}

// --- response parser -----------------------------------------------------------------------

Result feed(HttpResponseParser& p, std::string_view bytes) {
  return p.feed(bytes.data(), bytes.size());
}

TEST(HttpResponseParser, ReadsTheServersResponseInOnePiece) {
  HttpResponseParser p;
  EXPECT_EQ(feed(p, kServerResponse), Result::kDone);
  EXPECT_EQ(p.status(), 200);
  EXPECT_TRUE(p.keep_alive());
}

TEST(HttpResponseParser, ReadsItSplitAtEveryPossiblePlace) {
  for (std::size_t cut = 1; cut < kServerResponse.size(); ++cut) {
    HttpResponseParser p;
    EXPECT_EQ(feed(p, kServerResponse.substr(0, cut)), Result::kMore) << cut;
    EXPECT_TRUE(p.started());
    EXPECT_EQ(feed(p, kServerResponse.substr(cut)), Result::kDone) << cut;
  }
}

TEST(HttpResponseParser, ReadsItOneByteAtATimeAndAgainAfterReset) {
  HttpResponseParser p;
  for (int round = 0; round < 2; ++round) {
    p.reset();
    EXPECT_FALSE(p.started());
    for (std::size_t i = 0; i + 1 < kServerResponse.size(); ++i) {
      ASSERT_EQ(feed(p, kServerResponse.substr(i, 1)), Result::kMore) << i;
    }
    EXPECT_EQ(feed(p, kServerResponse.substr(kServerResponse.size() - 1)), Result::kDone);
  }
}

TEST(HttpResponseParser, TheBodyEndsByContentLengthWhateverItsSize) {
  const std::string body(100'000, 'x');
  const std::string response = "HTTP/1.1 200 OK\r\ncontent-LENGTH:  100000 \r\n\r\n" + body;
  HttpResponseParser p;
  const std::string_view all = response;
  EXPECT_EQ(feed(p, all.substr(0, 70'000)), Result::kMore);
  EXPECT_EQ(feed(p, all.substr(70'000)), Result::kDone);

  HttpResponseParser empty;
  EXPECT_EQ(feed(empty, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), Result::kDone);
  EXPECT_EQ(empty.status(), 204);
}

TEST(HttpResponseParser, WhetherTheConnectionStaysOpen) {
  const auto keep_alive = [](std::string_view head) {
    HttpResponseParser p;
    EXPECT_EQ(feed(p, head), Result::kDone) << head;
    return p.keep_alive();
  };
  EXPECT_TRUE(keep_alive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep_alive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(keep_alive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
}

TEST(HttpResponseParser, WithoutContentLengthTheBodyRunsToTheEndOfTheConnection) {
  HttpResponseParser p;
  EXPECT_EQ(p.end_of_input(), Result::kError);  // nothing yet: no response
  EXPECT_EQ(feed(p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nHello"), Result::kMore);
  EXPECT_EQ(feed(p, ", world\n"), Result::kMore);
  EXPECT_EQ(p.end_of_input(), Result::kDone);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpResponseParser, TheConnectionEndingBeforeTheEndIsAnError) {
  for (std::size_t cut = 0; cut < kServerResponse.size(); ++cut) {
    HttpResponseParser p;
    if (cut > 0) {
      ASSERT_EQ(feed(p, kServerResponse.substr(0, cut)), Result::kMore);
    }
    EXPECT_EQ(p.end_of_input(), Result::kError) << cut;
  }
}

TEST(HttpResponseParser, RefusesWhatItCannotRead) {
  const auto result = [](std::string_view bytes) {
    HttpResponseParser p;
    return feed(p, bytes);
  };
  EXPECT_EQ(result(std::string(kServerResponse) + "X"), Result::kError);  // bytes after the end
  EXPECT_EQ(result("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n"), Result::kError);
  EXPECT_EQ(result("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"), Result::kError);
  EXPECT_EQ(result("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"), Result::kError);
  EXPECT_EQ(result("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"), Result::kError);
  EXPECT_EQ(result("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"), Result::kError);
  EXPECT_EQ(result("SSH-2.0-OpenSSH\r\n\r\n"), Result::kError);
  const std::string long_head =
      "HTTP/1.1 200 OK\r\nX: " + std::string(HttpResponseParser::kMaxHead, 'a') + "\r\n\r\n";
  EXPECT_EQ(result(long_head), Result::kError);
  // once refused, it stays refused until reset
  HttpResponseParser p;
  EXPECT_EQ(feed(p, "HTTP/9"), Result::kMore);
  EXPECT_EQ(feed(p, ".9 200 OK\r\n\r\n"), Result::kError);
  EXPECT_EQ(feed(p, kServerResponse), Result::kError);
  p.reset();
  EXPECT_EQ(feed(p, kServerResponse), Result::kDone);
}

}  // namespace
}  // namespace pollbench
