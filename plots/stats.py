"""The noise model: how sure a difference or a ratio is, given repetitions made in several
processes. Standard library only (no scipy): the t quantiles come from a table.

Repetitions inside one process are not independent: a process that landed on a slower CPU,
or next to a noisy neighbour, makes all its repetitions slow together. So the unit of
evidence is the process, not the repetition:

- `difference` (compare's rule): the per-process medians of a row, on a log scale, are the
  samples of each run; Student's t interval (99%, variance pooled over both runs) of the
  difference of their means gives an interval of B/A, and a row is flagged only when that interval excludes 1. The process
  medians carry both the within- and the between-process variation, and Student's t pays
  for estimating that from a few processes. A run with one process only has no between-
  process variation to measure: then the repetitions are the samples, and the result says so.
- `paired_ratio_interval` (the interface overhead): two rows measured interleaved in the same
  processes; a hierarchical bootstrap resamples processes (the same ones for both rows, so
  what moves a process moves both), then repetitions within each, and takes the percentile
  interval of the ratio of the pooled medians.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

# Two-sided quantiles of Student's t for df = 1..30, from the standard table, and anchors
# beyond; between anchors linear in 1/df (accurate to the third decimal there).
_T = {
    0.95: ([12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042],
           [(30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980), (math.inf, 1.960)]),
    0.99: ([63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169,
            3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845,
            2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.750],
           [(30, 2.750), (40, 2.704), (60, 2.660), (120, 2.617), (math.inf, 2.576)]),
}


def t_quantile(level: float, df: float) -> float:
    """The t value of a two-sided `level` interval (0.95 or 0.99) with df degrees of freedom;
    a fractional df is rounded down, which only widens the interval."""
    if df < 1:
        raise ValueError("need at least one degree of freedom")
    table, tail = _T[level]
    d = math.floor(df)
    if d <= 30:
        return table[d - 1]
    for (d0, t0), (d1, t1) in zip(tail, tail[1:]):
        if d <= d1:
            x, x0, x1 = 1 / d, 1 / d0, (0.0 if math.isinf(d1) else 1 / d1)
            return t0 + (t1 - t0) * (x - x0) / (x1 - x0)
    return tail[-1][1]


# compare's level: a row of an A/A comparison is flagged with probability about 1 - LEVEL.
COMPARE_LEVEL = 0.99


@dataclass(frozen=True)
class Difference:
    """B against A for one row and metric."""
    ratio: float            # median of B / median of A, all repetitions pooled
    low: float | None       # COMPARE_LEVEL interval of B/A; None when the noise is unknown
    high: float | None
    basis: str              # "processes" or "repetitions" (a side has one process only)
    units: tuple            # (samples of A, samples of B) the interval was computed from

    @property
    def known(self) -> bool:
        return self.low is not None

    @property
    def flagged(self) -> bool:
        return self.known and (self.low > 1.0 or self.high < 1.0)

    @property
    def verdict(self) -> str:
        if not self.known:
            return "?"
        if not self.flagged:
            return "same"
        return "slower" if self.low > 1.0 else "faster"


def _logs(values) -> list:
    return [math.log(v) for v in values if v > 0]


def log_ratio_interval(a: list, b: list, level: float = COMPARE_LEVEL):
    """(low, high) of the ratio exp(mean log b - mean log a): Student's two-sample t interval
    on the logs, with the variance pooled over both sides (df = na + nb - 2). None with
    fewer than two positive samples on a side.

    Pooled rather than Welch: the two sides are the same row measured the same way, so their
    spreads are alike, and with three processes a side Welch's degrees of freedom fall to
    2-4, which costs most of the power to see a 20% difference."""
    la, lb = _logs(a), _logs(b)
    if len(la) < 2 or len(lb) < 2:
        return None
    d = statistics.fmean(lb) - statistics.fmean(la)
    df = len(la) + len(lb) - 2
    ss = (len(la) - 1) * statistics.variance(la) + (len(lb) - 1) * statistics.variance(lb)
    se = math.sqrt(ss / df * (1 / len(la) + 1 / len(lb)))
    half = t_quantile(level, df) * se
    return math.exp(d - half), math.exp(d + half)


def difference(a_by_process: dict, b_by_process: dict,
               level: float = COMPARE_LEVEL) -> Difference | None:
    """B against A from each side's {process: [values]} (Bench.by_process): the unit is the
    process median when both sides have at least two processes, else the repetition."""
    a_all = [v for vals in a_by_process.values() for v in vals]
    b_all = [v for vals in b_by_process.values() for v in vals]
    if not a_all or not b_all:
        return None
    ma, mb = statistics.median(a_all), statistics.median(b_all)
    if not ma or not mb:
        return None
    if len(a_by_process) >= 2 and len(b_by_process) >= 2:
        basis = "processes"
        ua = [statistics.median(v) for v in a_by_process.values()]
        ub = [statistics.median(v) for v in b_by_process.values()]
    else:
        basis, ua, ub = "repetitions", a_all, b_all
    ci = log_ratio_interval(ua, ub, level)
    lo, hi = ci if ci else (None, None)
    return Difference(mb / ma, lo, hi, basis, (tuple(ua), tuple(ub)))


# The paired bootstrap: resamples drawn (fixed seed, so a report is the same every time).
BOOTSTRAP_ROUNDS = 1000
BOOTSTRAP_SEED = 20261128


def paired_ratio_interval(num_by_process: dict, den_by_process: dict, level: float = 0.95,
                          rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED):
    """(low, high): the `level` percentile interval of median(num) / median(den) under a
    hierarchical bootstrap paired by process. Only processes that measured both rows count.
    None when there is nothing to pair or fewer than two repetitions in all."""
    procs = [p for p in num_by_process if p in den_by_process
             and num_by_process[p] and den_by_process[p]]
    if not procs or sum(len(num_by_process[p]) for p in procs) < 2:
        return None
    rng = random.Random(seed)
    ratios = []
    for _ in range(rounds):
        picked = rng.choices(procs, k=len(procs))
        num, den = [], []
        for p in picked:
            nv, dv = num_by_process[p], den_by_process[p]
            num += rng.choices(nv, k=len(nv))
            den += rng.choices(dv, k=len(dv))
        d = statistics.median(den)
        if d > 0:
            ratios.append(statistics.median(num) / d)
    if not ratios:
        return None
    ratios.sort()
    tail = (1 - level) / 2
    lo = ratios[int(math.floor(tail * (len(ratios) - 1)))]
    hi = ratios[int(math.ceil((1 - tail) * (len(ratios) - 1)))]
    return lo, hi
