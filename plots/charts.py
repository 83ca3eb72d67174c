"""The charts of one run. Each chart is a function Run -> Figure (or None when the run has no
data for it, so no empty panel is ever drawn), listed in CHARTS; `write_charts` saves every
one as PNG and SVG, each through a temporary file renamed into place.

Adding a chart (e.g. issue 5's wakeup-latency percentiles) = one function + one CHARTS row;
the summary embeds whatever was drawn, in CHARTS order.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (FuncFormatter, LogLocator, NullFormatter,  # noqa: E402
                               NullLocator)

import analysis as an  # noqa: E402
from pbresults import Run  # noqa: E402

# Reproducible SVGs: no random ids, no creation date, so re-plotting the same run gives
# byte-identical files and git diffs stay quiet.
matplotlib.rcParams["svg.hashsalt"] = "pollbench"
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["font.size"] = 10

# --- backend styles -------------------------------------------------------------------------
# One colour + marker per backend, the same in every chart (and in compare). Known and
# announced backends are fixed here; anything else gets a stable pick from FALLBACK by a hash
# of its name, so it also keeps its look from run to run.
BACKEND_STYLE = {
    "select": ("#d62728", "s"),
    "poll": ("#ff7f0e", "^"),
    "epoll_lt": ("#1f77b4", "o"),
    "epoll_et": ("#17becf", "D"),
    "epoll_oneshot": ("#393b79", "v"),
    "epoll_exclusive": ("#6baed6", "<"),
    "uring_oneshot": ("#2ca02c", "P"),
    "uring_multishot": ("#98df8a", "X"),
    "libevent_epoll": ("#9467bd", "h"),
    "libevent_poll": ("#c5b0d5", "H"),
    "libevent_select": ("#8c564b", "d"),
    "libuv": ("#e377c2", "*"),
}
FALLBACK = [("#7f7f7f", "p"), ("#bcbd22", ">"), ("#8c6d31", "8"), ("#ad494a", "x"),
            ("#637939", "+"), ("#7b4173", "1")]


def style(backend: str) -> tuple:
    if backend in BACKEND_STYLE:
        return BACKEND_STYLE[backend]
    h = int(hashlib.sha1(backend.encode()).hexdigest(), 16)
    return FALLBACK[h % len(FALLBACK)]


# Every ns chart draws the median of the repetitions and shades their min..max.
SPREAD = "\nmedian; band = min–max of the repetitions"

# --- figure helpers -------------------------------------------------------------------------

def new_figure(run: Run, title: str, ncols: int = 1, width: float = 10.0,
               height: float = 6.0):
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    # Two-line heading: what the chart shows, then which machine and when.
    fig.suptitle(f"{title}\n{run.subtitle()}", fontsize=11)
    for ax in axes:
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    return fig, list(axes)


def _int_ticks(v, _pos):
    return f"{v:,.0f}" if v >= 1 else f"{v:g}"


def log_axis(ax, axis: str = "x"):
    """Log scale with plain numbers (16, 1,024, ...) instead of 10^k."""
    getattr(ax, f"set_{axis}scale")("log", base=2 if axis == "x" else 10)
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_formatter(FuncFormatter(_int_ticks))
    if axis == "y":
        a.set_minor_locator(LogLocator(base=10, subs=(2, 5)))
        a.set_minor_formatter(FuncFormatter(_int_ticks))
    else:
        a.set_minor_formatter(NullFormatter())


def data_ticks(ax, values) -> None:
    """Label the x axis at the N values actually run (1,000 and 9,000 for chain) when they
    are few and far enough apart not to collide; otherwise keep the powers of two."""
    xs = sorted({v for v in values if isinstance(v, (int, float)) and v > 0})
    if 2 <= len(xs) <= 6 and all(b / a >= 1.6 for a, b in zip(xs, xs[1:])):
        ax.set_xticks(xs)
        ax.xaxis.set_minor_formatter(NullFormatter())


def legend(ax, outside: bool = True):
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    else:
        ax.legend(fontsize=9)


def plot_series(ax, backend: str, rows, counter: str, label: str, raw: bool = False,
                xkey=None):
    """One line: median per point and a band over the repetitions' min..max."""
    color, marker = style(backend)
    xs = [xkey(r) if xkey else r[0] for r in rows]
    meds = [b.median(counter) for _, b in rows]
    spreads = [b.spread(counter) for _, b in rows]
    ax.plot(xs, meds, linestyle="--" if raw else "-", marker=marker, color=color,
            markerfacecolor="white" if raw else color, markersize=6 if raw else 5.5,
            linewidth=1.3 if raw else 1.8, label=label, zorder=3 if raw else 4)
    ax.fill_between(xs, [s[0] for s in spreads], [s[1] for s in spreads], color=color,
                    alpha=0.10 if raw else 0.18, linewidth=0, zorder=2)


def select_limit_note(run: Run, scenario: str = "dispatch") -> str | None:
    """Why select's line stops: the reason of its first skipped row above its last N."""
    for b in run.benches.values():
        if b.scenario == scenario and b.backend == "select" and not b.ok and b.error:
            return b.error
    return None


def mark_select_limit(run: Run, ax, n_last, scenario: str = "dispatch") -> None:
    """Where select's line stops, say why: a dotted line at its last N and a footnote.

    The footnote goes under the axes (supxlabel, placed by the layout engine), so it can
    never cover a data point, whatever the numbers are.
    """
    largest = max((b.name.get("fds") for b in run.select(scenario)
                   if isinstance(b.name.get("fds"), (int, float))), default=n_last)
    if n_last >= largest:
        return
    color = style("select")[0]
    ax.axvline(n_last, color=color, linestyle=":", linewidth=1.2, zorder=1)
    ax.text(n_last, 0.985, " select's limit ", transform=ax.get_xaxis_transform(),
            rotation=90, ha="right", va="top", fontsize=8, color=color)
    reason = select_limit_note(run, scenario)
    ax.figure.supxlabel(
        f"select has no point beyond N = {an.fmt_n(n_last)}: an fd_set is a fixed bitmap of FD_SETSIZE "
        "(1024) bits, so select cannot watch an fd numbered 1024 or above"
        + (f"\n(the suite's reason for the skipped sizes: \"{reason}\")" if reason else ""),
        fontsize=8.5, color=color)


# --- the charts -----------------------------------------------------------------------------

def chart_cost_vs_fds(run: Run):
    """ns per event against total fds at A = 1, log-log; raw floors dashed."""
    backends = run.backends("dispatch")
    if not backends:
        return None
    fig, (ax,) = new_figure(run, "Cost per event against total fds (1 active fd) — "
                                 "dispatch through the Poller, raw syscall loop dashed")
    fits = {f.backend: f for f in an.all_scaling_fits(run) if f.scenario == "dispatch"}
    drawn = 0
    for backend in backends:
        rows = an.series_over_fds(run, "dispatch", backend)
        if not rows:
            continue
        f = fits.get(backend)
        slope = ""
        if f and f.best:
            hw = f.best.half_width
            slope = f" — slope {f.best.slope:.2f}" + (f" ± {hw:.2f}" if hw is not None else "")
        plot_series(ax, backend, rows, an.COST, f"{backend}{slope}")
        drawn += 1
        mech = an.raw_of(backend)
        raw_rows = an.series_over_fds(run, "raw", mech) if mech else []
        if raw_rows:
            plot_series(ax, backend, raw_rows, an.COST, f"raw {mech} (no Poller)", raw=True)
        if backend == "select":
            mark_select_limit(run, ax, rows[-1][0])
    if not drawn:
        return None
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlabel("total fds N (registered, 1 of them ready per iteration)")
    ax.set_ylabel(f"wall time per event (ns){SPREAD}")
    legend(ax)
    return fig


def chart_cost_vs_active(run: Run):
    """ns per event against active fds at the fixed N of the active sweep."""
    sweeps = []
    for backend in run.backends("dispatch"):
        s = an.active_sweep(run, "dispatch", backend)
        if s:
            sweeps.append((backend, s))
    if not sweeps:
        return None
    fig, (ax,) = new_figure(run, "Cost per event against active fds at fixed N — "
                                 "raw syscall loop dashed")
    for backend, (n, rows) in sweeps:
        plot_series(ax, backend, rows, an.COST, f"{backend} (N = {an.fmt_n(n)})")
        mech = an.raw_of(backend)
        if mech:
            raw_rows = [(a, b) for a, b in (an.active_sweep(run, "raw", mech) or (n, []))[1]
                        if b.name.get("fds") == n]
            if len(raw_rows) >= 2:
                plot_series(ax, backend, raw_rows, an.COST,
                            f"raw {mech} (N = {an.fmt_n(n)})", raw=True)
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlabel("active fds A (ready per iteration, spread evenly over the N)")
    ax.set_ylabel(f"wall time per event (ns){SPREAD}")
    legend(ax)
    return fig


def chart_chain(run: Run):
    """libevent bench.c's chain workload: ns per event against N, one panel per A."""
    actives = sorted({b.name.get("active") for b in run.select("chain")
                      if isinstance(b.name.get("active"), (int, float))})
    panels = []
    for a in actives:
        lines = [(bk, an.series_over_fds(run, "chain", bk, active=a))
                 for bk in run.backends("chain")]
        lines = [(bk, rows) for bk, rows in lines if rows]
        if lines:
            panels.append((a, lines))
    if not panels:
        return None
    writes = next((b.median("writes") for b in run.select("chain") if b.has("writes")), None)
    w = f", W = {writes:,.0f} writes" if writes else ""
    fig, axes = new_figure(run, f"chain (libevent test/bench.c workload{w}): cost per event "
                                "against total fds", ncols=len(panels),
                           width=6.0 * len(panels) + 2.2)
    for ax, (a, lines) in zip(axes, panels):
        for backend, rows in lines:
            plot_series(ax, backend, rows, an.COST, backend)
            if backend == "select":
                mark_select_limit(run, ax, rows[-1][0], "chain")
        log_axis(ax, "x")
        log_axis(ax, "y")
        data_ticks(ax, [n for _, rows in lines for n, _ in rows])
        ax.set_title(f"{a:,} active", fontsize=10)
        ax.set_xlabel("total fds N (pairs)")
        ax.set_ylabel(f"wall time per event (ns){SPREAD}")
    legend(axes[-1])
    return fig


def chart_churn(run: Run):
    """Registration churn: ns per add and per remove against N."""
    backends = run.backends("churn")
    counters = [c for c in ("ns_per_add", "ns_per_remove")
                if any(an.series_over_fds(run, "churn", bk, c, active=None) for bk in backends)]
    if not counters:
        return None
    fig, axes = new_figure(run, "Registration churn: add N fds to a Poller, then remove them",
                           ncols=len(counters), width=6.0 * len(counters) + 2.2)
    for ax, counter in zip(axes, counters):
        for backend in backends:
            rows = an.series_over_fds(run, "churn", backend, counter, active=None)
            if rows:
                plot_series(ax, backend, rows, counter, backend)
                if backend == "select":
                    mark_select_limit(run, ax, rows[-1][0], "churn")
        log_axis(ax, "x")
        log_axis(ax, "y")
        data_ticks(ax, [b.name.get("fds") for b in run.select("churn")])
        what = "add" if counter == "ns_per_add" else "remove"
        ax.set_title(f"per {what}", fontsize=10)
        ax.set_xlabel("registered fds N")
        ax.set_ylabel(f"wall time per {what} (ns){SPREAD}")
    legend(axes[-1])
    return fig


def chart_overhead(run: Run):
    """Interface overhead: dispatch/<backend> over raw/<mechanism>, as a ratio, against N."""
    series = [(bk, an.overhead_series(run, bk)) for bk in run.backends("dispatch")]
    series = [(bk, s) for bk, s in series if s]
    if not series:
        return None
    fig, (ax,) = new_figure(run, "Interface overhead: Poller backend / the same loop on the "
                                 "bare syscall (1 active fd)")
    ax.axhline(1.0, color="0.3", linewidth=1.0, zorder=1)
    ax.axhspan(0.95, 1.05, color="0.85", alpha=0.5, zorder=0, label="±5% (target)")
    for backend, s in series:
        color, marker = style(backend)
        xs = [p[0] for p in s]
        ax.plot(xs, [p[1] for p in s], marker=marker, color=color, linewidth=1.8,
                label=f"{backend} / raw {an.raw_of(backend)}", zorder=4)
        ax.fill_between(xs, [p[2] for p in s], [p[3] for p in s], color=color, alpha=0.15,
                        linewidth=0, zorder=2)
        if backend == "select":
            mark_select_limit(run, ax, xs[-1])
    log_axis(ax, "x")
    lo = min(min(p[1] for p in s) for _, s in series)
    hi = max(max(p[1] for p in s) for _, s in series)
    ax.set_ylim(min(0.9, lo - 0.05), max(1.15, hi + 0.05))
    ax.set_xlabel("total fds N")
    ax.set_ylabel("ratio of median ns per event (1.0 = no overhead)")
    legend(ax)
    return fig


@dataclass(frozen=True)
class Chart:
    stem: str        # file name without extension
    title: str       # used in summary.md
    draw: object     # Run -> Figure | None


CHARTS = [
    Chart("cost_vs_fds", "Cost per event against total fds", chart_cost_vs_fds),
    Chart("cost_vs_active", "Cost per event against active fds", chart_cost_vs_active),
    Chart("overhead", "Interface overhead against the raw syscall loop", chart_overhead),
    Chart("chain", "chain (libevent bench.c workload)", chart_chain),
    Chart("churn", "Registration churn", chart_churn),
    # Issue 5 adds here: wakeup latency percentiles vs N, latency CDF, herd, timeout.
]


# --- writing --------------------------------------------------------------------------------

def atomic_write(path: str, write) -> None:
    """Call write(tmp_path) for a temporary file next to `path`, then rename it into place,
    so a reader (or a crash) never sees a half-written file."""
    d = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        write(tmp)
        if os.environ.get("POLLBENCH_SIMULATE_ENOSPC") == "1":  # the tests' full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_figure(fig, out_dir: str, stem: str) -> list:
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        meta = {"Software": "pollbench"} if ext == "png" else {"Date": None,
                                                                "Creator": "pollbench"}
        atomic_write(path, lambda tmp, ext=ext, meta=meta:
                     fig.savefig(tmp, format=ext, metadata=meta))
        paths.append(path)
    return paths


def draw_charts(run: Run, charts=None) -> list:
    """[(Chart, Figure)] for every chart the run has data for. Drawing happens before any
    file is written, so a failure leaves no partial set behind."""
    out = []
    for chart in charts or CHARTS:
        fig = chart.draw(run)
        if fig is not None:
            out.append((chart, fig))
    return out
