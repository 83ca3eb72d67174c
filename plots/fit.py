"""Scaling fits: the slope of log(cost) against log(N), with a 95% confidence interval.

A slope of ~1 means cost grows linearly with N (O(N)), ~0 means it does not grow (O(1)).
Standard library only: the t quantile comes from stats.py's table, not from scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import stats

def t975(df: int) -> float:
    """t quantile for a two-sided 95% interval with df degrees of freedom (df >= 1)."""
    return stats.t_quantile(0.95, df)


@dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float          # log(cost) at log(N) = 0, natural logs
    ci_low: float | None      # None when there are too few points for an interval
    ci_high: float | None
    points: int
    n_min: float
    n_max: float

    @property
    def half_width(self) -> float | None:
        return None if self.ci_low is None else (self.ci_high - self.ci_low) / 2

    def predict(self, n: float) -> float:
        return math.exp(self.intercept + self.slope * math.log(n))

    def describe(self) -> str:
        """'0.98 [0.91, 1.05]' — the slope and its 95% interval."""
        if self.ci_low is None:
            return f"{self.slope:.2f} [no interval: {self.points} points]"
        return f"{self.slope:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}]"

    def complexity(self) -> str:
        """The measured growth in words, read from the slope's 95% interval, not from the
        slope alone: "linear" when the interval holds 1, "flat" when it lies within ±FLAT,
        "worse than linear" when it lies above 1, "below linear" when it lies between (an
        O(N) cost plus a fixed per-call cost that still weighs at these N has a log-log
        slope below 1: see linear_fit). Without an interval (two sizes) the slope is read
        with the same bounds and says so."""
        if self.half_width is not None and self.half_width > 0.3:
            return "unclear: interval too wide"
        lo, hi = (self.ci_low, self.ci_high) if self.ci_low is not None else \
            (self.slope, self.slope)
        tail = "" if self.ci_low is not None else " (no interval: two sizes)"
        if lo <= 1.0 <= hi:
            return "O(N): linear" + tail
        if -FLAT <= lo and hi <= FLAT:
            return "O(1): flat" + tail
        if lo > 1.0:
            return f"≈N^{self.slope:.1f}: worse than linear" + tail
        if lo >= 0.5:
            return f"below linear (≈N^{self.slope:.2f}): O(N) plus a fixed cost" + tail
        if hi < -FLAT:
            return f"falls with N (≈N^{self.slope:.2f})" + tail
        return f"between O(1) and O(N) (≈N^{self.slope:.2f})" + tail


# A slope whose whole interval lies within ±FLAT is flat: over the sweep's 512× range in N
# that is less than 512^0.15 ≈ 2.5× — and in practice the flat rows' intervals lie within
# ±0.1 and the O(N) rows' reach 0.75 and above.
FLAT = 0.15


@dataclass(frozen=True)
class LinearFit:
    """cost ≈ fixed + per_item · N (least squares on the medians): what a log-log slope
    below 1 hides. Its local log-log slope is per_item·N / (fixed + per_item·N)."""
    fixed: float
    per_item: float

    def local_slope(self, n: float) -> float:
        v = self.fixed + self.per_item * n
        return self.per_item * n / v if v > 0 else float("nan")


def linear_fit(xs, ys) -> LinearFit | None:
    """The line y = a + b·x that minimises the squared *relative* errors ((y - a - b·x) / y,
    i.e. weights 1/y²): every N counts alike, as on the log-log chart, instead of the largest
    N deciding the fixed cost alone. None with fewer than two distinct x."""
    pts = [(x, y) for x, y in zip(xs, ys) if y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    w = [1.0 / (y * y) for _, y in pts]
    sw = sum(w)
    mx = sum(wi * x for wi, (x, _) in zip(w, pts)) / sw
    my = sum(wi * y for wi, (_, y) in zip(w, pts)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, (x, _) in zip(w, pts))
    b = sum(wi * (x - mx) * (y - my) for wi, (x, y) in zip(w, pts)) / sxx
    return LinearFit(my - b * mx, b)


def loglog_fit(xs, ys) -> Fit:
    """Least-squares line through (log x, log y) with a 95% interval on the slope.

    Points may repeat an x (one point per repetition): the interval then reflects both the
    noise between repetitions and how far the data is from a straight line.
    """
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    n = len(pts)
    if n < 2:
        raise ValueError("need at least two positive points to fit a slope")
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        raise ValueError("need at least two distinct N to fit a slope")
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    slope = sxy / sxx
    intercept = my - slope * mx
    lo = hi = None
    if n > 2:
        ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in pts)
        se = math.sqrt(ss_res / (n - 2) / sxx)
        half = t975(n - 2) * se
        lo, hi = slope - half, slope + half
    xs_pos = [x for x in xs if x > 0]
    return Fit(slope, intercept, lo, hi, n, min(xs_pos), max(xs_pos))
