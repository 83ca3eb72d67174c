"""The noise model: how sure a difference or a ratio is, given repetitions made in several
processes. Standard library only (no scipy): the t quantiles come from a table.

Repetitions inside one process are not independent: a process that landed on a slower CPU,
or next to a noisy neighbour, makes all its repetitions slow together. So the unit of
evidence is the process, not the repetition:

- `difference` (compare's rule): the per-process medians of a row, on a log scale, are the
  samples of each run; Student's t interval (99%, variance pooled over both runs) of the
  difference of their means gives an interval of B/A, and a row is flagged only when that
  interval excludes 1. The process medians carry both the within- and the between-process
  variation, and Student's t pays for estimating that from a few processes. compare
  moderates each row's variance with the other rows of its scenario and metric (`Prior`),
  which buys back most of the degrees of freedom three processes a side cannot give. A run
  with one process only has no between-process variation to measure: then the repetitions
  are the samples, and the result says so.
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


@dataclass(frozen=True)
class Prior:
    """What the other rows of a comparison say about a row's noise: the variance of the log
    per-process medians, pooled over the rows of one scenario and metric (their median), and
    the degrees of freedom it is worth (one row's)."""
    variance: float
    df: float


def _pooled(la: list, lb: list):
    """(variance, df) of two samples pooled, or None with fewer than two on a side."""
    if len(la) < 2 or len(lb) < 2:
        return None
    df = len(la) + len(lb) - 2
    ss = (len(la) - 1) * statistics.variance(la) + (len(lb) - 1) * statistics.variance(lb)
    return ss / df, df


def log_ratio_interval(a: list, b: list, level: float = COMPARE_LEVEL,
                       prior: Prior | None = None):
    """(low, high) of the ratio exp(mean log b - mean log a): Student's two-sample t interval
    on the logs, with the variance pooled over both sides (df = na + nb - 2). None with
    fewer than two positive samples on a side.

    Pooled rather than Welch: the two sides are the same row measured the same way, so their
    spreads are alike, and with three processes a side Welch's degrees of freedom fall to
    2-4, which costs most of the power to see a 20% difference.

    With a `prior` the interval of a row quieter than its kind is moderated (after the
    empirical-Bayes t of Smyth's limma): its variance is averaged with the prior's, weighted by
    their degrees of freedom, and the t quantile takes both — four degrees of freedom of one
    row alone make t(99%) 4.6, with the prior's four more 3.4. A row at least as noisy as the
    prior keeps its own variance and degrees of freedom: averaging it down would flag the
    noisiest rows of a mixed group (wakeup p99 beside p50) far above the promised rate (5-7%
    in simulation, against 1%)."""
    la, lb = _logs(a), _logs(b)
    pooled = _pooled(la, lb)
    if pooled is None:
        return None
    var, df = pooled
    if prior is not None and prior.df > 0 and var < prior.variance:
        var = (prior.df * prior.variance + df * var) / (prior.df + df)
        df += prior.df
    d = statistics.fmean(lb) - statistics.fmean(la)
    se = math.sqrt(var * (1 / len(la) + 1 / len(lb)))
    half = t_quantile(level, df) * se
    return math.exp(d - half), math.exp(d + half)


def process_medians(by_process: dict) -> list:
    return [statistics.median(v) for v in by_process.values() if v]


def row_variance(a_by_process: dict, b_by_process: dict):
    """(variance, df) of the log per-process medians of one row in two runs, pooled; None
    unless both sides have two processes or more (what a Prior is made of)."""
    if len(a_by_process) < 2 or len(b_by_process) < 2:
        return None
    return _pooled(_logs(process_medians(a_by_process)), _logs(process_medians(b_by_process)))


def prior_of(variances: list) -> Prior | None:
    """The Prior of a group of rows from their row_variance()s: the median variance, worth the
    median row's degrees of freedom. None for fewer than three rows (too little to say)."""
    known = [v for v in variances if v is not None]
    if len(known) < 3:
        return None
    return Prior(statistics.median(v for v, _ in known), statistics.median(d for _, d in known))


def difference(a_by_process: dict, b_by_process: dict,
               level: float = COMPARE_LEVEL, prior: Prior | None = None) -> Difference | None:
    """B against A from each side's {process: [values]} (Bench.by_process): the unit is the
    process median when both sides have at least two processes, else the repetition (and
    then no prior: it describes process medians)."""
    a_all = [v for vals in a_by_process.values() for v in vals]
    b_all = [v for vals in b_by_process.values() for v in vals]
    if not a_all or not b_all:
        return None
    ma, mb = statistics.median(a_all), statistics.median(b_all)
    if not ma or not mb:
        return None
    if len(a_by_process) >= 2 and len(b_by_process) >= 2:
        basis = "processes"
        ua, ub = process_medians(a_by_process), process_medians(b_by_process)
    else:
        basis, ua, ub, prior = "repetitions", a_all, b_all, None
    ci = log_ratio_interval(ua, ub, level, prior)
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
