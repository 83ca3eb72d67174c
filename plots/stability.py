"""Rows whose processes disagree: named, with the figure, as pyperf warns about an unstable
benchmark.

A run of P processes measures every row P times over; a row's between-process spread is
(max − min) / median of its P per-process medians of the main metric (Bench.between_spread).
Most rows of a scenario spread alike, since they share the machine, P and the repetitions per
process; a row far beyond its scenario's typical spread measured something the process chose
(where its memory or its fds' kernel objects landed, its CPU, a neighbour), and a comparison
with it can show that instead of the code. Such a row is **unstable** when its spread exceeds

    limit = max(3 × m, 10%)

where m is the median spread of the scenario's rows (of the whole run's rows when the
scenario has fewer than MIN_PEERS, whose median would be one of the few rows itself):

- 3 × m: an outlier against rows measured the same way. The median is robust (the unstable
  rows themselves do not move it); the range of P values grows with P, and m grows with it, so
  3 × m serves P ≥ 3 (with process effects that are alike and normal, 3 × the median range
  is exceeded by 0.2% of rows at P = 3, the default run's, and by none at P = 5: simulated).
  At P = 2 (the quick run's) the range is one difference, half-normal, and 3 × its median is
  exceeded by 4% of rows: there the factor is 4.6 (|Z| > 3.1, again ~0.2%); a scenario noisy by nature (a wakeup's latency) is judged
  against its own rows, not against the quiet ones.
- at least 10% (summary.md's warning level for the median row): a spread below it is not worth
  a name however quiet the other rows were.
- no absolute ceiling: in a scenario whose typical row spreads 10% or more, a row must be
  three times as far off to be named. Naming every row of a noisy run would say nothing that
  summary.md's warning (separate processes disagree: the median row above 10%) does not.

A run of one process cannot tell; nothing is named. The sentinel rows are the noise gauge and
have their own line at the top of summary.md. Standard library only.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import scenarios

FACTOR = 3.0    # × the scenario's median spread, at three processes or more
FACTOR_TWO_PROCESSES = 4.6
FLOOR = 0.10    # never name a row below this spread
MIN_PEERS = 5   # rows a scenario needs for a median of its own


@dataclass(frozen=True)
class Unstable:
    key: str         # the row's name
    metric: str      # its main metric
    spread: float    # (max − min) / median of the per-process medians
    limit: float     # the spread above which a row of its scenario is named
    typical: float   # m: the median spread of the rows it was measured against
    medians: tuple   # the per-process medians, in process order


def main_metric(bench) -> str:
    desc = scenarios.get(bench.scenario)
    if desc is not None:
        return desc.metrics[0]
    return scenarios.COST if bench.has(scenarios.COST) else "real_time_ns"


def limit_of(typical: float, processes: int = 3) -> float:
    return max((FACTOR_TWO_PROCESSES if processes == 2 else FACTOR) * typical, FLOOR)


def unstable_rows(run) -> list:
    """The run's unstable rows, the largest spread first; [] for a single-process run. Each
    one's Bench keeps its Unstable (Bench.unstable), so that a table can flag its cell."""
    cached = getattr(run, "_unstable_rows", None)
    if cached is not None:
        return cached
    spreads = {}
    for key, b in run.benches.items():
        if not b.ok or b.scenario == "sentinel":
            continue
        metric = main_metric(b)
        s = b.between_spread(metric)
        if s is not None:
            spreads[key] = (b, metric, s)
    by_scenario = {}
    for b, _, s in spreads.values():
        by_scenario.setdefault(b.scenario, []).append(s)
    everything = [s for _, _, s in spreads.values()]
    out = []
    for key, (b, metric, s) in spreads.items():
        peers = by_scenario[b.scenario]
        typical = statistics.median(peers if len(peers) >= MIN_PEERS else everything)
        limit = limit_of(typical, len(b.process_medians(metric)))
        if s > limit:
            b.unstable = Unstable(key, metric, s, limit, typical,
                                  tuple(b.process_medians(metric)))
            out.append(b.unstable)
    out.sort(key=lambda u: (-u.spread, u.key))
    run._unstable_rows = out
    return out


def unstable_keys(run) -> dict:
    """{row name: Unstable} of the run's unstable rows."""
    return {u.key: u for u in unstable_rows(run)}
