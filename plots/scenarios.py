"""One descriptor per scenario: what the reports know about it, in one place.

A descriptor names the scenario's metrics (the first is its main one; `compare` looks at all
of them), the charts that show it and the summary sections that describe it. A chart's `draw`
and a section is a function (Run -> Figure | None, Run -> [Markdown lines]). The scenarios
described here get theirs from the modules that draw them, each of which presents its own
functions (`present`), so this module needs no matplotlib and names no function.

A new scenario's descriptor lives in a module of its own, plots/scenario_<name>.py, defining
`SCENARIO = Scenario(...)` (and its chart and section functions, if it has any, importing
what they draw with inside the functions): it is found here without a list, and placed before
the sentinel's, where its row stands in the scenario table. A run's results carry the table
(pollbench_scenario_table): a scenario there without a descriptor is learned from it (its
slot and metrics) when the run is loaded (`learn`), and gets a plain table of its rows in
summary.md and a chart of its main metric (charts.chart_generic). Standard library only.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
from dataclasses import dataclass, replace
from typing import Callable

COST = "ns_per_event"


@dataclass(frozen=True)
class ChartSpec:
    stem: str    # file name without extension
    title: str   # used in summary.md
    draw: Callable  # Run -> Figure | None


@dataclass(frozen=True)
class Scenario:
    name: str
    metrics: tuple             # the main metric first
    charts: tuple = ()         # ChartSpec, in the order summary.md shows them
    sections: tuple = ()       # functions Run -> [Markdown lines]
    part_of: str | None = None  # its rows are shown by that scenario's sections and charts
    table: bool = True         # with no section showing it: a plain table of its rows
    scaling_fit: bool = False  # fit log(cost) against log(N) at 1 active fd
    # What the name's second segment is: "row" a registry row, "raw" a raw mechanism (a row's
    # raw_floor), "path" a name of the scenario's own (a raw timeout path, the sentinel's
    # probe), "loop" a registry row or a server engine (the server rows' loops). Each is its own
    # namespace: a registry row may share a raw timeout path's name.
    slot: str = "row"
    # The scenario's name in prose (the "What to use when" item of a scenario without advice
    # of its own); its name when empty.
    title: str = ""


SCENARIOS = [
    Scenario("dispatch", (COST,), scaling_fit=True),
    # raw/<mechanism>: the same loop on the bare syscall, shown beside its dispatch rows.
    Scenario("raw", (COST,), part_of="dispatch", scaling_fit=True, slot="raw"),
    Scenario("chain", (COST,), scaling_fit=True, title="chain (libevent bench.c workload)"),
    Scenario("churn", ("ns_per_add", "ns_per_remove")),
    # wakeup: latency from the driver's write to the waiter's return, quantiles of the row's
    # own samples.
    Scenario("wakeup", ("p50_ns", "p99_ns")),
    # herd: waiters returned per written byte, and the first return.
    Scenario("herd", ("woken_per_event", "first_return_ns")),
    Scenario("herd_shared", ("woken_per_event", "first_return_ns"), part_of="herd"),
    # timeout: how much later than asked a wait with nothing ready returned; raw_timeout:
    # the same on a bare nanosecond-resolution wait path, shown as its own group.
    Scenario("timeout", ("late_p50_ns", "late_p99_ns")),
    Scenario("raw_timeout", ("late_p50_ns", "late_p99_ns"), part_of="timeout", slot="path"),
    # The event loop's other descriptors (plots/loopfds.py). timerfd: lateness of a timerfd
    # armed before each wait beside the wait's own timeout, and the arming's cost per wait.
    Scenario("timerfd", ("late_p50_ns", "late_p99_ns", "arm_ns", "wait0_ns", "armed_wait0_ns")),
    # signal: send -> the waiter's return with the signal identified. Its presentation also
    # carries the wake-descriptor chart and section (the wakeup/.../wake:<kind> rows).
    Scenario("signal", ("p50_ns", "p99_ns")),
    # The C10K experiment (plots/c10k.py): an HTTP server on each row's Poller, wrk's load,
    # idle connections held by another process.
    # Its metrics are costs (lower is better, as compare reads every metric): ns_per_request
    # is requests_per_s as a cost; the charts and the section show requests_per_s.
    Scenario("server", ("ns_per_request", "p99_ns", "cpu_ns_per_request", "p50_ns",
                        "user_ns_per_request", "sys_ns_per_request", "p999_ns"), slot="loop"),
    # The noise sentinel: the warning at the top of summary.md, no table of its own.
    Scenario("sentinel", ("ns_per_roundtrip",), table=False, slot="path"),
]



def discovered(directory: str = os.path.dirname(os.path.abspath(__file__))) -> list:
    """The descriptors (SCENARIO) of the modules scenario_<name>.py of `directory` (on the
    import path; default plots/), in file name order."""
    found = []
    for path in sorted(glob.glob(os.path.join(directory, "scenario_*.py"))):
        module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        found.append(module.SCENARIO)
    return found


# Before the sentinel, which closes the table.
SCENARIOS[-1:-1] = discovered()
BY_NAME = {s.name: s for s in SCENARIOS}

# The context key of the scenario table in a run's results.
TABLE_KEY = "pollbench_scenario_table"


def learn(table) -> None:
    """Descriptors for the scenarios of a run's scenario table (a JSON text or list, or None
    for a run that predates it) that have none here: their slot and metrics, before the
    sentinel's."""
    try:
        rows = json.loads(table) if isinstance(table, str) else table
    except json.JSONDecodeError:
        return
    if not isinstance(rows, list):
        return
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) \
                or row["name"] in BY_NAME or not row.get("metrics"):
            continue
        desc = Scenario(row["name"], tuple(row["metrics"]), slot=row.get("slot", "row"))
        SCENARIOS.insert(len(SCENARIOS) - 1, desc)
        BY_NAME[desc.name] = desc


def present(name: str, charts: tuple = (), sections: tuple = ()) -> None:
    """Called by the module that draws a scenario (charts.py, summary.py, loopfds.py, c10k.py,
    timesplit.py), once, below the functions it names: their charts (ChartSpec) and sections
    join the scenario's descriptor after those presented before. summary.md shows them in
    that order; summary.py imports the presenting modules in the order it wants."""
    for i, desc in enumerate(SCENARIOS):
        if desc.name == name:
            SCENARIOS[i] = replace(desc, charts=desc.charts + tuple(charts),
                                   sections=desc.sections + tuple(sections))
            BY_NAME[name] = SCENARIOS[i]
            return
    raise KeyError(f"no scenario {name} to present")


def get(name: str) -> Scenario | None:
    return BY_NAME.get(name)


def slot_of(name: str) -> str:
    """The namespace of a scenario's second name segment; "row" for an unknown scenario."""
    s = BY_NAME.get(name)
    return s.slot if s else "row"


def all_charts() -> list:
    """Every ChartSpec, in report order."""
    return [c for s in SCENARIOS for c in s.charts]


def scaling_scenarios() -> list:
    return [s.name for s in SCENARIOS if s.scaling_fit]
