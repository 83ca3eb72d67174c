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
        """The measured growth in words.

        Judged by the slope, with a wide interval reported as such. A fixed per-call cost
        (the syscall itself) pulls an O(N) mechanism's slope below 1 at moderate N, so
        anything from 0.75 up counts as linear; the slope itself is always shown beside it.
        """
        if self.half_width is not None and self.half_width > 0.3:
            return "unclear: interval too wide"
        if abs(self.slope) < 0.2:
            return "O(1): flat"
        if 0.75 <= self.slope <= 1.25:
            return "O(N): linear"
        if 0.2 <= self.slope < 0.75:
            return f"between O(1) and O(N) (≈N^{self.slope:.1f})"
        return f"≈N^{self.slope:.1f}" + (": worse than linear" if self.slope > 1 else "")


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
