"""What the charts, the summary and the terminal table have in common: series, fits, ratios.

Standard library only, so `report.py table` runs without matplotlib.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import scenarios
import stats
from fit import Fit, loglog_fit
from pbresults import Bench, Run
from scenarios import COST

# Fits over "large N" start at this N (or lower, to span at least 8x); small N is dominated by
# the fixed cost of a syscall, so a fit over the whole range understates the growth.
LARGE_N = 256


def fmt_ns(v) -> str:
    if v is None:
        return "–"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def fmt_pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def fmt_n(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def fmt_names(items) -> str:
    """'a', 'a and b', 'a, b and c': names (or any strings) for a sentence."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def metrics_of(scenario: str, bench: Bench | None = None) -> list:
    """The metrics to report for a scenario (its descriptor's); for a scenario without one
    the cost, else wall time."""
    desc = scenarios.get(scenario)
    if desc is not None:
        return list(desc.metrics)
    if bench is not None and not bench.has(COST):
        return ["real_time_ns"]
    return [COST]


def series_over_fds(run: Run, scenario: str, backend: str, counter: str = COST,
                    active=1, **match) -> list:
    """[(N, bench)] sorted by N, at the given number of active fds (None: no active param).

    Extra keyword arguments pin other name parameters, e.g. cpu="same" for the
    wakeup/<backend>/fds:<N>/cpu:<same|other> rows.
    """
    rows = []
    for b in run.select(scenario, backend, **match):
        n = b.name.get("fds")
        if not isinstance(n, (int, float)) or not b.has(counter):
            continue
        if active is not None and b.name.get("active") != active:
            continue
        rows.append((n, b))
    return sorted(rows, key=lambda r: r[0])


def active_sweep(run: Run, scenario: str, backend: str, counter: str = COST):
    """(N, [(A, bench)]) for the N at which the most active counts were run, or None.

    The sweep over active fds runs at one fixed N per backend (select at its largest size,
    so that N can differ between backends).
    """
    by_n = {}
    for b in run.select(scenario, backend):
        n, a = b.name.get("fds"), b.name.get("active")
        if isinstance(n, (int, float)) and isinstance(a, (int, float)) and b.has(counter):
            by_n.setdefault(n, []).append((a, b))
    if not by_n:
        return None
    n, rows = max(by_n.items(), key=lambda kv: (len(kv[1]), kv[0]))
    if len(rows) < 2:
        return None
    return n, sorted(rows, key=lambda r: r[0])


def raw_of(run: Run, backend: str) -> str | None:
    """The raw mechanism that is the floor of a backend (the registry's raw_floor)."""
    return run.registry.raw_floor(backend)


def backend_of_raw(run: Run, mechanism: str) -> str:
    """The registry row a raw mechanism is the floor of (itself if none)."""
    return run.registry.row_of_raw(mechanism) or mechanism


# The interval of the paired overhead ratio.
OVERHEAD_LEVEL = 0.95


@dataclass
class Ratio:
    """numerator / denominator at one N: the ratio of the medians over all repetitions and an
    interval (OVERHEAD_LEVEL, from a paired bootstrap, stats.paired_ratio_interval)."""
    n: object
    ratio: float
    low: float | None
    high: float | None
    processes: int


def _paired_ratio(num: Bench, den: Bench, counter: str = COST) -> Ratio | None:
    med, dmed = num.median(counter), den.median(counter)
    if not med or not dmed:
        return None
    cache = num.__dict__.setdefault("_ratio_cache", {})  # the chart and the summary both ask
    key = (id(den), counter)
    if key not in cache:
        cache[key] = stats.paired_ratio_interval(num.by_process(counter),
                                                 den.by_process(counter), level=OVERHEAD_LEVEL)
    lo, hi = cache[key] if cache[key] else (None, None)
    return Ratio(num.name.get("fds"), med / dmed, lo, hi, num.process_count(counter))


def overhead(run: Run, backend: str, n, active=1, scenario: str = "dispatch"):
    """median(scenario/backend) / median(raw/mechanism) at N and A, or None."""
    mech = raw_of(run, backend)
    if mech is None:
        return None
    mine = [b for b in run.select(scenario, backend, fds=n, active=active)]
    raw = [b for b in run.select("raw", mech, fds=n, active=active)]
    if not mine or not raw:
        return None
    a, r = mine[0].median(COST), raw[0].median(COST)
    return a / r if a and r else None


def overhead_series(run: Run, backend: str, active=1) -> list:
    """[Ratio]: dispatch/<backend> over raw/<its raw floor> at every N both have, with a
    95% interval from a bootstrap paired by process (the two rows ran interleaved in the same
    processes, so what moves a process moves both)."""
    mech = raw_of(run, backend)
    if mech is None:
        return []
    return _ratio_series(series_over_fds(run, "dispatch", backend, active=active),
                         series_over_fds(run, "raw", mech, active=active))


def _ratio_series(numerator, denominator) -> list:
    """[Ratio] of two [(N, bench)] series at the N both have."""
    base = dict(denominator)
    out = []
    for n, b in numerator:
        d = base.get(n)
        if d is None:
            continue
        r = _paired_ratio(b, d)
        if r is not None:
            out.append(r)
    return out


@dataclass
class ScalingFit:
    scenario: str
    backend: str
    full: Fit | None
    large: Fit | None

    @property
    def best(self) -> Fit | None:
        """The fit that states the complexity: the large-N one where there is one."""
        return self.large or self.full


def _fit_rows(rows, counter):
    xs, ys = [], []
    for n, b in rows:
        # Repetitions of one process move together: with several processes, each process's
        # median is one point, so the interval does not count them as independent.
        if b.process_count(counter) > 1:
            vals = b.process_medians(counter)
        else:
            vals = b.values(counter) or [b.median(counter)]
        for v in vals:
            if v:
                xs.append(n)
                ys.append(v)
    try:
        return loglog_fit(xs, ys)
    except ValueError:
        return None


def scaling_fit(run: Run, scenario: str, backend: str, counter: str = COST,
                active=1) -> ScalingFit | None:
    """Slope of log(cost) vs log(N) at A = 1: over all N, and over N >= LARGE_N.

    Every repetition is one point (with several processes, every process's median), so the
    interval carries the run's own noise.
    """
    rows = series_over_fds(run, scenario, backend, counter, active)
    if len({n for n, _ in rows}) < 2:
        return None
    full = _fit_rows(rows, counter)
    # "Large N": from LARGE_N up, but always spanning at least 8x in N, so that a backend
    # that stops early (select at ~1,000) is not fitted over two neighbouring sizes only.
    sizes = sorted({n for n, _ in rows})
    below = [n for n in sizes if n <= sizes[-1] / 8]
    start = min(LARGE_N, below[-1]) if below else None
    large_rows = [(n, b) for n, b in rows if start is not None and n >= start]
    large = _fit_rows(large_rows, counter) if len({n for n, _ in large_rows}) >= 2 else None
    if large is not None and full is not None and large.points == full.points:
        large = None
    return ScalingFit(scenario, backend, full, large)


def all_scaling_fits(run: Run) -> list:
    out = []
    for scenario in scenarios.scaling_scenarios():
        for backend in run.backends(scenario):
            f = scaling_fit(run, scenario, backend)
            if f is not None:
                out.append(f)
    return out


def skipped_summary(run: Run) -> list:
    """[(reason, [names])] of the benchmarks that produced no data.

    Reasons that differ only in numbers ("highest polled fd 1031", "... 8199") are one group,
    shown with the first message.
    """
    groups = {}
    for b in run.failed():
        shape = re.sub(r"\d+", "#", b.error)
        reason, names = groups.setdefault(shape, (b.error, []))
        names.append(b.name.key)
    return sorted(groups.values(), key=lambda kv: -len(kv[1]))


def cost_scenario(run: Run) -> str | None:
    """The scenario the headline table is about: dispatch, else the first with a cost."""
    for s in ("dispatch", "chain", "raw"):
        if run.backends(s):
            return s
    for b in run.benches.values():
        if b.ok and b.has(COST) and b.scenario != "sentinel":
            return b.scenario
    return None


# --- wakeup latency, the thundering herd, timeout accuracy ----------------------------------

# The wakeup quantile counters and the cumulative fraction each one stands for.
WAKEUP_QUANTILES = [("min_ns", 0.0), ("p10_ns", 0.10), ("p25_ns", 0.25), ("p50_ns", 0.50),
                    ("p75_ns", 0.75), ("p90_ns", 0.90), ("p99_ns", 0.99), ("p999_ns", 0.999),
                    ("max_ns", 1.0)]
CPU_ORDER = {"same": 0, "other": 1}


def wakeup_placements(run: Run) -> list:
    """The cpu: values of the wakeup rows with latency data (same before other; None when
    the rows carry no cpu parameter)."""
    seen = {b.name.get("cpu") for b in run.select("wakeup") if b.has("p50_ns")}
    return sorted(seen, key=lambda c: (CPU_ORDER.get(c, 2), str(c)))


def wakeup_backends(run: Run) -> list:
    return [bk for bk in run.backends("wakeup")
            if any(b.has("p50_ns") for b in run.select("wakeup", bk))]


def wakeup_series(run: Run, backend: str, cpu, counter: str = "p50_ns") -> list:
    """[(N, bench)] of a backend's wakeup rows at one placement (not the wake:<kind> rows,
    woken through a descriptor of their own: loopfds.py shows those)."""
    return series_over_fds(run, "wakeup", backend, counter, active=None, cpu=cpu, wake=None)


def wakeup_cdf(bench: Bench) -> list:
    """[(latency ns, cumulative fraction)] from a row's quantile counters (medians over the
    repetitions), made non-decreasing so one noisy repetition cannot bend the curve back."""
    pts = []
    for counter, q in WAKEUP_QUANTILES:
        v = bench.median(counter)
        if v is not None and v > 0:
            pts.append((v, q))
    out, top = [], 0.0
    for v, q in pts:
        top = max(top, v)
        out.append((top, q))
    return out


def wakeup_cdf_n(run: Run, cpu):
    """The N of the CDF chart: the largest N that every wakeup backend ran at this placement
    (select stops near 1,000); if there is none, the N that most backends ran."""
    per_backend = [{n for n, _ in wakeup_series(run, bk, cpu)} for bk in wakeup_backends(run)]
    per_backend = [s for s in per_backend if s]
    if not per_backend:
        return None
    common = set.intersection(*per_backend)
    if common:
        return max(common)
    counts = {}
    for s in per_backend:
        for n in s:
            counts[n] = counts.get(n, 0) + 1
    return max(counts, key=lambda n: (counts[n], n))


def growth(rows, counter: str):
    """(first N, value, last N, value, last/first) of a series, or None."""
    rows = [(n, b.median(counter)) for n, b in rows if b.median(counter)]
    if len(rows) < 2:
        return None
    (n0, v0), (n1, v1) = rows[0], rows[-1]
    return n0, v0, n1, v1, v1 / v0


HERD_VARIANTS = [("herd", "one wait set per waiter"), ("herd_shared", "one wait set shared")]


def herd_lines(run: Run) -> list:
    """[(scenario, backend, [(W, bench)])] of every herd variant with woken_per_event data."""
    out = []
    for scen, _ in HERD_VARIANTS:
        for bk in run.backends(scen):
            rows = [(b.name.get("waiters"), b) for b in run.select(scen, bk)
                    if isinstance(b.name.get("waiters"), (int, float))
                    and b.has("woken_per_event")]
            if rows:
                out.append((scen, bk, sorted(rows, key=lambda r: r[0])))
    return out


def herd_label(scenario: str, backend: str) -> str:
    if scenario == "herd_shared":
        return f"{backend}, one shared set"
    return backend


def herd_verdict(woken: float, waiters) -> str:
    """How many of the W waiters one event woke, in words."""
    if waiters <= 1:
        return "one waiter only"
    if woken >= 0.9 * waiters:
        return "all"
    if woken <= 1.25:
        return "about one"
    return "some"


# Label of a raw timeout path (raw_timeout/<path>): its own group after the registry rows.
RAW_TIMEOUT_LABEL = "raw {}"


def timeout_table(run: Run) -> dict:
    """{label: {T µs: bench}} of the timeout rows with lateness data: the registry rows in
    preference order, then the raw timeout paths as their own group ("raw <path>")."""
    out = {}
    for scen, label in (("timeout", "{}"), ("raw_timeout", RAW_TIMEOUT_LABEL)):
        for bk in run.backends(scen):
            for b in run.select(scen, bk):
                t = b.name.get("us")
                if isinstance(t, (int, float)) and b.has("late_p50_ns"):
                    out.setdefault(label.format(bk), {})[t] = b
    return out


def rounded_to_ms(t_us, late_ns) -> bool:
    """Did a wait of T µs come back at least at the next whole millisecond (a timeout given
    in ms, rounded up)? Only meaningful when T is not a whole number of ms."""
    if t_us % 1000 == 0:
        return False
    gap_ns = (math.ceil(t_us / 1000) * 1000 - t_us) * 1000
    return late_ns >= 0.8 * gap_ns


# Event libraries against the mechanism row they wrap (the registry's `wraps`; dispatch rows,
# A = 1).

def library_ratio_series(run: Run, library: str, active=1) -> list:
    """[Ratio]: dispatch/<library> over dispatch/<mechanism> at the same N."""
    mech = run.registry.wraps(library)
    if mech is None:
        return []
    return _ratio_series(series_over_fds(run, "dispatch", library, active=active),
                         series_over_fds(run, "dispatch", mech, active=active))


def library_pairs(run: Run) -> list:
    """[(library, mechanism)] with at least one N where both ran."""
    return [(lib, mech) for lib, mech in run.registry.libraries()
            if library_ratio_series(run, lib)]
