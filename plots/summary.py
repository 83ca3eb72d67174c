"""summary.md: the one-page report of a run, with its charts embedded.

Plain GitHub-flavoured Markdown (tables, images with relative links), so it reads the same
in any Markdown viewer and in a terminal.
"""

from __future__ import annotations

import math
import os
import statistics

import advice
import analysis as an
from analysis import fmt_names
import charts
import scenarios
import stability
from fit import FLAT, linear_fit
import syscalls
from pbresults import (CROSS_CPU_GAUGE, DRIFT_WARNING, UNKNOWN, Run, drift_of,
                       gauge_by_process, sentinel_drift, sentinel_rows)

MACHINE_ROWS = [
    ("CPU", "pollbench_cpu_model"),
    ("CPUs online", "pollbench_cores"),
    ("kernel", "pollbench_kernel"),
    ("CPU frequency governor", "pollbench_cpu_governor"),
    ("vulnerability mitigations", "pollbench_mitigations"),
    ("host", "pollbench_hostname"),
    ("fd kind", "pollbench_fd_kind"),
    ("RLIMIT_NOFILE (soft/hard)", "pollbench_rlimit_nofile"),
    ("compiler", "pollbench_compiler"),
    ("compiler flags", "pollbench_cxx_flags"),
    ("Google Benchmark", "pollbench_benchmark_version"),
    ("Google Benchmark library build", "library_build_type"),
    ("pollbench commit", "pollbench_git_commit"),
    ("sweep", "pollbench_sweep"),
    ("date", "date"),
]
# Rows shown only when the run has them (the scenarios that record them may not have run).
OPTIONAL_MACHINE_ROWS = [
    ("wakeup clock", "pollbench_clock"),
    ("default timer slack (ns)", "pollbench_timer_slack_ns"),
]


def _cell(v: str) -> str:
    """A table cell: pipes escaped, long values (the mitigations list) kept on one line."""
    return v.replace("|", "\\|").replace("\n", " ")


def _table(header: list, rows: list, left: int = 1) -> list:
    """A Markdown table; the first `left` columns are text (left-aligned), the rest numbers."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(_cell(str(c)) for c in row) + " |" for row in rows]
    return out + [""]


def _noise(b, counter) -> str:
    """'(2.1%)' — the within-process CV; '(2.1%; 8.0%)' with the between-process spread when
    the row was measured by several processes."""
    cv, spread = b.within_cv(counter), b.between_spread(counter)
    if cv is None and spread is None:
        return ""
    flag = f" {UNSTABLE_MARK}" if b.unstable is not None and b.unstable.metric == counter else ""
    return f" ({an.fmt_pct(cv)}" + (f"; {an.fmt_pct(spread)}{flag}" if spread is not None
                                    else "") + ")"


def _med_cv(b, counter=an.COST) -> str:
    if b is None or not b.has(counter):
        return "–"
    return an.fmt_ns(b.median(counter)) + _noise(b, counter)


def noise_words(run: Run, long: bool = False) -> str:
    """How to read the '(x%; y%)' of a cell; the long form once, under "What was run"."""
    if run.processes() > 1:
        if not long:
            return "(within-process CV; between-process spread)"
        return ("(x%; y%) after a median: x = the CV inside one process (pooled "
                "within-process standard deviation / mean), y = the between-process spread, "
                f"(max − min) / median of the {run.processes()} processes' medians")
    return "(x%) after a median: the CV of the repetitions" if long else "(CV)"


def _grid(run: Run, lines: list, counter=an.COST) -> list:
    """Rows = N (or A), columns = lines [(label, {x: bench})]: 'median (CV)' per cell."""
    xs = sorted({x for _, pts in lines for x in pts})
    return [[an.fmt_n(x)] + [_med_cv(pts.get(x), counter) for _, pts in lines] for x in xs]


def machine_section(run: Run) -> list:
    out = ["## Machine", ""]
    rows = []
    for label, key in MACHINE_ROWS:
        v = run.meta(key)
        if key == "pollbench_cores" and v == UNKNOWN:
            v = run.meta("num_cpus")
        if key == "pollbench_hostname" and v == UNKNOWN:
            v = run.meta("host_name")
        if key == "library_build_type" and v == "debug":
            v = ("debug: built without NDEBUG (Debian's is optimised, its internal checks "
                 "on); the timed loop is inline in its headers, compiled with the flags above")
        rows.append([label, v])
    rows += [[label, run.meta(key)] for label, key in OPTIONAL_MACHINE_ROWS
             if run.meta(key) != UNKNOWN]
    out += ["| | |", "|---|---|"] + [f"| {a} | {_cell(b)} |" for a, b in rows] + [""]
    return out


def run_section(run: Run) -> list:
    out = ["## What was run", ""]
    scen = {}
    for b in run.benches.values():
        s = scen.setdefault(b.scenario, {"ok": 0, "failed": 0, "backends": set(), "reps": 0})
        s["ok" if b.ok else "failed"] += 1
        if b.backend:
            s["backends"].add(b.backend)
        if b.ok:
            c = an.metrics_of(b.scenario, b)[0]
            s["reps"] = max(s["reps"], b.repetitions(c))
    rows = [[name, len(s["backends"]) and ", ".join(run.registry.order(s["backends"])) or "–",
             s["ok"], s["failed"], s["reps"]] for name, s in scen.items()]
    out += _table(["scenario", "backends / mechanisms", "benchmarks", "skipped", "repetitions"],
                  rows, left=2)
    procs = run.processes()
    out.append("Input: " + ", ".join(f"`{os.path.basename(p)}`" for p in run.paths)
               + (f", {procs} processes" if procs > 1 else "")
               + ". Medians are over all repetitions of all processes; "
               + noise_words(run, long=True) + ". `ns/event` is wall time per readiness event.")
    out.append("")
    out += cpu_lines(run)
    skipped = an.skipped_summary(run)
    if skipped:
        out.append("Skipped here (with the reason the benchmark gave):")
        out.append("")
        for reason, names in skipped:
            shown = ", ".join(f"`{n}`" for n in names[:4])
            more = f" and {len(names) - 4} more" if len(names) > 4 else ""
            out.append(f"- {reason}: {shown}{more}")
        out.append("")
    return out


def cpu_lines(run: Run) -> list:
    """Where the repetitions ran (the cpu / cpu_migrated counters): counts, never timings."""
    cpus, migrated, total, worst = {}, 0, 0, []
    for b in run.benches.values():
        for c, k in b.cpus.items():
            cpus[c] = cpus.get(c, 0) + k
        migrated += b.migrated
        total += sum(b.cpus.values())
        if b.migrated:
            worst.append((b.migrated, b.name.key))
    if not total:
        return []
    where = ", ".join(f"CPU {c}: {k}" for c, k in sorted(cpus.items()))
    pinned = run.meta("pollbench_cpu")
    line = (f"CPUs the timed repetitions started on: {where}"
            + (f" (pinned: `--cpu {pinned}`)" if pinned not in (UNKNOWN, "none") else "")
            + f". {migrated} of {total} repetitions moved to another CPU while timed "
            "(cpu_migrated = 1)")
    if worst:
        worst.sort(key=lambda w: (-w[0], w[1]))
        line += "; most in " + ", ".join(f"`{k}` ({m})" for m, k in worst[:3])
    return [line + ".", ""]


# The median between-process spread above which summary.md warns (the sentinel's level is
# pbresults.DRIFT_WARNING).
SPREAD_WARNING = 0.10


def median_between_spread(run: Run):
    """The median over rows of the between-process spread of each row's main metric, or None
    for a single-process run."""
    spreads = []
    for b in run.benches.values():
        if b.ok and b.scenario != "sentinel":
            v = b.between_spread(an.metrics_of(b.scenario, b)[0])
            if v is not None:
                spreads.append(v)
    if not spreads:
        return None
    spreads.sort()
    return spreads[len(spreads) // 2]


def warnings_section(run: Run) -> list:
    """The sentinel (the pipeline's `pollbench_sentinel_drift`, else computed from the
    sentinel rows) and the between-process spread: how far the numbers can be trusted."""
    out = _sentinel_lines(run) + _cross_cpu_lines(run)
    spread = median_between_spread(run)
    if spread is not None:
        sent = [b.between_spread("ns_per_roundtrip") for b in sentinel_rows(run)]
        sent = [v for v in sent if v is not None]
        also = (f"; the sentinel's own processes differ by {an.fmt_pct(max(sent))}"
                if sent else "")
        if spread > SPREAD_WARNING:
            out += [f"> **Warning: separate processes disagree**: the per-process medians of "
                    f"a row spread {an.fmt_pct(spread)} (median over rows, (max − min) / "
                    f"median){also}. A difference between rows smaller than that can be the "
                    "process (its CPU, its neighbours), not the code.", ""]
        else:
            out += [f"Between processes (the {run.processes()} processes of this run): the "
                    f"median row's per-process medians spread {an.fmt_pct(spread)}, under the "
                    f"{SPREAD_WARNING:.0%} warning level{also}.", ""]
    return out


UNSTABLE_MARK = "⚠"
UNSTABLE_TITLE = "Rows whose processes disagree"
UNSTABLE_SHOWN = 25  # rows listed; the rest are counted and flagged in their tables


def unstable_section(run: Run) -> list:
    """The rows whose per-process medians spread far beyond their scenario's (plots/
    stability.py), each with its spread and its process medians; [] when there is none."""
    rows = stability.unstable_rows(run)
    if not rows:
        return []
    counted = sum(1 for b in run.benches.values()
                  if b.ok and b.scenario != "sentinel"
                  and b.between_spread(stability.main_metric(b)) is not None)
    out = [f"## {UNSTABLE_TITLE}", "",
           f"{len(rows)} of {counted} rows: the medians of their {run.processes()} processes "
           "(main metric) spread beyond max(3 × the median spread of their scenario's rows, "
           f"{stability.FLOOR:.0%}), (max − min) / median, as pyperf calls a benchmark "
           "unstable. Their numbers depend on the process (where its memory and "
           "descriptors landed, its CPU, its neighbours) more than the other rows' do: rerun "
           f"such a row (`--filter`) before trusting a difference. {UNSTABLE_MARK} marks them "
           "in the tables below.", "",
           "| row | metric | spread | limit (scenario's median) | per-process medians |",
           "|---|---|---:|---:|---|"]
    for u in rows[:UNSTABLE_SHOWN]:
        meds = ", ".join(an.fmt_ns(m) for m in u.medians)
        out.append(f"| `{u.key}` | {u.metric} | {an.fmt_pct(u.spread)} | "
                   f"{an.fmt_pct(u.limit)} ({an.fmt_pct(u.typical)}) | {meds} |")
    out.append("")
    if len(rows) > UNSTABLE_SHOWN:
        out += [f"And {len(rows) - UNSTABLE_SHOWN} more, flagged {UNSTABLE_MARK} in their "
                "tables.", ""]
    return out


def _sentinel_lines(run: Run) -> list:
    drift = sentinel_drift(run)  # the pipeline's value when the context has it
    if drift is None:
        return ["> Note: this run has no noise sentinel, so how quiet the machine was is "
                "unknown.", ""]
    pts = ", ".join(f"at {k}: {an.fmt_ns(v)} ns" for k, v in drift[1])
    pts = f" ({pts})" if pts else ""
    if drift[0] > DRIFT_WARNING:
        return [f"> **Warning: the noise sentinel drifted {100 * drift[0]:.0f}%** during this "
                f"run{pts}. The same round trip got slower or faster while the sweep ran: "
                "the machine was busy, and differences of that size between rows mean "
                "nothing.", ""]
    return [f"Noise sentinel (one socketpair round trip, timed at points spread over the "
            f"sweep): drift {100 * drift[0]:.1f}%{pts}, under the "
            f"{DRIFT_WARNING:.0%} warning level.",
            ""]


def _cross_cpu_lines(run: Run) -> list:
    """The cross-CPU gauge: its level, and how far its processes disagree when there are
    several (the host changed the cost of one CPU waking another during the run)."""
    by_process = gauge_by_process(run, CROSS_CPU_GAUGE)
    values = [v for vals in by_process.values() for v in vals]
    if not values:
        return []
    rows = sum(1 for b in run.benches.values() if b.ok and b.cpus_used >= 2
               and b.scenario != "sentinel")
    what = (f"Cross-CPU sentinel (an eventfd round trip between two CPUs, each side asleep "
            f"until the other wakes it): {an.fmt_ns(statistics.median(values))} ns")
    carried = (f"Rows whose threads were on two CPUs (cpus_used ≥ 2; {rows} here) carry this "
               "cost, which the host of a VM can change by a quarter for minutes at a time; "
               "`./pollbench compare` reads it before it flags such a row.")
    meds = [statistics.median(v) for v in by_process.values() if v]
    if len(meds) < 2:
        return [f"{what}. {carried}", ""]
    spread = drift_of(meds)
    per = ", ".join(an.fmt_ns(m) for m in meds)
    if spread > DRIFT_WARNING:
        return [f"> **Warning: the cross-CPU sentinel's processes disagree by "
                f"{100 * spread:.0f}%** ({per} ns): the cost of one CPU waking another "
                f"changed during this run. {carried}", ""]
    return [f"{what}; its processes agree within {100 * spread:.1f}% ({per} ns). {carried}",
            ""]


def fits_section(run: Run) -> list:
    fits = an.all_scaling_fits(run)
    if not fits:
        return []
    out = ["## Measured complexity", "",
           "Least-squares slope of log(ns per event) against log(N) at 1 active fd, every "
           "repetition one point (in a run of several processes: every process's median), with a 95% confidence interval (Student t). A slope of ≈1 "
           f"means cost grows linearly with N (O(N)), ≈0 that it does not grow (O(1)); the words "
           f"follow the interval: linear when it holds 1, flat when it lies within "
           f"±{FLAT}, below or worse than linear when it lies below or above 1. "
           f"\"Large N\" starts at N = {an.LARGE_N} (where the fixed syscall cost no longer "
           "hides the growth), or lower so that the range spans at least 8× in N; the "
           "measured complexity is read from it.", ""]
    rows = []
    for f in fits:
        full = f.full.describe() if f.full else "–"
        large = f"{f.large.describe()} (N {an.fmt_n(f.large.n_min)}–{an.fmt_n(f.large.n_max)})" \
            if f.large else "–"
        rows.append([f"{f.scenario}/{f.backend}", full, large,
                     f.best.complexity() if f.best else "–"])
    out += _table(["benchmark", "slope, all N [95% CI]", "slope, large N [95% CI]",
                   "measured complexity"], rows, left=4)
    out += _below_linear_lines(run, fits)
    if any(f.best and f.best.slope > 1.25 for f in fits):
        out += ["A slope above 1 means the cost per polled fd itself rises with N: the "
                "mechanism still walks every fd and, most likely, past some N their kernel state (file, "
                "socket, wait queue) no longer stays in the CPU caches, so each one costs "
                "more.", ""]
    return out


def _below_linear_lines(run: Run, fits: list) -> list:
    """Why an O(N) row's slope is below 1 over its N: a fixed per-call cost (the syscall
    itself) beside the cost per registered fd. Fitted, not assumed: cost ≈ a + b·N on the
    row's medians, and that line's own log-log slope, b·N / (a + b·N), at both ends."""
    words = []
    for f in fits:
        below = [x for x in (f.full, f.large) if x is not None and x.ci_low is not None
                 and x.ci_high < 1.0 and x.ci_low >= 0.5]
        if not below:
            continue
        rows = [(n, b.median(an.COST)) for n, b in an.series_over_fds(run, f.scenario,
                                                                       f.backend)]
        lin = linear_fit([n for n, _ in rows], [v for _, v in rows])
        if lin is None or lin.fixed <= 0 or lin.per_item <= 0:
            continue
        n0, n1 = rows[0][0], rows[-1][0]
        words.append(f"`{f.scenario}/{f.backend}` ≈ {an.fmt_ns(lin.fixed)} ns + "
                     f"{an.fmt_ns(lin.per_item)} ns × N, whose log-log slope is "
                     f"{lin.local_slope(n0):.2f} at N = {an.fmt_n(n0)} and "
                     f"{lin.local_slope(n1):.2f} at N = {an.fmt_n(n1)}")
    if not words:
        return []
    return ["A slope below 1 with an interval that excludes 1 is an O(N) cost beside a fixed "
            "cost per call (the syscall, the loop) that still weighs at the smaller N — a "
            "line through the medians, fitted by relative least squares: "
            + "; ".join(words) + ".", ""]


def dispatch_section(run: Run) -> list:
    out = []
    lines = []
    for bk in run.backends("dispatch"):
        lines.append((bk, dict(an.series_over_fds(run, "dispatch", bk))))
        mech = an.raw_of(run, bk)
        if mech and run.backends("raw") and mech in run.backends("raw"):
            lines.append((f"raw {mech}", dict(an.series_over_fds(run, "raw", mech))))
    for mech in run.backends("raw"):
        if not any(label == f"raw {mech}" for label, _ in lines):
            lines.append((f"raw {mech}", dict(an.series_over_fds(run, "raw", mech))))
    lines = [(label, pts) for label, pts in lines if pts]
    if lines:
        out += ["## dispatch and raw: cost against total fds (1 active fd)", "",
                f"Median ns per event {noise_words(run)}. `raw` is the same loop on the bare "
                "syscall.", ""]
        out += _table(["N"] + [label for label, _ in lines], _grid(run, lines))

    sweeps = []
    for scen, names in (("dispatch", run.backends("dispatch")), ("raw", run.backends("raw"))):
        for bk in names:
            s = an.active_sweep(run, scen, bk)
            if s:
                label = bk if scen == "dispatch" else f"raw {bk}"
                sweeps.append((f"{label} (N = {an.fmt_n(s[0])})", dict(s[1])))
    if sweeps:
        out += ["## dispatch and raw: cost against active fds", "",
                f"Median ns per event {noise_words(run)}, A of the N fds ready per "
                "iteration.", ""]
        out += _table(["A"] + [label for label, _ in sweeps], _grid(run, sweeps))

    ratios = [(bk, an.overhead_series(run, bk)) for bk in run.backends("dispatch")]
    ratios = [(bk, s) for bk, s in ratios if s]
    if ratios:
        out += ["## Interface overhead", "",
                "Median ns per event of `dispatch/<backend>` over `raw/<mechanism>` at the "
                "same N (1 active fd), with its "
                f"{an.OVERHEAD_LEVEL:.0%} interval in brackets: the two rows ran interleaved "
                "in the same processes, so the interval comes from a bootstrap paired by "
                "process (processes resampled, then the repetitions within each). 1.00 = the "
                "Poller interface costs nothing; the target is within 5%.", ""]
        xs = sorted({p.n for _, s in ratios for p in s})
        table = {bk: {p.n: p for p in s} for bk, s in ratios}
        rows = [[an.fmt_n(x)] + [_ratio_cell(table[bk].get(x)) for bk, _ in ratios]
                for x in xs]
        out += _table(["N"] + [f"{bk} / raw {an.raw_of(run, bk)}" for bk, _ in ratios], rows)
    return out


def _ratio_cell(r, digits: int = 3) -> str:
    """'1.012 [0.987, 1.040]' — a Ratio and its interval."""
    if r is None:
        return "–"
    if r.low is None:
        return f"{r.ratio:.{digits}f}"
    return f"{r.ratio:.{digits}f} [{r.low:.{digits}f}, {r.high:.{digits}f}]"


def chain_section(run: Run) -> list:
    backends = run.backends("chain")
    if not backends:
        return []
    out = ["## chain (libevent test/bench.c workload)", ""]
    actives = sorted({b.name.get("active") for b in run.select("chain")
                      if isinstance(b.name.get("active"), (int, float))})
    for a in actives:
        lines = [(bk, dict(an.series_over_fds(run, "chain", bk, active=a))) for bk in backends]
        lines = [(bk, pts) for bk, pts in lines if pts]
        if lines:
            out += [f"Median ns per event {noise_words(run)}, {a:,} active:", ""]
            out += _table(["N"] + [bk for bk, _ in lines], _grid(run, lines))
    return out


def churn_section(run: Run) -> list:
    backends = run.backends("churn")
    if not backends:
        return []
    out = ["## Registration churn", ""]
    if advice.churn_charges_the_wait(run):
        out += ["Each iteration adds N fds, waits once (timeout 0, nothing ready), removes them "
                "and waits once more: an add's (a remove's) cost counts its share of the wait "
                "after its batch, where the backends that defer the kernel's part of a "
                "registration (io_uring, libev, libuv, Asio) do it, and where poll and select "
                "scan the set.", ""]
    out += [f"Median ns per add / per remove {noise_words(run)} of add.", ""]
    data = {bk: dict(an.series_over_fds(run, "churn", bk, "ns_per_add", active=None))
            for bk in backends}
    xs = sorted({x for pts in data.values() for x in pts})
    rows = []
    for x in xs:
        row = [an.fmt_n(x)]
        for bk in backends:
            b = data[bk].get(x)
            if b is None:
                row.append("–")
            else:
                row.append(f"{an.fmt_ns(b.median('ns_per_add'))} / "
                           f"{an.fmt_ns(b.median('ns_per_remove'))}" + _noise(b, "ns_per_add"))
        rows.append(row)
    out += _table(["N"] + backends, rows)
    out += _churn_split(run, backends, data, xs)
    return out


def _churn_split(run: Run, backends: list, data: dict, xs: list) -> list:
    """Where an add's cost goes: the add() call alone and its share of the wait after the
    batch (ns_per_add_call, ns_per_wait_after_adds / N); [] for a file without them."""
    split = ("ns_per_add_call", "ns_per_wait_after_adds")
    if not any(b.has(split[0]) and b.has(split[1]) for pts in data.values() for b in pts.values()):
        return []
    rows = []
    for x in xs:
        row = [an.fmt_n(x)]
        for bk in backends:
            b = data[bk].get(x)
            if b is None or not (b.has(split[0]) and b.has(split[1])):
                row.append("–")
            else:
                row.append(f"{an.fmt_ns(b.median(split[0]))} + "
                           f"{an.fmt_ns(b.median(split[1]) / x)}")
        rows.append(row)
    return ["Of an add's median: the add() call + its share of the wait after the batch (ns; "
            "the wait alone is ns_per_wait_after_adds in results.json).", ""] + \
        _table(["N"] + backends, rows)


def _us(v) -> str:
    """ns -> µs with 3 significant digits (wakeup and timeout numbers are µs-sized)."""
    if v is None:
        return "–"
    us = v / 1e3
    return f"{us:,.0f}" if us >= 100 else f"{us:.3g}"


def _fmt_w(v) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v is not None else "–"


def library_section(run: Run) -> list:
    pairs = an.library_pairs(run)
    if not pairs:
        return []
    out = ["## Library over mechanism", "",
           "Median ns per event of `dispatch/<library>` over `dispatch/<mechanism>` at the same "
           "N (1 active fd): what the event library adds on top of the mechanism it runs on "
           f"(1.00 = nothing), with the {an.OVERHEAD_LEVEL:.0%} interval of a bootstrap "
           "paired by process in brackets.", ""]
    full = {lib: {p.n: p for p in an.library_ratio_series(run, lib)} for lib, _ in pairs}
    series = {lib: {n: p.ratio for n, p in pts.items()} for lib, pts in full.items()}
    xs = sorted({n for s in series.values() for n in s})
    rows = [[an.fmt_n(x)] + [_ratio_cell(full[lib].get(x), 2) for lib, _ in pairs]
            for x in xs]
    out += _table(["N"] + [f"{lib} / {mech}" for lib, mech in pairs], rows)
    words = []
    for lib, mech in pairs:
        s = series[lib]
        lo, hi = min(s.values()), max(s.values())
        span = f"{lo:.2f}×" if abs(hi - lo) < 0.005 else f"{lo:.2f}–{hi:.2f}×"
        words.append(f"{lib} costs {span} {mech} per event "
                     f"(N {an.fmt_n(min(s))}–{an.fmt_n(max(s))})")
    out += ["Ratio: " + "; ".join(words) + ".", ""]
    return out


def wakeup_section(run: Run) -> list:
    backends = an.wakeup_backends(run)
    placements = an.wakeup_placements(run)
    if not backends:
        return []
    out = ["## Wakeup latency", "",
           "A waiter thread blocks in `wait` on N registered fds; another thread writes one "
           "byte to one of them. Latency = the waiter's return − the write, per wakeup; "
           f"clock: {run.meta('pollbench_clock')}. Each cell is p50 / p99 in µs (the median "
           "over the repetitions of each quantile).", ""]
    for cpu in placements:
        lines = [(bk, dict(an.wakeup_series(run, bk, cpu))) for bk in backends]
        lines = [(bk, pts) for bk, pts in lines if pts]
        if not lines:
            continue
        xs = sorted({n for _, pts in lines for n in pts})
        rows = []
        for x in xs:
            row = [an.fmt_n(x)]
            for _, pts in lines:
                b = pts.get(x)
                row.append("–" if b is None else
                           f"{_us(b.median('p50_ns'))} / {_us(b.median('p99_ns'))}")
            rows.append(row)
        out += [f"**{_placement(cpu)}**", ""]
        out += _table(["N"] + [bk for bk, _ in lines], rows)
        grows, some, flat, words = [], [], [], []
        for bk, pts in lines:
            g = an.growth(sorted(pts.items()), "p50_ns")
            if g is None:
                continue
            n0, v0, n1, v1, ratio = g
            (grows if ratio >= 3 else some if ratio >= 1.5 else flat).append(bk)
            words.append(f"{bk} {_us(v0)} → {_us(v1)} µs (N {an.fmt_n(n0)} → {an.fmt_n(n1)}, "
                         f"×{ratio:.2f})")
        if words:
            text = []
            if grows:
                why = ""
                if all(run.registry.fact(bk, "wait_cost") == "per_registered"
                       for bk in grows):
                    why = ": each wait of an O(registered) mechanism adds a wait-queue " \
                          "entry for every polled fd"
                text.append(f"The p50 wakeup of {fmt_names(grows)} grows with N (3× or more "
                            f"over the N it ran{why})")
            if some:
                text.append(f"{'that of ' if grows else 'The p50 wakeup of '}{fmt_names(some)} "
                            "grows somewhat (1.5–3×)")
            if flat:
                text.append(f"{'that of ' if grows or some else 'The p50 wakeup of '}"
                            f"{fmt_names(flat)} stays within 1.5× over the N it ran")
            out += ["; ".join(text) + ". p50 from the smallest to the largest N: "
                    + "; ".join(words) + ".", ""]
    if "same" in placements and "other" in placements:
        ratios = []
        for bk in backends:
            same = an.wakeup_series(run, bk, "same")
            other = dict(an.wakeup_series(run, bk, "other"))
            if same and same[0][0] in other:
                a, b = same[0][1].median("p50_ns"), other[same[0][0]].median("p50_ns")
                if a and b:
                    ratios.append((bk, b / a))
        if ratios:
            ordered = sorted(r for _, r in ratios)
            med = ordered[len(ordered) // 2]
            out += [f"Waking a thread on the other CPU took {med:.2f}× the same-CPU p50 at the "
                    f"smallest N (median over {len(ratios)} backends; "
                    + ", ".join(f"{bk} ×{r:.2f}" for bk, r in ratios) + ").", ""]
    return out


def _placement(cpu) -> str:
    return {"same": "Waiter and driver on the same CPU (cpu:same)",
            "other": "Waiter and driver on different CPUs (cpu:other)"}.get(
                cpu, f"cpu:{cpu}" if cpu else "All rows")


def herd_section(run: Run) -> list:
    lines = an.herd_lines(run)
    if not lines:
        return []
    out = ["## Thundering herd", "",
           "W threads wait on the same fd (`herd/<backend>`: each waiter with its own wait set "
           "holding the fd; `herd_shared/<backend>`: one epoll set shared by all W). One byte is "
           "written per round and drained only after a settle window, so every waiter the "
           "kernel woke returns and is counted. Cells: waiters returned per written byte "
           "(median), and the time to the first return in µs.", ""]
    ws = sorted({w for _, _, rows in lines for w, _ in rows})
    cols = [(an.herd_label(scen, bk), dict(rows)) for scen, bk, rows in lines]
    rows = []
    for w in ws:
        row = [str(w)]
        for _, pts in cols:
            b = pts.get(w)
            row.append("–" if b is None else
                       f"{_fmt_w(b.median('woken_per_event'))} ({_us(b.median('first_return_ns'))})")
        rows.append(row)
    out += _table(["W"] + [label for label, _ in cols], rows)
    groups = {}
    for scen, bk, rows_ in lines:
        w, b = rows_[-1]
        woken = b.median("woken_per_event")
        verdict = an.herd_verdict(woken, w)
        groups.setdefault(verdict, []).append(f"{an.herd_label(scen, bk)} "
                                              f"({_fmt_w(woken)} of {w})")
    text = {"all": "woke all W waiters for every byte",
            "about one": "woke about one waiter per byte",
            "some": "woke more than one waiter but not all",
            "one waiter only": "were run with one waiter only"}
    parts = [f"{fmt_names(groups[v])} {text[v]}" for v in ("all", "some", "about one",
                                                         "one waiter only") if v in groups]
    out += [f"At the largest W on this kernel ({run.meta('pollbench_kernel')}): "
            + "; ".join(parts) + ".", ""]
    return out


def timeout_section(run: Run) -> list:
    table = an.timeout_table(run)
    if not table:
        return []
    slack = run.meta("pollbench_timer_slack_ns")
    out = ["## Timeout accuracy", "",
           "With nothing ready, a wait with timeout T returned this much later than T. Cells: "
           "p50 / p99 / max lateness in µs. The `raw …` rows are `raw_timeout/<path>`: a "
           "bare wait path with a nanosecond timeout, no Poller, shown as their own group "
           "after the backends. Default timer slack: "
           + (f"{float(slack) / 1e3:g} µs." if slack != UNKNOWN else "unknown."), ""]
    ts = sorted({t for per in table.values() for t in per})
    rows = []
    for bk, per in table.items():
        row = [bk]
        for t in ts:
            b = per.get(t)
            row.append("–" if b is None else
                       " / ".join(_us(b.median(c)) for c in ("late_p50_ns", "late_p99_ns",
                                                            "late_max_ns")))
        rows.append(row)
    out += _table(["backend"] + [f"T = {t:,} µs" for t in ts], rows)
    for t in ts:
        got = sorted(((per[t].median("late_p50_ns"), bk) for bk, per in table.items()
                      if t in per and per[t].median("late_p50_ns") is not None))
        if not got:
            continue
        rounded = [bk for late, bk in got if an.rounded_to_ms(t, late)]
        fine = [(late, bk) for late, bk in got if bk not in rounded]
        sentence = f"T = {t:,} µs: "
        if fine:
            sentence += (fmt_names([f"{bk} {_us(late)}" for late, bk in fine])
                         + " µs late (p50)")
        if rounded:
            lates = [late for late, bk in got if bk in rounded]
            sentence += ("; " if fine else "") + (
                f"{fmt_names(rounded)} {_us(min(lates))}–{_us(max(lates))} µs late: "
                f"their timeout is in whole milliseconds, so {t:,} µs became "
                f"{math.ceil(t / 1000):,} ms")
        out += [sentence + ".", ""]
    return out


def scenario_sections(run: Run) -> tuple:
    """(lines, rendered): every descriptor's sections in descriptor order, and the scenarios
    they showed (a scenario that is part of another counts when that one showed)."""
    lines, rendered = [], set()
    for desc in scenarios.SCENARIOS:
        for name in desc.sections:
            part = name(run)
            if part:
                rendered.add(desc.name)
            lines += part
    rendered |= {d.name for d in scenarios.SCENARIOS if d.part_of in rendered or not d.table}
    return lines, rendered


def other_section(run: Run, rendered: set = frozenset()) -> list:
    """Scenarios without a descriptor (e.g. a newer suite), and those whose sections found
    none of their counters: a plain table each."""
    out = []
    for scen in dict.fromkeys(b.scenario for b in run.benches.values() if b.ok):
        if scen in rendered:
            continue
        rows = []
        for b in run.select(scen):
            metrics = [c for c in an.metrics_of(scen, b) if b.has(c)] or ["real_time_ns"]
            for c in metrics:
                rows.append([f"`{b.name.key}`", c, _med_cv(b, c)])
        out += [f"## {scen}", ""] + _table(["benchmark", "metric", "median (CV)"], rows, left=2)
    return out


def charts_section(drawn: list) -> list:
    if not drawn:
        return []
    out = ["## Charts", ""]
    for chart, _ in drawn:
        out += [f"### {chart.title}", "",
                f"![{chart.title}]({chart.stem}.png)", "",
                f"[SVG]({chart.stem}.svg)", ""]
    return out


def render(run: Run, drawn: list) -> str:
    lines = [f"# pollbench results: {run.label}", "",
             f"{run.subtitle()}", ""]
    lines += advice.section(run)
    lines += warnings_section(run)
    lines += unstable_section(run)
    lines += machine_section(run)
    lines += run_section(run)
    lines += fits_section(run)
    part, rendered = scenario_sections(run)
    lines += part
    lines += other_section(run, rendered)
    lines += syscalls.summary_section(run)
    lines += charts_section(drawn)
    return "\n".join(lines).rstrip() + "\n"


def write_all(run: Run, out_dir: str) -> list:
    """Draw every chart, then write them and summary.md; returns the paths written."""
    drawn = charts.draw_charts(run)
    text = render(run, drawn)          # built before anything is written
    written = []
    for chart, fig in drawn:
        written += charts.save_figure(fig, out_dir, chart.stem)
    path = os.path.join(out_dir, "summary.md")

    def write_text(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    charts.atomic_write(path, write_text)
    return written + [path]


# The sections written here, by scenario; then the modules that present the others' charts and
# sections, after these (chain's time split follows chain's own section).
scenarios.present("dispatch", sections=(dispatch_section, library_section))
scenarios.present("chain", sections=(chain_section,))
scenarios.present("churn", sections=(churn_section,))
scenarios.present("wakeup", sections=(wakeup_section,))
scenarios.present("herd", sections=(herd_section,))
scenarios.present("timeout", sections=(timeout_section,))
import loopfds  # noqa: E402,F401  the timers, signals and wake descriptors
import c10k  # noqa: E402,F401  the server
import timesplit  # noqa: E402,F401  where an event's time goes
