"""Two runs side by side: B/A ratios of the medians of every benchmark both ran.

A row is flagged as a real difference only when its 99% interval of B/A excludes 1
(stats.difference): the per-process medians of each run, on a log scale, are the samples
of Student's t interval (variance pooled over both runs, and for a row quieter than the other
rows of its scenario and metric moderated with theirs: stats.Prior), so the variation between
processes — which repetitions inside one process cannot show — is part of the noise. When a
side has a single process the
repetitions are the samples and the row says so ("1 process": between-process noise
unknown, the interval is too narrow). With a single repetition on a side the noise is
unknown and the row is marked "?", never flagged.

`difference_of` compares any two rows (e.g. dispatch/epoll_lt of one run against
dispatch/epoll_oneshot of another); `python3 plots/compare.py A.json ROW_A B.json ROW_B`
prints it.

The input files are only read, so they stay in the format Google Benchmark's tools/compare.py
accepts (`compare.py benchmarks A.json B.json`) where that tool is installed.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import analysis as an
import scenarios
import stability
import stats
from pbresults import (CROSS_CPU_GAUGE, DRIFT_WARNING, SENTINEL_GAUGE, Bench, ResultsError, Run,
                       gauge_by_process, sentinel_drift)

RULE = (f"flagged when the {stats.COMPARE_LEVEL:.0%} interval of B/A excludes 1: Student's t "
        "on the log of each process's median (the process is the unit, so between-process "
        "noise counts), a row quieter than the other rows of its scenario and metric "
        "moderated with theirs; a side with one process falls back to its repetitions. When "
        "a gauge of the sentinel itself moved beyond noise (the same-CPU round trip; for a "
        "row whose threads were on two CPUs, cpus_used ≥ 2, also the cross-CPU one), a time "
        "that moved the same way, its interval reaching no further than the gauge's, is "
        "marked \"moved with the machine\" instead of flagged")


@dataclass
class Row:
    key: str
    scenario: str
    backend: str
    metric: str
    n: object
    active: object
    a: float
    b: float
    cv_a: float | None
    cv_b: float | None
    verdict: str  # "slower", "faster", "same" (within noise) or "?" (noise unknown)
    low: float | None = None   # the interval of B/A
    high: float | None = None
    basis: str = ""            # "processes" or "repetitions"
    unstable: str = ""         # "A", "B" or "A, B": its processes disagree there (stability)
    cpus_used: int = 0         # the CPUs its threads were on, the fewer of the two runs'

    @property
    def ratio(self) -> float:
        return self.b / self.a


def difference_of(a: Bench, b: Bench, metric: str,
                  prior: stats.Prior | None = None) -> stats.Difference | None:
    """B against A for any two rows and a metric: the ratio of their medians, its interval and
    whether it is flagged (stats.difference; with a `prior`, e.g. Comparison.prior() of the
    two runs, the interval is moderated as compare's own rows are). None when a side has no
    value."""
    if a.values(metric) is None or b.values(metric) is None:
        return None
    return stats.difference(a.by_process(metric), b.by_process(metric), prior=prior)


# The sentinel's gauges (pbresults): what each one explains. The same-CPU round trip moves
# with the machine's speed (its host's load, its frequency), which every row feels; the
# cross-CPU one with the cost of one CPU waking another, which only a row whose threads were on
# two CPUs feels.
GAUGES = ((SENTINEL_GAUGE, "the same-CPU round trip", 1),
          (CROSS_CPU_GAUGE, "the cost of one CPU waking another", 2))


def gauge_shifts(a: Run, b: Run) -> dict:
    """{gauge: B against A for it (every repetition of its rows, pooled per process), or None
    when a run has no such rows}: how far the machine itself moved between the runs."""
    return {g: stats.difference(gauge_by_process(a, g), gauge_by_process(b, g))
            for g, _, _ in GAUGES}


def _within(r: Row, shift: stats.Difference | None) -> bool:
    """The row moved the way the gauge did, beyond noise, and its interval reaches no further
    than the gauge's."""
    if shift is None or not shift.flagged:
        return False
    if r.verdict == "slower" and shift.low > 1.0:
        return r.low <= shift.high
    if r.verdict == "faster" and shift.high < 1.0:
        return r.high >= shift.low
    return False


def moved_with_machine(r: Row, shifts: dict) -> bool:
    """Whether a flagged row's move is the machine's: its metric is a time, and it moved with a
    gauge that explains it (GAUGES: the cross-CPU one only for a row whose threads were on two
    CPUs), no further than that gauge. A row that moved further or the other way stays
    flagged: the machine does not explain it."""
    if r.verdict not in ("slower", "faster") or r.low is None:
        return False
    if not (r.metric.endswith("_ns") or "ns_per_" in r.metric):
        return False
    on = max(r.cpus_used, 1)  # a row that does not say ran on one CPU at a time
    return any(_within(r, shifts.get(g)) for g, _, cpus in GAUGES if on >= cpus)


class Comparison:
    def __init__(self, a: Run, b: Run):
        self.a, self.b = a, b
        self.rows: list = []
        self.shifts = gauge_shifts(a, b)
        shared = [k for k in a.benches if k in b.benches]
        pairs = []
        for key in shared:
            ba, bb = a.benches[key], b.benches[key]
            if not (ba.ok and bb.ok):
                continue
            for metric in an.metrics_of(ba.scenario, ba):
                if ba.median(metric) and bb.median(metric):
                    pairs.append((key, ba, bb, metric))
        # What every row of a scenario and metric says about their noise, for each row's
        # moderated interval (stats.Prior).
        variances = {}
        for _, ba, bb, metric in pairs:
            variances.setdefault((ba.scenario, metric), []).append(
                stats.row_variance(ba.by_process(metric), bb.by_process(metric)))
        self.priors = {k: stats.prior_of(v) for k, v in variances.items()}
        unstable = (stability.unstable_keys(a), stability.unstable_keys(b))
        for key, ba, bb, metric in pairs:
            d = difference_of(ba, bb, metric, self.prior(ba.scenario, metric))
            self.rows.append(Row(key, ba.scenario, ba.backend, metric, ba.name.get("fds"),
                                 ba.name.get("active"), ba.median(metric), bb.median(metric),
                                 ba.cv(metric), bb.cv(metric), d.verdict if d else "?",
                                 d.low if d else None, d.high if d else None,
                                 d.basis if d else "",
                                 ", ".join(tag for tag, u in zip("AB", unstable)
                                           if key in u and u[key].metric == metric),
                                 min(ba.cpus_used, bb.cpus_used)))
            if moved_with_machine(self.rows[-1], self.shifts):
                self.rows[-1].verdict = "machine"
        # Benchmarks that ran (or were skipped) in one run only: listed, never dropped.
        self.only_a = [k for k in a.benches if k not in b.benches]
        self.only_b = [k for k in b.benches if k not in a.benches]
        # Present in both but skipped/errored in one or both: listed with the reason.
        self.unusable = []
        for key in shared:
            ba, bb = a.benches[key], b.benches[key]
            if not (ba.ok and bb.ok):
                why = ba.error if not ba.ok else bb.error
                side = "both" if not (ba.ok or bb.ok) else ("A" if not ba.ok else "B")
                self.unusable.append((key, side, why))
        if not self.rows:
            raise ResultsError(b.path, f"nothing in common with {a.path} "
                               "(no benchmark has data in both runs)")

    def prior(self, scenario: str, metric: str) -> stats.Prior | None:
        return self.priors.get((scenario, metric))

    def flagged(self) -> list:
        return [r for r in self.rows if r.verdict in ("slower", "faster")]

    def with_machine(self) -> list:
        """Rows not flagged because they moved with a gauge of the sentinel (moved_with_machine)."""
        return [r for r in self.rows if r.verdict == "machine"]

    def spread(self) -> tuple:
        """(median, 90th percentile) of |B/A - 1| over every compared row: in an A/A test (two
        runs of one build) how far apart two runs land, whatever is flagged."""
        dev = sorted(abs(r.ratio - 1) for r in self.rows)
        return dev[len(dev) // 2], dev[min(len(dev) - 1, math.ceil(0.9 * len(dev)) - 1)]

    def spread_line(self) -> str:
        med, p90 = self.spread()
        return (f"|B/A - 1| over all {len(self.rows)} rows: median {100 * med:.1f}%, "
                f"90th percentile {100 * p90:.1f}%")


def _fmt_cv(v) -> str:
    return an.fmt_pct(v) if v is not None else "?"


MARK = {"slower": "SLOWER", "faster": "faster", "same": "", "?": "? (1 repetition)",
        "machine": "moved with the machine"}


def _unstable(r: Row) -> str:
    """'processes disagree in A': the row is unstable in that run (plots/stability.py)."""
    return f"processes disagree in {r.unstable}" if r.unstable else ""


def _mark(r: Row) -> str:
    one = " (1 process)" if r.basis == "repetitions" and r.verdict != "?" else ""
    return "; ".join(p for p in (MARK[r.verdict] + one, _unstable(r)) if p)


def _interval(r: Row) -> str:
    return "?" if r.low is None else f"{r.low:.3f}–{r.high:.3f}"


def _with_machine(c: Comparison) -> str:
    n = len(c.with_machine())
    return f", {n} moved with the machine" if n else ""


def table_lines(c: Comparison) -> list:
    out = [f"A: {c.a.path}  ({c.a.subtitle()})",
           f"B: {c.b.path}  ({c.b.subtitle()})",
           f"B/A = median of B / median of A (all repetitions); {RULE}",
           f"processes: A {c.a.processes()}, B {c.b.processes()}", ""]
    w = max(len(r.key) for r in c.rows) + 2
    header = f"{'benchmark':<{w}}{'metric':<15}{'A':>10}{'B':>10}{'B/A':>8}{'99% interval':>14}" \
             f"{'CV A':>7}{'CV B':>7}  verdict"
    out += [header, "-" * len(header)]
    for r in c.rows:
        out.append(f"{r.key:<{w}}{r.metric:<15}{an.fmt_ns(r.a):>10}{an.fmt_ns(r.b):>10}"
                   f"{r.ratio:>8.3f}{_interval(r):>14}{_fmt_cv(r.cv_a):>7}{_fmt_cv(r.cv_b):>7}"
                   f"  {_mark(r)}")
    f = c.flagged()
    out += [f"WARNING: {w}" for w in noise_warnings(c)]
    out += ["", f"{len(c.rows)} compared, {len(f)} differ beyond noise "
                f"({sum(r.verdict == 'slower' for r in f)} slower in B, "
                f"{sum(r.verdict == 'faster' for r in f)} faster in B){_with_machine(c)}",
            c.spread_line()]
    for label, keys in (("only in A", c.only_a), ("only in B", c.only_b)):
        if keys:
            out.append(f"{label} ({len(keys)}): " + ", ".join(keys))
    one_side = [(k, side, why) for k, side, why in c.unusable if side != "both"]
    both = [k for k, side, _ in c.unusable if side == "both"]
    if one_side:
        out.append(f"skipped in one run only ({len(one_side)}): " +
                   ", ".join(f"{k} [{side}: {why}]" for k, side, why in one_side))
    if both:
        out.append(f"skipped in both runs ({len(both)}): " + ", ".join(both))
    return out


def markdown(c: Comparison, chart_stem: str | None) -> str:
    lines = [f"# pollbench comparison: {c.b.label} / {c.a.label}", "",
             f"- **A**: `{c.a.path}` — {c.a.subtitle()}, commit {c.a.meta('pollbench_git_commit')}",
             f"- **B**: `{c.b.path}` — {c.b.subtitle()}, commit {c.b.meta('pollbench_git_commit')}",
             "",
             "B/A is the ratio of the medians over all repetitions (> 1: B is slower). A row is "
             f"{RULE}. `?` means one side has a single repetition, so its noise is unknown; "
             "\"1 process\" marks a verdict from the repetitions of a single process, which "
             "cannot show the variation between processes; \"processes disagree in A\" "
             "marks a row whose processes spread far beyond the other rows of its scenario in "
             "that run (summary.md lists them), so its verdict is less sure than its interval "
             "says.",
             f"Processes: A {c.a.processes()}, B {c.b.processes()}.", ""]
    f = c.flagged()
    lines += [f"> **Warning:** {w}." for w in noise_warnings(c)]
    if noise_warnings(c):
        lines.append("")
    lines += [f"{len(c.rows)} rows compared; **{len(f)} differ beyond noise** "
              f"({sum(r.verdict == 'slower' for r in f)} slower in B, "
              f"{sum(r.verdict == 'faster' for r in f)} faster in B){_with_machine(c)}; "
             f"{c.spread_line()}.", ""]
    if chart_stem:
        lines += [f"![B/A ratios]({chart_stem}.png)", "", f"[SVG]({chart_stem}.svg)", ""]
    lines += ["| benchmark | metric | A | B | B/A | 99% interval | CV A | CV B | verdict |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in c.rows:
        v = {"slower": "**slower**", "faster": "**faster**", "same": "within noise",
             "?": "?", "machine": "moved with the machine"}[r.verdict]
        if r.basis == "repetitions" and r.verdict != "?":
            v += " (1 process)"
        v = "; ".join(p for p in (v, _unstable(r)) if p)
        lines.append(f"| `{r.key}` | {r.metric} | {an.fmt_ns(r.a)} | {an.fmt_ns(r.b)} | "
                     f"{r.ratio:.3f} | {_interval(r)} | {_fmt_cv(r.cv_a)} | {_fmt_cv(r.cv_b)} "
                     f"| {v} |")
    lines.append("")
    for label, keys in (("Only in A", c.only_a), ("Only in B", c.only_b)):
        if keys:
            lines += [f"## {label}", ""] + [f"- `{k}`" for k in keys] + [""]
    if c.unusable:
        lines += ["## Skipped in one or both runs", ""]
        lines += [f"- `{k}` ({side}): {why}" for k, side, why in c.unusable] + [""]
    return "\n".join(lines).rstrip() + "\n"


# Panels of the ratio chart: (scenario, metric, title); each line is one backend at A = 1.
PANELS = [("dispatch", an.COST, "dispatch, ns/event"), ("raw", an.COST, "raw, ns/event"),
          ("chain", an.COST, "chain, ns/event"), ("churn", "ns_per_add", "churn, ns/add"),
          ("churn", "ns_per_remove", "churn, ns/remove")]


RATIO_TICKS = [0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 4, 5, 10]


def noise_warnings(c: Comparison) -> list:
    """Say when the machine itself moved: the sentinel drifted within a run, or the same
    round trip is slower in one run than in the other (then B/A of that size is the machine,
    not the code)."""
    out = []
    for tag, run in (("A", c.a), ("B", c.b)):
        d = sentinel_drift(run)
        if d is not None and d[0] > DRIFT_WARNING:
            out.append(f"run {tag}'s noise sentinel drifted {100 * d[0]:.0f}% during the run")
    sent = [r for r in c.rows if r.scenario == "sentinel" and r.backend == SENTINEL_GAUGE]
    same_cpu = c.shifts.get(SENTINEL_GAUGE)
    if sent and not (same_cpu and same_cpu.flagged):
        ratios = sorted(r.ratio for r in sent)
        mid = ratios[len(ratios) // 2]
        if abs(mid - 1) > 0.10:
            out.append(f"the sentinel round trip itself is {mid:.2f}x in B: the machines (or "
                       "their load) differ by about that much, whatever the code does")
    moved = [r for r in c.with_machine() if r.scenario != "sentinel"]
    for gauge, what, cpus in GAUGES:
        s = c.shifts.get(gauge)
        if s is not None and s.flagged:
            rows = "rows" if cpus == 1 else "rows whose threads were on two CPUs"
            out.append(f"{what} (sentinel/{gauge}) is {s.ratio:.2f}x [{s.low:.2f}, "
                       f"{s.high:.2f}] in B: the machine moved, not the code; {rows} that "
                       "moved the same way, no further, are marked \"moved with the "
                       "machine\" rather than flagged")
    if moved:
        out.append(f"{len(moved)} rows moved with the machine: rerun both runs, on a quiet "
                   "machine, to compare them")
    return out


def draw_chart(c: Comparison):
    import charts
    panels = []
    for scen, metric, title in PANELS:
        rows = [r for r in c.rows if r.scenario == scen and r.metric == metric
                and isinstance(r.n, (int, float)) and r.active in (1, None)]
        if len({r.n for r in rows}) >= 1 and rows:
            panels.append((title, rows))
    if not panels:
        return None
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.2 * ncols + 1.6, 4.2 * nrows + 0.9), dpi=110, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).flatten()
    fig.suptitle(f"B / A per benchmark (1 active fd); filled = beyond the runs' noise\n"
                 f"A: {c.a.label} — {c.a.machine()}\nB: {c.b.label} — {c.b.machine()}",
                 fontsize=10)
    seen = {}
    for ax, (title, rows) in zip(axes, panels):
        ax.axhline(1.0, color="0.3", linewidth=1.0)
        slot = scenarios.slot_of(rows[0].scenario)
        for backend in c.a.registry.order(dict.fromkeys(r.backend for r in rows), slot):
            mine = sorted((r for r in rows if r.backend == backend), key=lambda r: r.n)
            color, marker = charts.style(c.a, backend)
            label = f"raw {backend}" if mine[0].scenario == "raw" else backend
            h, = ax.plot([r.n for r in mine], [r.ratio for r in mine], color=color,
                         linewidth=1.4, linestyle="--" if mine[0].scenario == "raw" else "-")
            for r in mine:
                flagged = r.verdict in ("slower", "faster")
                ax.plot([r.n], [r.ratio], marker=marker, color=color, markersize=7,
                        markerfacecolor=color if flagged else "white", linestyle="none")
            if label not in seen:
                seen[label] = (h, color, marker)
        charts.log_axis(ax, "x")
        charts.data_ticks(ax, [r.n for r in rows])
        # Log scale, so 2x slower and 2x faster are the same distance from 1; ticks at
        # readable ratios instead of matplotlib's decade-based ones.
        ax.set_yscale("log")
        lo = min(0.8, min(r.ratio for r in rows) / 1.1)
        hi = max(1.25, max(r.ratio for r in rows) * 1.1)
        ax.set_ylim(lo, hi)
        ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
        ax.yaxis.set_minor_locator(charts.NullLocator())
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("total fds N")
        ax.set_ylabel("B / A (median)")
        ax.grid(True, alpha=0.3)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=col, marker=m, label=lab,
                      linestyle="--" if lab.startswith("raw ") else "-")
               for lab, (h, col, m) in seen.items()]
    handles += [Line2D([], [], color="0.4", marker="o", linestyle="none",
                       label="beyond noise (flagged)"),
                Line2D([], [], color="0.4", marker="o", markerfacecolor="white",
                       linestyle="none", label="within noise")]
    spare = axes[len(panels):]
    for ax in spare:
        ax.axis("off")  # no empty panels: a spare slot holds the legend, the rest is blank
    if len(spare):
        spare[0].legend(handles=handles, loc="upper left", fontsize=9, frameon=False)
    else:
        axes[len(panels) - 1].legend(handles=handles, loc="upper left",
                                     bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False)
    return fig


def write_all(c: Comparison, out_dir: str) -> list:
    import charts
    stem = f"compare-{c.a.label}"
    if c.a.label == c.b.label:
        stem = "compare"
    fig = draw_chart(c)
    text = markdown(c, stem if fig is not None else None)
    written = charts.save_figure(fig, out_dir, stem) if fig is not None else []
    path = os.path.join(out_dir, stem + ".md")

    def write_text(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    charts.atomic_write(path, write_text)
    return written + [path]


def main(argv) -> int:
    """compare.py A.json ROW_A B.json ROW_B [METRIC]: one row of A against one row of B."""
    from pbresults import load
    if len(argv) not in (4, 5):
        print("usage: compare.py A.json ROW_A B.json ROW_B [METRIC]", file=sys.stderr)
        return 2
    try:
        runs = [load(argv[0]), load(argv[2])]
    except ResultsError as e:
        print(e.line(), file=sys.stderr)
        return 1
    benches = []
    for run, key in zip(runs, (argv[1], argv[3])):
        b = run.benches.get(key)
        if b is None or not b.ok:
            print(f"pollbench: {run.path}: no data for {key}", file=sys.stderr)
            return 1
        benches.append(b)
    metric = argv[4] if len(argv) == 5 else an.metrics_of(benches[0].scenario, benches[0])[0]
    d = difference_of(benches[0], benches[1], metric)
    if d is None:
        print(f"pollbench: {metric}: not measured by both rows", file=sys.stderr)
        return 1
    interval = "unknown" if not d.known else f"{d.low:.3f}–{d.high:.3f}"
    print(f"{argv[3]} / {argv[1]} ({metric}): {d.ratio:.3f}, "
          f"{stats.COMPARE_LEVEL:.0%} interval {interval} from {d.basis}: "
          f"{'flagged (' + d.verdict + ')' if d.flagged else 'not flagged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
