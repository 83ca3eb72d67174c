"""The charts of one run. Each chart is a function Run -> Figure (or None when the run has no
data for it, so no empty panel is ever drawn), named by its scenario's descriptor
(scenarios.py); `save_figure` writes each as PNG and SVG, through a temporary file renamed
into place.

Adding a chart = one function here + one ChartSpec in its scenario's descriptor (or both in
the scenario's own module, plots/scenario_<name>.py); the summary embeds whatever was drawn,
in descriptor order. A scenario without a chart gets chart_generic's.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (FuncFormatter, LogLocator, MaxNLocator,  # noqa: E402
                               NullFormatter, NullLocator)

import analysis as an  # noqa: E402
import scenarios  # noqa: E402
from pbresults import Run, atomic_write  # noqa: E402

# Reproducible SVGs: no random ids, no creation date, so re-plotting the same run gives
# byte-identical files and git diffs stay quiet.
matplotlib.rcParams["svg.hashsalt"] = "pollbench"
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["font.size"] = 10

# --- backend styles -------------------------------------------------------------------------
# One colour + marker per backend, the same in every chart of a run (and in compare): the
# registry rows take PALETTE entries in preference order, a raw mechanism the colour of the
# row it is the floor of, and any other name (a raw timeout path) the next free entries in
# name order. No backend name is written here.
# Entries far apart in hue and lightness, so that the rows that cluster in one chart (the
# O(ready) family at ~2 µs per event, the first eight rows of a registry in preference order)
# never share a shade: blue, cyan, olive, black, green, magenta, orange, red, purple, gold,
# brown, teal, then the rest.
COLORS = ["#1f77b4", "#17becf", "#a8a51c", "#222222", "#2ca02c", "#e7298a", "#ff7f0e",
          "#d62728", "#9467bd", "#b25d00", "#8c564b", "#016c59", "#7f7f7f", "#08306b",
          "#c5b0d5", "#98df8a", "#ad494a", "#637939", "#6baed6", "#fdae6b",
          "#e7ba52", "#843c39", "#5254a3", "#31a354"]
MARKERS = ["o", "D", "v", "<", "P", "X", "^", "s", "h", "H", "d", "*", "1", "2", "4", "p",
           ">", "8", "x", "+", "3", "|", "_", "."]
PALETTE = list(zip(COLORS, MARKERS))


class Styles:
    """The colour and marker of every name a run's charts draw."""

    def __init__(self, registry, extra=()):
        self.registry = registry
        self.table = {}
        self.used = 0  # PALETTE entries handed out
        for name in registry.style_order():
            self._assign(name)
        for name in sorted(set(extra)):
            self._assign(name)

    def _assign(self, name: str) -> tuple:
        if name not in self.table:
            row = self.registry.row_of_raw(name) if name not in self.registry.by_name else None
            if row in self.table:
                self.table[name] = self.table[row]
            else:
                self.table[name] = PALETTE[self.used % len(PALETTE)]
                self.used += 1
        return self.table[name]

    def __call__(self, name: str) -> tuple:
        return self.table.get(name) or self._assign(name)


def styles_of(run: Run) -> Styles:
    """The run's styles, made once: every slot name of every scenario gets its entry before
    any chart is drawn, so the same name looks the same in every chart."""
    cached = getattr(run, "_styles", None)
    if cached is None:
        # The names drawn besides the registry rows: raw mechanisms (their row's style), the
        # raw timeout paths of the timeout chart and the server engines.
        extra = set(run.backends("raw")) | set(an.timeout_table(run)) | set(run.backends("server"))
        cached = run._styles = Styles(run.registry, extra)
    return cached


def style(run: Run, name: str) -> tuple:
    return styles_of(run)(name)


# Every ns chart draws the median of the repetitions and shades their min..max.
SPREAD = "\nmedian; band = min–max of the repetitions"

# --- figure helpers -------------------------------------------------------------------------

# The narrowest figure: a chart of a quick run (one timeout T, one wakeup N) keeps room for its
# heading and legend.
MIN_WIDTH = 8.0
TITLE_SIZE = 11


def wrap_title(title: str, width: float, fontsize: float = TITLE_SIZE) -> str:
    """The heading broken into lines that fit the figure's width (an average character of
    the default font is about 0.55 of its size wide), so no quick run's chart is clipped."""
    chars = max(30, int(width * 72 / (fontsize * 0.64)))
    return "\n".join(textwrap.wrap(title, chars, break_on_hyphens=False)) or title


def _figure(run: Run, title: str, width: float, height: float) -> Figure:
    width = max(width, MIN_WIDTH)
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    # Heading: what the chart shows (wrapped to the width), then which machine and when.
    fig.suptitle(f"{wrap_title(title, width)}\n{run.subtitle()}", fontsize=TITLE_SIZE)
    return fig


def new_figure(run: Run, title: str, ncols: int = 1, width: float = 10.0,
               height: float = 6.0, width_ratios=None):
    fig = _figure(run, title, width, height)
    axes = fig.subplots(1, ncols, squeeze=False, width_ratios=width_ratios)[0]
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


def plot_series(run, ax, backend: str, rows, counter: str, label: str, raw: bool = False,
                xkey=None):
    """One line: median per point and a band over the repetitions' min..max."""
    color, marker = style(run, backend)
    xs = [xkey(r) if xkey else r[0] for r in rows]
    meds = [b.median(counter) for _, b in rows]
    spreads = [b.spread(counter) for _, b in rows]
    ax.plot(xs, meds, linestyle="--" if raw else "-", marker=marker, color=color,
            markerfacecolor="white" if raw else color, markersize=6 if raw else 5.5,
            linewidth=1.3 if raw else 1.8, label=label, zorder=3 if raw else 4)
    ax.fill_between(xs, [s[0] for s in spreads], [s[1] for s in spreads], color=color,
                    alpha=0.10 if raw else 0.18, linewidth=0, zorder=2)


def limit_note(run: Run, backend: str, scenario: str = "dispatch") -> str | None:
    """Why a backend's line stops: the reason of its first skipped row."""
    for b in run.benches.values():
        if b.scenario == scenario and b.backend == backend and not b.ok and b.error:
            return b.error
    return None


def mark_fd_limit(run: Run, ax, backend: str, n_last, scenario: str = "dispatch") -> None:
    """Where the line of a backend with an fd limit (the registry's max_fd) stops before the
    others, say why: a dotted line at the limit (FD_SETSIZE for select) and a footnote.

    The footnote goes under the axes (supxlabel, placed by the layout engine), so it can
    never cover a data point, whatever the numbers are.
    """
    max_fd = run.registry.max_fd(backend)
    if max_fd is None:
        return
    largest = max((b.name.get("fds") for b in run.select(scenario)
                   if isinstance(b.name.get("fds"), (int, float))), default=n_last)
    if n_last >= largest:
        return
    color = style(run, backend)[0]
    # The line stands at the limit itself (fd numbers up to max_fd: at most max_fd + 1 fds),
    # not at the backend's last point, and only where the axis reaches it; backends with the
    # same limit share one line.
    limit = max_fd + 1
    if limit <= largest:
        drawn = ax.__dict__.setdefault("_limit_lines", {})
        if limit in drawn:
            names, text = drawn[limit]
            names.append(backend)
            text.set_text(f" {', '.join(names)}: fds ≤ {max_fd:,} ")
        else:
            ax.axvline(limit, color=color, linestyle=":", linewidth=1.2, zorder=1)
            text = ax.text(limit, 0.985, f" {backend}: fds ≤ {max_fd:,} ",
                           transform=ax.get_xaxis_transform(), rotation=90, ha="right",
                           va="top", fontsize=8, color=color)
            drawn[limit] = ([backend], text)
    notes = getattr(ax.figure, "_limit_notes", [])
    if any(n.startswith(f"{backend} ") for n in notes):
        return
    reason = limit_note(run, backend, scenario)
    desc = run.registry.fact(backend, "description") or ""
    notes.append(f"{backend} has no point beyond N = {an.fmt_n(n_last)}: it accepts fds up to "
                 f"{max_fd} only" + (f" ({desc})" if desc else "")
                 + (f"\n(the suite's reason for the skipped sizes: \"{reason}\")"
                    if reason else ""))
    ax.figure._limit_notes = notes
    ax.figure.supxlabel("\n".join(notes), fontsize=8.5, color=color if len(notes) == 1
                        else "0.2")


# --- the charts -----------------------------------------------------------------------------

def _split_rows(run: Run, backends: list) -> tuple:
    """(mechanisms, libraries) of a list of registry rows: a library row has `wraps`."""
    libs = [bk for bk in backends if run.registry.wraps(bk)]
    return [bk for bk in backends if bk not in libs], libs


def _slope_label(fits: dict, backend: str) -> str:
    f = fits.get(backend)
    if not f or not f.best:
        return backend
    hw = f.best.half_width
    return f"{backend} — slope {f.best.slope:.2f}" + (f" ± {hw:.2f}" if hw is not None else "")


def _relative_reference(run: Run):
    """(label, [(N, bench)]) every O(ready) row is drawn relative to: the bare loop of the
    preferred O(ready) mechanism (raw/<its raw_floor>), else that row itself; None without."""
    name = run.registry.baseline_row(run.backends("dispatch"))
    if name is not None:
        mech = an.raw_of(run, name)
        raw = an.series_over_fds(run, "raw", mech) if mech else []
        if raw:
            return f"raw {mech}", raw
        return name, an.series_over_fds(run, "dispatch", name)
    return None


def chart_cost_vs_fds(run: Run):
    """ns per event against total fds at A = 1, log-log: the mechanisms (raw floors dashed) and
    the libraries (their mechanism dashed) in two panels, and below them every O(ready) row
    relative to the bare loop of the preferred O(ready) mechanism with its interval, on a
    linear axis — the differences of the flat family are 5-40%, invisible on a log axis that
    also holds poll at 8,192 fds."""
    backends = [bk for bk in run.backends("dispatch") if an.series_over_fds(run, "dispatch", bk)]
    if not backends:
        return None
    mechs, libs = _split_rows(run, backends)
    ref = _relative_reference(run)
    flat = [bk for bk in backends if run.registry.fact(bk, "wait_cost") == "per_ready"]
    rel = []
    if ref is not None:
        for bk in flat:
            s = an._ratio_series(an.series_over_fds(run, "dispatch", bk), ref[1])  # noqa: SLF001
            if s:
                rel.append((bk, s))
    top = [k for k, v in (("mech", mechs), ("lib", libs)) if v]
    mosaic = [top] + ([["rel"] * len(top)] if rel else [])
    fig = _figure(run, "Cost per event against total fds (1 active fd) — dispatch through the "
                       "Poller; mechanisms and libraries apart, and the O(ready) rows relative "
                       "to the bare loop", width=15.0, height=11.0 if rel else 6.5)
    axes = fig.subplot_mosaic(mosaic, height_ratios=[1.25, 1] if rel else None)
    fits = {f.backend: f for f in an.all_scaling_fits(run) if f.scenario == "dispatch"}
    if "mech" in axes:
        ax = axes["mech"]
        for backend in mechs:
            rows = an.series_over_fds(run, "dispatch", backend)
            plot_series(run, ax, backend, rows, an.COST, _slope_label(fits, backend))
            mech = an.raw_of(run, backend)
            raw_rows = an.series_over_fds(run, "raw", mech) if mech else []
            if raw_rows:
                plot_series(run, ax, backend, raw_rows, an.COST, f"raw {mech} (no Poller)",
                            raw=True)
            mark_fd_limit(run, ax, backend, rows[-1][0])
        ax.set_title("mechanisms (the bare syscall loop dashed)", fontsize=10)
    if "lib" in axes:
        ax = axes["lib"]
        for mech in dict.fromkeys(run.registry.wraps(bk) for bk in libs):
            rows = an.series_over_fds(run, "dispatch", mech)
            if rows:
                plot_series(run, ax, mech, rows, an.COST, f"{mech} (the mechanism)", raw=True)
        for backend in libs:
            rows = an.series_over_fds(run, "dispatch", backend)
            plot_series(run, ax, backend, rows, an.COST,
                        f"{_slope_label(fits, backend)} (on {run.registry.wraps(backend)})")
            mark_fd_limit(run, ax, backend, rows[-1][0])
        ax.set_title("event libraries (the mechanism each runs on dashed)", fontsize=10)
    for key in top:
        ax = axes[key]
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel("total fds N (registered, 1 of them ready per iteration)")
        ax.set_ylabel(f"wall time per event (ns){SPREAD}")
        ax.legend(loc="upper left", fontsize=8, frameon=True, framealpha=0.85)
    if rel:
        ax = axes["rel"]
        ax.grid(True, which="major", alpha=0.35)
        ax.axhline(1.0, color="0.3", linewidth=1.0, zorder=1)
        lo, hi = _ratio_lines(run, ax, [(bk, f"{bk} / {ref[0]}", s) for bk, s in rel])
        log_axis(ax, "x")
        ax.set_ylim(min(0.9, lo - 0.05), max(1.2, hi + 0.05))
        ax.set_title(f"the O(ready) rows relative to {ref[0]} at the same N: where the flat "
                     "family differs", fontsize=10)
        ax.set_xlabel("total fds N")
        ax.set_ylabel(f"ns per event / {ref[0]}'s\nbar = {an.OVERHEAD_LEVEL:.0%} interval, "
                      "bootstrap paired by process")
        legend(ax)
    return fig


def chart_cost_vs_active(run: Run):
    """ns per event against active fds at the fixed N of the active sweep: the mechanisms
    (raw floors dashed) and the libraries (their mechanism dashed) in two panels."""
    sweeps = {}
    for backend in run.backends("dispatch"):
        s = an.active_sweep(run, "dispatch", backend)
        if s:
            sweeps[backend] = s
    if not sweeps:
        return None
    mechs, libs = _split_rows(run, list(sweeps))
    panels = [(k, v) for k, v in (("mechanisms (the bare syscall loop dashed)", mechs),
                                  ("event libraries (the mechanism each runs on dashed)", libs))
              if v]
    fig, axes = new_figure(run, "Cost per event against active fds at fixed N",
                           ncols=len(panels), width=7.2 * len(panels) + 0.6, height=6.5)
    for ax, (title, names) in zip(axes, panels):
        if names is libs:
            for mech in dict.fromkeys(run.registry.wraps(bk) for bk in libs):
                if mech in sweeps:
                    n, rows = sweeps[mech]
                    plot_series(run, ax, mech, rows, an.COST,
                                f"{mech} (N = {an.fmt_n(n)}, the mechanism)", raw=True)
        for backend in names:
            n, rows = sweeps[backend]
            plot_series(run, ax, backend, rows, an.COST, f"{backend} (N = {an.fmt_n(n)})")
            mech = an.raw_of(run, backend) if names is mechs else None
            if mech:
                raw_rows = [(a, b) for a, b in (an.active_sweep(run, "raw", mech) or (n, []))[1]
                            if b.name.get("fds") == n]
                if len(raw_rows) >= 2:
                    plot_series(run, ax, backend, raw_rows, an.COST,
                                f"raw {mech} (N = {an.fmt_n(n)})", raw=True)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("active fds A (ready per iteration, spread evenly over the N)")
        ax.set_ylabel(f"wall time per event (ns){SPREAD}")
        ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.85)
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
            plot_series(run, ax, backend, rows, an.COST, backend)
            mark_fd_limit(run, ax, backend, rows[-1][0], "chain")
        log_axis(ax, "x")
        log_axis(ax, "y")
        data_ticks(ax, [n for _, rows in lines for n, _ in rows])
        ax.set_title(f"{a:,} active", fontsize=10)
        ax.set_xlabel("total fds N (pairs)")
        ax.set_ylabel(f"wall time per event (ns){SPREAD}")
    legend(axes[-1])
    return fig


def chart_churn(run: Run):
    """Registration churn: ns per add and per remove against N, each with its share of the
    wait after its batch (bench/churn.cpp)."""
    backends = run.backends("churn")
    counters = [c for c in ("ns_per_add", "ns_per_remove")
                if any(an.series_over_fds(run, "churn", bk, c, active=None) for bk in backends)]
    if not counters:
        return None
    # A file from before the waits were timed (no ns_per_add_call) timed the calls alone.
    waits = any(b.has("ns_per_add_call") for b in run.select("churn"))
    title = ("Registration churn: add N fds to a Poller, wait(0), remove them, wait(0); each "
             "wait charged to its batch" if waits else
             "Registration churn: add N fds to a Poller, then remove them")
    fig, axes = new_figure(run, title,
                           ncols=len(counters), width=6.0 * len(counters) + 2.2)
    for ax, counter in zip(axes, counters):
        for backend in backends:
            rows = an.series_over_fds(run, "churn", backend, counter, active=None)
            if rows:
                plot_series(run, ax, backend, rows, counter, backend)
                mark_fd_limit(run, ax, backend, rows[-1][0], "churn")
        log_axis(ax, "x")
        log_axis(ax, "y")
        data_ticks(ax, [b.name.get("fds") for b in run.select("churn")])
        what = "add" if counter == "ns_per_add" else "remove"
        ax.set_title(f"per {what}", fontsize=10)
        ax.set_xlabel("registered fds N")
        share = ", its share of the wait included" if waits else ""
        ax.set_ylabel(f"wall time per {what}{share} (ns){SPREAD}")
    legend(axes[-1])
    return fig


def _ratio_lines(run: Run, ax, lines) -> tuple:
    """Draw [(style name, label, [Ratio])]: a line through the ratios of the medians and an
    error bar of each point's interval; returns the (low, high) the axis must show."""
    lo, hi = 1.0, 1.0
    k = len(lines)
    for i, (name, label, s) in enumerate(lines):
        color, marker = style(run, name)
        # Lines at one N overlap: a small shift in N keeps every error bar visible (the axis
        # is logarithmic, so the shift is the same at every N).
        shift = 1 + 0.03 * (i - (k - 1) / 2)
        xs = [p.n * shift for p in s]
        ax.plot(xs, [p.ratio for p in s], marker=marker, color=color, linewidth=1.8,
                label=label, zorder=4)
        with_ci = [(x, p) for x, p in zip(xs, s) if p.low is not None]
        if with_ci:
            ax.errorbar([x for x, _ in with_ci], [p.ratio for _, p in with_ci],
                        yerr=[[max(0.0, p.ratio - p.low) for _, p in with_ci],
                              [max(0.0, p.high - p.ratio) for _, p in with_ci]],
                        fmt="none", ecolor=color, elinewidth=1.2, capsize=3, zorder=3)
        vals = [p.ratio for p in s] + [p.low for p in s if p.low] + [p.high for p in s if p.high]
        lo, hi = min(lo, min(vals)), max(hi, max(vals))
    return lo, hi


def chart_overhead(run: Run):
    """Interface overhead: dispatch/<backend> over raw/<mechanism>, as a ratio, against N,
    with the 95% interval of each ratio (bootstrap paired by process)."""
    series = [(bk, an.overhead_series(run, bk)) for bk in run.backends("dispatch")]
    series = [(bk, s) for bk, s in series if s]
    if not series:
        return None
    fig, (ax,) = new_figure(run, "Interface overhead: Poller backend / the same loop on the "
                                 "bare syscall (1 active fd)")
    ax.axhline(1.0, color="0.3", linewidth=1.0, zorder=1)
    ax.axhspan(0.95, 1.05, color="0.85", alpha=0.5, zorder=0, label="±5% (target)")
    lo, hi = _ratio_lines(run, ax, [(bk, f"{bk} / raw {an.raw_of(run, bk)}", s)
                                    for bk, s in series])
    for backend, s in series:
        mark_fd_limit(run, ax, backend, s[-1].n)
    log_axis(ax, "x")
    ax.set_ylim(min(0.9, lo - 0.05), max(1.15, hi + 0.05))
    ax.set_xlabel("total fds N")
    ax.set_ylabel("ratio of median ns per event (1.0 = no overhead)\n"
                  f"bar = {an.OVERHEAD_LEVEL:.0%} interval, bootstrap paired by process")
    legend(ax)
    return fig


def chart_library_over_mechanism(run: Run):
    """What an event library costs on top of the mechanism it wraps (the registry's
    `wraps`), per event."""
    pairs = an.library_pairs(run)
    if not pairs:
        return None
    fig, (ax, rax) = new_figure(run, "Library over mechanism: an event library against the "
                                     "bare mechanism it runs on (dispatch, 1 active fd)",
                                ncols=2, width=14.0)
    mechanisms = list(dict.fromkeys(mech for _, mech in pairs))
    for mech in mechanisms:
        rows = an.series_over_fds(run, "dispatch", mech)
        plot_series(run, ax, mech, rows, an.COST, f"{mech} (mechanism)", raw=True)
    for lib, mech in pairs:
        rows = an.series_over_fds(run, "dispatch", lib)
        plot_series(run, ax, lib, rows, an.COST, f"{lib} (on {mech})")
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_title("cost per event; the mechanism dashed", fontsize=10)
    ax.set_xlabel("total fds N (1 of them ready per iteration)")
    ax.set_ylabel(f"wall time per event (ns){SPREAD}")
    legend(ax, outside=False)

    rax.axhline(1.0, color="0.3", linewidth=1.0, zorder=1)
    lo, hi = _ratio_lines(run, rax, [(lib, f"{lib} / {mech}", an.library_ratio_series(run, lib))
                                     for lib, mech in pairs])
    log_axis(rax, "x")
    rax.set_ylim(min(0.9, lo - 0.05), max(1.2, hi * 1.05))
    rax.set_title("library / mechanism (1.0 = the library adds nothing)", fontsize=10)
    rax.set_xlabel("total fds N")
    rax.set_ylabel("ratio of median ns per event\n"
                   f"bar = {an.OVERHEAD_LEVEL:.0%} interval, bootstrap paired by process")
    legend(rax)
    return fig


# --- wakeup, herd, timeout -------------------------------------------------------------------

def _us_axis(ax, axis: str = "y"):
    """Log scale in µs with plain numbers (ns data, labels divided by 1,000)."""
    getattr(ax, f"set_{axis}scale")("log", base=10)
    a = ax.yaxis if axis == "y" else ax.xaxis
    fmt = FuncFormatter(lambda v, _p: f"{v / 1e3:,.0f}" if v >= 1e5 else f"{v / 1e3:.3g}")
    a.set_major_formatter(fmt)
    a.set_minor_locator(LogLocator(base=10, subs=(2, 5)))
    a.set_minor_formatter(fmt)


def _cpu_title(cpu) -> str:
    return {"same": "waiter and driver on the same CPU",
            "other": "waiter and driver on different CPUs"}.get(cpu, f"cpu: {cpu}" if cpu
                                                              else "all rows")


def chart_wakeup_percentiles(run: Run):
    """Wakeup latency p50 (filled markers, solid lines) and p99 (hollow markers, dashed)
    against N, a panel per CPU placement. A placement measured at one N only (a quick run; the
    same-CPU rows) gets a panel of one column per backend instead of a lone stack of points on
    an N axis: nothing is drawn that the data does not have."""
    placements = an.wakeup_placements(run)
    backends = an.wakeup_backends(run)
    if not placements or not backends:
        return None
    panels = []
    for cpu in placements:
        ns = sorted({n for bk in backends for n, _ in an.wakeup_series(run, bk, cpu)})
        if ns:
            panels.append((cpu, ns))
    if not panels:
        return None
    widths = [6.2 if len(ns) > 1 else 0.45 * len(backends) + 1.6 for _, ns in panels]
    fig, axes = new_figure(run, "Wakeup latency against total fds: write on one thread to "
                                "return from the wait on another — p50 filled, p99 hollow",
                           ncols=len(panels), width=sum(widths) + 2.4, width_ratios=widths)
    lined = False
    for ax, (cpu, ns) in zip(axes, panels):
        if len(ns) == 1:
            _wakeup_column_panel(run, ax, cpu, ns[0], backends)
            continue
        lined = True
        for bk in backends:
            color, marker = style(run, bk)
            for counter, dashed in (("p50_ns", False), ("p99_ns", True)):
                rows = an.wakeup_series(run, bk, cpu, counter)
                if not rows:
                    continue
                ax.plot([n for n, _ in rows], [b.median(counter) for _, b in rows],
                        linestyle="--" if dashed else "-", marker=marker, color=color,
                        markerfacecolor="white" if dashed else color,
                        linewidth=1.2 if dashed else 1.8, markersize=5.5,
                        label=None if dashed else bk, zorder=3 if dashed else 4)
        log_axis(ax, "x")
        _us_axis(ax, "y")
        data_ticks(ax, ns)
        ax.set_title(_cpu_title(cpu), fontsize=10)
        ax.set_xlabel("registered fds N (1 of them written per wakeup)")
        ax.set_ylabel("wakeup latency (µs)\nmedian over the repetitions of each quantile")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=style(run, bk)[0], marker=style(run, bk)[1],
                      linestyle="-" if lined else "none", label=bk) for bk in backends]
    handles += [Line2D([], [], color="0.3", marker="o", linestyle="-" if lined else "none",
                       label="p50" + (" (solid)" if lined else "")),
                Line2D([], [], color="0.3", marker="o", markerfacecolor="white",
                       linestyle="--" if lined else "none",
                       label="p99" + (" (dashed)" if lined else ""))]
    axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    fontsize=9, frameon=False)
    return fig


def _wakeup_column_panel(run: Run, ax, cpu, n, backends) -> None:
    """One N only: a column per backend, p50 filled, p99 hollow, joined by a thin line."""
    xs, labels = [], []
    for i, bk in enumerate(backends):
        rows = dict(an.wakeup_series(run, bk, cpu))
        b = rows.get(n)
        if b is None:
            continue
        color, marker = style(run, bk)
        p50, p99 = b.median("p50_ns"), b.median("p99_ns")
        if p50 and p99:
            ax.plot([i, i], [p50, p99], color=color, linewidth=1.2, zorder=3)
        if p50:
            ax.plot([i], [p50], marker=marker, color=color, markersize=7, linestyle="none",
                    label=f"{bk} p50", zorder=4)
        if p99:
            ax.plot([i], [p99], marker=marker, color=color, markerfacecolor="white",
                    markersize=7, linestyle="none", label=f"{bk} p99", zorder=4)
        xs.append(i)
        labels.append(bk)
    ax.set_xticks(xs, labels, rotation=50, ha="right", fontsize=9)
    ax.set_xlim(-0.7, len(backends) - 0.3)
    _us_axis(ax, "y")
    ax.grid(False, axis="x", which="both")
    ax.set_title(f"{_cpu_title(cpu)}: N = {an.fmt_n(n)} only", fontsize=10)
    ax.set_ylabel("wakeup latency (µs)\nmedian over the repetitions of each quantile")


def chart_wakeup_cdf(run: Run):
    """The latency distribution at one N for every backend, from the quantile counters:
    CDF on the left, the tail (fraction slower than x, log) on the right."""
    placements = an.wakeup_placements(run)
    cpu = "other" if "other" in placements else (placements[0] if placements else None)
    n = an.wakeup_cdf_n(run, cpu) if placements else None
    if n is None:
        return None
    lines = []
    for bk in an.wakeup_backends(run):
        rows = dict(an.wakeup_series(run, bk, cpu))
        if n in rows:
            pts = an.wakeup_cdf(rows[n])
            if len(pts) >= 2:
                lines.append((bk, pts))
    if not lines:
        return None
    where = f", {_cpu_title(cpu)}" if cpu else ""
    fig, (ax, tax) = new_figure(run, f"Wakeup latency distribution at N = {an.fmt_n(n)}{where}",
                                ncols=2, width=14.0)
    for bk, pts in lines:
        color, marker = style(run, bk)
        xs, qs = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, qs, color=color, marker=marker, markersize=5, linewidth=1.8,
                drawstyle="default", label=bk)
        tail = [(x, 1 - q) for x, q in pts if q < 1.0]
        tax.plot([t[0] for t in tail], [t[1] for t in tail], color=color, marker=marker,
                 markersize=5, linewidth=1.8, label=bk)
    for a in (ax, tax):
        _us_axis(a, "x")
        a.set_xlabel("wakeup latency (µs)")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("fraction of wakeups at most this late\n(min, p10, p25, p50, p75, p90, "
                  "p99, p99.9, max)")
    ax.set_title("CDF", fontsize=10)
    tax.set_yscale("log")
    tax.set_ylim(5e-4, 1.2)
    tax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    tax.set_ylabel("fraction of wakeups later than this (1 − CDF)")
    tax.set_title("tail (p90 = 0.1, p99 = 0.01, p99.9 = 0.001)", fontsize=10)
    legend(tax)
    return fig


def chart_herd(run: Run):
    """Thundering herd: waiters woken per written byte (and the first return) against W; a
    run with one W (a quick run) gets a column per variant instead of an axis of one W."""
    lines = an.herd_lines(run)
    if not lines:
        return None
    has_first = any(b.has("first_return_ns") for _, _, rows in lines for _, b in rows)
    fig, axes = new_figure(run, "Thundering herd: W threads wait on the same fd; one byte "
                                "is written — how many of them return?",
                           ncols=2 if has_first else 1, width=14.0 if has_first else 10.0)
    ws = sorted({w for _, _, rows in lines for w, _ in rows})
    one_w = len(ws) == 1
    ax = axes[0]
    if one_w:
        ax.axhline(ws[0], color="0.55", linestyle=":", linewidth=1.2, zorder=1,
                   label=f"all W = {ws[0]} woken")
    else:
        ax.plot(ws, ws, color="0.55", linestyle=":", linewidth=1.2, zorder=1,
                label="all W woken")
    ax.axhline(1.0, color="0.35", linestyle="-.", linewidth=1.2, zorder=1, label="one woken")
    labels = []
    for k, (scen, bk, rows) in enumerate(lines):
        shared = scen == "herd_shared"
        color, marker = style(run, bk)
        label = an.herd_label(scen, bk)
        labels.append(label)
        if one_w:
            xs = [k for _ in rows]
        else:
            # Variants that woke the same number lie on one line: a small shift in W keeps
            # each visible (the axis is logarithmic, so the shift is the same at every W).
            shift = 1 + 0.025 * (k - (len(lines) - 1) / 2)
            xs = [w * shift for w, _ in rows]
        ax.plot(xs, [b.median("woken_per_event") for _, b in rows], marker=marker, color=color,
                linestyle="--" if shared else "-", markerfacecolor="white" if shared else color,
                linewidth=1.8, markersize=7, label=label, zorder=4)
        if has_first and any(b.has("first_return_ns") for _, b in rows):
            pick = [(x, b) for x, (_, b) in zip(xs, rows) if b.has("first_return_ns")]
            axes[1].plot([x for x, _ in pick], [b.median("first_return_ns") for _, b in pick],
                         marker=marker, color=color, linestyle="--" if shared else "-",
                         markerfacecolor="white" if shared else color, linewidth=1.8,
                         markersize=7, label=label)
    for a in axes:
        if one_w:
            a.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=9)
            a.set_xlim(-0.6, len(labels) - 0.4)
            a.set_xlabel(f"wait-set design, W = {ws[0]} waiters")
            a.grid(False, axis="x", which="both")
        else:
            log_axis(a, "x")
            a.set_xticks(ws)
            a.xaxis.set_minor_locator(NullLocator())
            a.set_xlabel("waiters W")
    # Woken per event is a count from 1 to W: a linear axis with a tick at every count.
    top = max(ws)
    ax.set_ylim(0, top + 0.6)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(int(top), 10) + 1))
    ax.set_ylabel("waiters returned per written byte (median)")
    ax.set_title("woken per event", fontsize=10)
    if has_first:
        _us_axis(axes[1], "y")
        axes[1].set_ylabel("time to the first return (µs), median")
        axes[1].set_title("latency to the first waiter's return", fontsize=10)
        legend(axes[1])
        refs = [h for h in ax.get_lines() if h.get_label().startswith(("all W", "one woken"))]
        ax.legend(handles=refs, loc="center right", fontsize=8)
    else:
        legend(ax)
    return fig


def chart_timeout(run: Run):
    """Timeout accuracy: how late a wait with nothing ready returned, per backend and T."""
    table = an.timeout_table(run)
    if not table:
        return None
    ts = sorted({t for per in table.values() for t in per})
    backends = list(table)
    fig, axes = new_figure(run, "Timeout accuracy: nothing ready, how much later than T "
                                "did the wait return? bar = p50, whisker = p99, × = max",
                           ncols=len(ts), width=4.6 * len(ts) + 1.0, height=6.4)
    slack = run.meta("pollbench_timer_slack_ns")
    try:
        slack_ns = float(slack)
    except ValueError:
        slack_ns = None
    for ax, t in zip(axes, ts):
        xs, labels = [], []
        for i, bk in enumerate(backends):
            b = table[bk].get(t)
            if b is None:
                continue
            color, _ = style(run, bk)
            p50, p99, mx = (b.median(c) for c in ("late_p50_ns", "late_p99_ns", "late_max_ns"))
            xs.append(i)
            labels.append(bk)
            if p50 is None or p50 <= 0:
                # Returned before T: a broken contract, and nothing a log axis can draw.
                ax.text(i, 0.02, "early!", transform=ax.get_xaxis_transform(), ha="center",
                        color="red", fontsize=8, rotation=90)
                continue
            # A raw timeout path (not a registry row) is its own group: hatched bars.
            raw_path = bk not in run.registry.by_name
            ax.bar(i, p50, color=color, width=0.7, zorder=3, hatch="//" if raw_path else None,
                   edgecolor="white" if raw_path else None)
            if p99:
                ax.plot([i, i], [p50, p99], color="0.15", linewidth=1.2, zorder=4)
                ax.plot([i - 0.15, i + 0.15], [p99, p99], color="0.15", linewidth=1.2,
                        zorder=4)
            if mx:
                ax.plot([i], [mx], marker="x", color="0.15", markersize=6, zorder=4)
        if slack_ns:
            ax.axhline(slack_ns, color="0.4", linestyle=":", linewidth=1.2, zorder=2,
                       label=f"timer slack {slack_ns / 1e3:g} µs")
            if ax is axes[0]:
                ax.legend(fontsize=8, loc="upper right")
        ax.set_xticks(xs, labels, rotation=50, ha="right", fontsize=9)
        _us_axis(ax, "y")
        # Bars on a log axis start at its bottom: put that well below the shortest bar.
        lows = [b.median("late_p50_ns") for b in (table[bk].get(t) for bk in backends)
                if b is not None and (b.median("late_p50_ns") or 0) > 0]
        if lows:
            ax.set_ylim(bottom=min(lows) / 2)
        ax.set_title(f"T = {t / 1e3:g} ms" if t >= 1000 else f"T = {t:g} µs", fontsize=10)
        ax.grid(False, axis="x", which="both")
    axes[0].set_ylabel("returned this much after T (µs), log")
    return fig


def chart_generic(run: Run, scenario: str):
    """A scenario without a chart of its own: its main metric against its first numeric name
    parameter, one line per slot (registry row, mechanism, ...), log axes where the values
    span more than a factor of ten."""
    rows = [b for b in run.select(scenario) if b.name.params]
    key = next((k for b in rows for k, v in b.name.params if isinstance(v, (int, float))),
               None)
    if key is None:
        return None
    metric = an.metrics_of(scenario, rows[0])[0]
    fig, axes = new_figure(run, f"{scenario}: {metric} against {key}")
    ax = axes[0]
    xs, ys = [], []
    for slot in run.backends(scenario):
        series = sorted(((b.name.get(key), b) for b in run.select(scenario, slot)
                         if isinstance(b.name.get(key), (int, float)) and b.has(metric)),
                        key=lambda r: r[0])
        if series:
            plot_series(run, ax, slot, series, metric, slot)
            xs += [n for n, _ in series]
            ys += [b.median(metric) for _, b in series]
    if not xs:
        return None
    if min(xs) > 0 and max(xs) > 10 * min(xs):
        log_axis(ax, "x")
        data_ticks(ax, xs)
    if min(ys) > 0 and max(ys) > 10 * min(ys):
        log_axis(ax, "y")
    ax.set_xlabel(key)
    ax.set_ylabel(f"{metric}{SPREAD}")
    legend(ax)
    return fig


def generic_specs(run: Run) -> list:
    """[(ChartSpec, draw)] of chart_generic for each scenario of the run whose descriptor has
    no chart (nor a scenario it is part of, nor `table=False`), or that has no descriptor."""
    out = []
    for scenario in dict.fromkeys(b.scenario for b in run.benches.values() if b.ok):
        desc = scenarios.get(scenario)
        if desc is not None and (desc.charts or desc.part_of or not desc.table):
            continue
        spec = scenarios.ChartSpec(scenario, f"{scenario} against its first parameter",
                                   lambda r, s=scenario: chart_generic(r, s))
        out.append((spec, spec.draw))
    return out


def chart_specs(run: Run | None = None) -> list:
    """[(ChartSpec, draw function)] of every scenario descriptor, in report order, then (for
    `run`) the generic chart of each scenario without one."""
    specs = [(spec, spec.draw) for spec in scenarios.all_charts()]
    return specs + (generic_specs(run) if run is not None else [])


# --- writing --------------------------------------------------------------------------------

def save_figure(fig, out_dir: str, stem: str) -> list:
    paths = []
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        meta = {"Software": "pollbench"} if ext == "png" else {"Date": None,
                                                                "Creator": "pollbench"}
        atomic_write(path, lambda tmp, ext=ext, meta=meta:
                     fig.savefig(tmp, format=ext, metadata=meta))
        paths.append(path)
        # The PNG's draw placed the axes; the SVG keeps that layout instead of computing it
        # again (the constrained layout was a quarter of the report's time).
        fig.set_layout_engine("none")
    return paths


def draw_charts(run: Run) -> list:
    """[(ChartSpec, Figure)] for every chart the run has data for. Drawing happens before
    any file is written, so a failure leaves no partial set behind."""
    out = []
    for spec, draw in chart_specs(run):
        fig = draw(run)
        if fig is not None:
            out.append((spec, fig))
    return out


# The charts drawn here, by scenario, in summary.md's order.
C = scenarios.ChartSpec
scenarios.present("dispatch", charts=(
    C("cost_vs_fds", "Cost per event against total fds", chart_cost_vs_fds),
    C("cost_vs_active", "Cost per event against active fds", chart_cost_vs_active),
    C("overhead", "Interface overhead against the raw syscall loop", chart_overhead),
    C("library_over_mechanism", "Library over mechanism", chart_library_over_mechanism)))
scenarios.present("chain", charts=(C("chain", "chain (libevent bench.c workload)", chart_chain),))
scenarios.present("churn", charts=(C("churn", "Registration churn", chart_churn),))
scenarios.present("wakeup", charts=(
    C("wakeup_percentiles", "Wakeup latency against total fds", chart_wakeup_percentiles),
    C("wakeup_cdf", "Wakeup latency distribution", chart_wakeup_cdf)))
scenarios.present("herd", charts=(C("herd", "Thundering herd", chart_herd),))
scenarios.present("timeout", charts=(C("timeout", "Timeout accuracy", chart_timeout),))
