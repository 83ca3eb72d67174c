"""What the charts, the summary and the terminal table have in common: series, fits, ratios.

Standard library only, so `report.py table` runs without matplotlib.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fit import Fit, loglog_fit
from pbresults import BACKEND_RAW, RAW_BASELINE, Bench, Run

COST = "ns_per_event"

# The main cost metric of each scenario, and the extra ones compare should also look at.
# New scenarios (issue 5: wakeup, herd, timeout) add their rows here.
SCENARIO_METRICS = {
    "dispatch": [COST],
    "chain": [COST],
    "raw": [COST],
    "churn": ["ns_per_add", "ns_per_remove"],
    "sentinel": ["ns_per_roundtrip"],
}

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


def metrics_of(scenario: str, bench: Bench | None = None) -> list:
    """The metrics to report for a scenario; for unknown scenarios the cost, else wall time."""
    if scenario in SCENARIO_METRICS:
        return SCENARIO_METRICS[scenario]
    if bench is not None and not bench.has(COST):
        return ["real_time_ns"]
    return [COST]


def series_over_fds(run: Run, scenario: str, backend: str, counter: str = COST,
                    active=1, **match) -> list:
    """[(N, bench)] sorted by N, at the given number of active fds (None: no active param).

    Extra keyword arguments pin other name parameters, e.g. cpu="same" for issue 5's
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


def raw_of(backend: str) -> str | None:
    """The raw mechanism that is the floor of a backend (epoll_lt -> epoll)."""
    return BACKEND_RAW.get(backend)


def backend_of_raw(mechanism: str) -> str:
    return RAW_BASELINE.get(mechanism, mechanism)


def overhead(run: Run, backend: str, n, active=1, scenario: str = "dispatch"):
    """median(scenario/backend) / median(raw/mechanism) at N and A, or None."""
    mech = raw_of(backend)
    if mech is None:
        return None
    mine = [b for b in run.select(scenario, backend, fds=n, active=active)]
    raw = [b for b in run.select("raw", mech, fds=n, active=active)]
    if not mine or not raw:
        return None
    a, r = mine[0].median(COST), raw[0].median(COST)
    return a / r if a and r else None


def overhead_series(run: Run, backend: str, active=1) -> list:
    """[(N, ratio, low, high)]: backend over its raw floor; low/high from the spreads."""
    mech = raw_of(backend)
    if mech is None:
        return []
    raw = {n: b for n, b in series_over_fds(run, "raw", mech, active=active)}
    out = []
    for n, b in series_over_fds(run, "dispatch", backend, active=active):
        r = raw.get(n)
        if r is None:
            continue
        med, rmed = b.median(COST), r.median(COST)
        (lo, hi), (rlo, rhi) = b.spread(COST), r.spread(COST)
        if med and rmed and rlo and rhi:
            out.append((n, med / rmed, lo / rhi, hi / rlo))
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

    Every repetition is one point, so the interval carries the run's own noise.
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
    for scenario in ("dispatch", "raw", "chain"):
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
