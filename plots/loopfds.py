"""The event loop's other descriptors: timers (timerfd against the wait's own timeout),
signals (signalfd against a self-pipe) and the descriptor another thread wakes a loop
through (eventfd, pipe, socketpair). Their rows:

  timerfd/<row>/us:<T>                            lateness of a timerfd armed before each
                                                  wait, and the arming's cost per wait
                                                  (wait0_ns, armed_wait0_ns, arm_ns)
  timeout/<row>/us:<T>                            the same wait with its own timeout
  signal/<row>/via:<signalfd|selfpipe>            send -> return with the signal identified
  wakeup/<row>/fds:<N>/cpu:other/wake:<kind>      write -> return, through a wake descriptor

The data functions and the summary sections are standard library only; the chart functions
import matplotlib (through charts.py) when called; this module presents them to the timerfd
and signal descriptors itself (scenarios.present, at its end).
`use_when_sentences(run)` gives the sentences a "what to use when" section can quote.
"""

from __future__ import annotations

import analysis as an
import scenarios
from analysis import fmt_names
from pbresults import Bench, Run

SIGNAL_VIAS = ("signalfd", "selfpipe")
VIA_LABEL = {"signalfd": "signalfd in the poller", "selfpipe": "self-pipe from the handler"}
WAKE_KINDS = ("eventfd", "pipe", "socketpair")
# use_when_sentences: a timerfd "pays off" where it is this many times more punctual (p50).
FINER = 2.0


# --- data ------------------------------------------------------------------------------------

def timer_rows(run: Run) -> list:
    """[(backend, T µs, timerfd bench, own-timeout bench or None)] in registry order, for
    every timerfd row with lateness data."""
    out = []
    for bk in run.backends("timerfd"):
        for b in sorted(run.select("timerfd", bk), key=lambda b: b.name.get("us") or 0):
            t = b.name.get("us")
            if not isinstance(t, (int, float)) or not b.has("late_p50_ns"):
                continue
            own = next((o for o in run.select("timeout", bk, us=t) if o.has("late_p50_ns")),
                       None)
            out.append((bk, t, b, own))
    return out


def signal_table(run: Run) -> dict:
    """{backend: {via: bench}} of the signal rows with latency data, in registry order."""
    out = {}
    for bk in run.backends("signal"):
        for b in run.select("signal", bk):
            via = b.name.get("via")
            if via in SIGNAL_VIAS and b.has("p50_ns"):
                out.setdefault(bk, {})[via] = b
    return out


def wake_table(run: Run) -> dict:
    """{backend: {kind: bench}} of the wakeup rows with a wake:<kind> part, in registry order
    (the kinds in WAKE_KINDS order, then any other)."""
    out = {}
    for bk in run.backends("wakeup"):
        rows = {b.name.get("wake"): b for b in run.select("wakeup", bk)
                if b.name.get("wake") is not None and b.has("p50_ns")}
        if rows:
            order = [k for k in WAKE_KINDS if k in rows] + sorted(set(rows) - set(WAKE_KINDS))
            out[bk] = {k: rows[k] for k in order}
    return out


def _p(b: Bench | None, counter: str):
    return None if b is None else b.median(counter)


def _fastest(per: dict, counter: str = "p50_ns"):
    """(name, value) with the smallest median of `counter` among {name: bench}, or None."""
    got = [(v, k) for k, b in per.items() if (v := _p(b, counter)) is not None]
    return (min(got)[1], min(got)[0]) if got else None


# --- Markdown --------------------------------------------------------------------------------

def _us(v) -> str:
    if v is None:
        return "–"
    us = v / 1e3
    return f"{us:,.0f}" if us >= 100 else f"{us:.3g}"


def _ns(v) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _range(values: list, fmt) -> str:
    """'5.46–5.8' for the smallest and largest of `values`, one number when they print alike."""
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def _pair(b: Bench | None, lo: str = "p50_ns", hi: str = "p99_ns") -> str:
    return "–" if b is None else f"{_us(_p(b, lo))} / {_us(_p(b, hi))}"


def _table(header: list, rows: list, left: int = 1) -> list:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]


def arm_share(b: Bench):
    """arm_ns over the wait(0) alone: what the arming adds to a wait that returns at once."""
    arm, idle = _p(b, "arm_ns"), _p(b, "wait0_ns")
    return arm / idle if arm is not None and idle else None


def timers_section(run: Run) -> list:
    rows = timer_rows(run)
    if not rows:
        return []
    out = ["## Timers: a timerfd against the wait's own timeout", "",
           "`timerfd/<row>/us:T`: a timerfd registered beside the idle fd and armed for T "
           "(`timerfd_settime`) before each `wait(-1)`, as a precise-timer loop does; "
           "`timeout/<row>/us:T`: the same wait with its own timeout T. Lateness p50 / p99 in "
           "µs. Arming: ns per wait that returns at once with nothing ready — `wait(0)` "
           "alone, and `timerfd_settime` + `wait(0)` — measured alternately in the same "
           "repetitions (a loop with events ready never sleeps, so this is what the timerfd "
           "costs every pass of a busy loop).", ""]
    table = []
    for bk, t, b, own in rows:
        share = arm_share(b)
        table.append([bk, f"{t:,}", _pair(own, "late_p50_ns", "late_p99_ns"),
                      _pair(b, "late_p50_ns", "late_p99_ns"), _ns(_p(b, "wait0_ns")),
                      _ns(_p(b, "armed_wait0_ns")),
                      _ns(_p(b, "arm_ns")) + ("" if share is None else f" (+{share:.0%})")])
    out += _table(["backend", "T (µs)", "own timeout: late p50 / p99", "timerfd: late p50 / p99",
                   "wait(0) ns", "settime + wait(0) ns", "arming ns / wait"], table)
    out += [" ".join(timer_sentences(run)), ""]
    return out


def timer_sentences(run: Run) -> list:
    out = []
    for bk, t, b, own in timer_rows(run):
        late, own_late = _p(b, "late_p50_ns"), _p(own, "late_p50_ns")
        arm = _p(b, "arm_ns")
        words = f"{bk}, T = {t:,} µs: the timerfd came back {_us(late)} µs late (p50)"
        if own_late is not None:
            words += f" against {_us(own_late)} µs for the wait's own timeout"
        if arm is not None:
            share = arm_share(b)
            words += f", and arming it cost {_ns(arm)} ns per wait" + (
                f" (+{share:.0%} on a wait(0))" if share is not None else "")
        out.append(words + ".")
    return out


def signal_section(run: Run) -> list:
    table = signal_table(run)
    if not table:
        return []
    out = ["## Signals: signalfd against a self-pipe", "",
           "`signal/<row>/via:<signalfd|selfpipe>`: another thread sends a signal to the "
           "process (`kill`) while the waiter blocks in `wait(-1)`; latency = the waiter's "
           "return with the signal's fd − the send, counted once the signal's number is "
           "read back. via:signalfd — the signal blocked in every thread, a signalfd "
           "registered; via:selfpipe — the signal taken by the waiter, whose wait returns "
           "EINTR, the handler writes the signal's number into a pipe, the next wait reports "
           "it. Waiter and sender on different CPUs. p50 / p99 in µs.", ""]
    rows = []
    for bk, per in table.items():
        a, b = per.get("signalfd"), per.get("selfpipe")
        ratio = (_p(b, "p50_ns") / _p(a, "p50_ns")) if _p(a, "p50_ns") and _p(b, "p50_ns") \
            else None
        rows.append([bk, _pair(a), _pair(b), "–" if ratio is None else f"{ratio:.2f}"])
    out += _table(["backend", "signalfd p50 / p99", "self-pipe p50 / p99",
                   "self-pipe / signalfd (p50)"], rows)
    out += [" ".join(signal_sentences(run)), ""]
    return out


def signal_sentences(run: Run) -> list:
    out = []
    for bk, per in signal_table(run).items():
        best = _fastest(per)
        if best is None or len(per) < 2:
            continue
        other = next(k for k in per if k != best[0])
        out.append(f"{bk}: {VIA_LABEL[best[0]]} told the waiter in {_us(best[1])} µs (p50), "
                   f"the {VIA_LABEL[other]} in {_us(_p(per[other], 'p50_ns'))} µs.")
    return out


def wake_descriptor_section(run: Run) -> list:
    table = wake_table(run)
    if not table:
        return []
    kinds = list(dict.fromkeys(k for per in table.values() for k in per))
    out = ["## Wake-up descriptors: eventfd, pipe, socketpair", "",
           "`wakeup/<row>/fds:N/cpu:other/wake:<kind>`: the N fds idle, the waiter woken by "
           "another thread through a descriptor of its own — an eventfd counter (what libuv's "
           "`uv_async` uses), a pipe or a socketpair byte; latency = return − write. "
           "p50 / p99 in µs.", ""]
    rows = [[k] + [_pair(per.get(k)) for per in table.values()] for k in kinds]
    out += _table(["wake descriptor"] + list(table), rows)
    out += [" ".join(wake_sentences(run)), ""]
    return out


def wake_sentences(run: Run) -> list:
    out = []
    for bk, per in wake_table(run).items():
        best = _fastest(per)
        if best is None:
            continue
        others = [f"{k} {_us(_p(b, 'p50_ns'))}" for k, b in per.items() if k != best[0]]
        out.append(f"{bk}: woken fastest through a{'n' if best[0][0] in 'aeiou' else ''} "
                   f"{best[0]} ({_us(best[1])} µs p50" + (
                       f"; {fmt_names(others)} µs" if others else "") + ").")
    return out


def use_when_sentences(run: Run) -> list:
    """One sentence each for timers, signals and wake-up descriptors, from the run's data
    (none for a kind the run did not measure): the hook of a "what to use when" section."""
    out = []
    rows = timer_rows(run)
    if rows:
        t = rows[0][1]
        paired = [(bk, b, own) for bk, tt, b, own in rows
                  if tt == t and own is not None and _p(own, "late_p50_ns")
                  and _p(b, "late_p50_ns")]
        # A timerfd pays off where it is at least twice as punctual as the own timeout (a
        # millisecond API rounding T up); elsewhere it only costs its arming.
        finer = [(bk, b, own) for bk, b, own in paired
                 if _p(b, "late_p50_ns") * FINER < _p(own, "late_p50_ns")]
        level = [(bk, b, own) for bk, b, own in paired if (bk, b, own) not in finer]
        arms = [a for _, _, b, _ in rows if (a := _p(b, "arm_ns")) is not None]
        cost = f"{_range(arms, _ns)} ns of `timerfd_settime` per wait" if arms else \
            "its arming"

        def span(items, side):
            return _range([_p(x[side], "late_p50_ns") for x in items], _us) + " µs"
        parts = []
        if finer:
            parts.append(f"a timerfd on {fmt_names(bk for bk, _, _ in finer)} (it came back "
                         f"{span(finer, 1)} late at T = {t:,} µs, their own timeout "
                         f"{span(finer, 2)})")
        if level:
            parts.append(f"{'; ' if finer else ''}{fmt_names(bk for bk, _, _ in level)} "
                         f"{'were' if len(level) > 1 else 'was'} as punctual with "
                         f"{'their' if len(level) > 1 else 'its'} own timeout "
                         f"({span(level, 2)}, timerfd {span(level, 1)}), so there a timerfd "
                         "only costs")
        if parts:
            out.append(("Timers finer than a millisecond: " if finer else "Timers: ")
                       + "".join(parts) + f"; arming one costs {cost}, on every pass of a "
                       "busy loop.")
    sig = signal_table(run)
    wins = {}
    for bk, per in sig.items():
        best = _fastest(per)
        if best is not None and len(per) == 2:
            wins.setdefault(best[0], []).append(bk)
    if wins:
        parts = [f"{VIA_LABEL[via]} on {fmt_names(bks)}" for via, bks in wins.items()]
        out.append("Signals: the faster way to learn of one (p50) was the "
                   + "; the ".join(parts) + ".")
    wake = wake_table(run)
    if wake:
        parts = []
        for bk, per in wake.items():
            ranked = sorted((v, k) for k, b in per.items()
                            if (v := _p(b, "p50_ns")) is not None)
            if ranked:
                parts.append(f"on {bk} " + ", ".join(f"{k} {_us(v)} µs" for v, k in ranked))
        if parts:
            out.append("Cross-thread wake-ups (p50, fastest first): " + "; ".join(parts) + ".")
    return out


# --- charts ----------------------------------------------------------------------------------

def _bars(run: Run, ax, groups: list, series: list, lo: str, hi: str) -> None:
    """Grouped bars: one group per label in `groups`, one bar per (label, {group: bench},
    hatch) in `series`, height = median of `lo`, whisker to the median of `hi`."""
    import charts
    width = 0.8 / max(len(series), 1)
    lows = []
    for j, (label, per, hatch, color) in enumerate(series):
        xs, ys, tops = [], [], []
        for i, g in enumerate(groups):
            b = per.get(g)
            v = _p(b, lo)
            if v is None or v <= 0:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(v)
            tops.append(_p(b, hi))
        if not xs:
            continue
        lows.append(min(ys))
        ax.bar(xs, ys, width=width * 0.9, color=color, hatch=hatch, edgecolor="white",
               label=label, zorder=3)
        for x, y, top in zip(xs, ys, tops):
            if top and top > y:
                ax.plot([x, x], [y, top], color="0.15", linewidth=1.1, zorder=4)
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=9)
    charts._us_axis(ax, "y")
    if lows:  # bars on a log axis start at its bottom: well below the shortest one
        ax.set_ylim(bottom=min(lows) / 2)
    ax.grid(False, axis="x", which="both")


SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]


def chart_timers(run: Run):
    """Left: lateness (p50 bar, p99 whisker) of the own timeout and the timerfd per backend;
    right: ns per wait(0) alone and with timerfd_settime."""
    rows = timer_rows(run)
    if not rows:
        return None
    import charts
    t = rows[0][1]
    rows = [r for r in rows if r[1] == t]
    groups = [bk for bk, *_ in rows]
    fig, axes = charts.new_figure(run, f"Timers at T = {t:,} µs: a timerfd armed before each "
                                       "wait against the wait's own timeout",
                                  ncols=2, width=12.5, height=5.6)
    late = [("own timeout", {bk: own for bk, _, _, own in rows}, None, SERIES_COLORS[0]),
            ("timerfd", {bk: b for bk, _, b, _ in rows}, "//", SERIES_COLORS[1])]
    _bars(run, axes[0], groups, late, "late_p50_ns", "late_p99_ns")
    axes[0].set_ylabel("returned this much after T (µs), log\nbar = p50, whisker = p99")
    axes[0].set_title("lateness", fontsize=10)
    axes[0].legend(fontsize=8, loc="upper right")
    ax = axes[1]
    width = 0.38
    sides = (("wait(0) alone", "wait0_ns", SERIES_COLORS[0]),
             ("timerfd_settime + wait(0)", "armed_wait0_ns", SERIES_COLORS[1]))
    for j, (label, counter, color) in enumerate(sides):
        xs = [i - 0.2 + width * j for i in range(len(rows))]
        ys = [_p(b, counter) or 0 for _, _, b, _ in rows]
        ax.bar(xs, ys, width=width * 0.9, color=color, hatch="//" if j else None,
               edgecolor="white", label=label, zorder=3)
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("ns per wait with nothing ready (median)")
    ax.set_title("the arming's cost per wait", fontsize=10)
    ax.grid(False, axis="x", which="both")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def chart_signals(run: Run):
    """send → return with the signal identified, per backend: signalfd and self-pipe."""
    table = signal_table(run)
    if not table:
        return None
    import charts
    groups = list(table)
    fig, axes = charts.new_figure(run, "Signals: kill() on one thread to the waiter's return "
                                       "with the signal identified — bar = p50, whisker = p99",
                                  width=8.5, height=5.6)
    series = [(VIA_LABEL[v], {bk: per.get(v) for bk, per in table.items()},
               None if i == 0 else "//", SERIES_COLORS[i]) for i, v in enumerate(SIGNAL_VIAS)]
    _bars(run, axes[0], groups, series, "p50_ns", "p99_ns")
    axes[0].set_ylabel("latency (µs), log")
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def chart_wake_descriptors(run: Run):
    """write → return per wake descriptor kind, grouped by backend."""
    table = wake_table(run)
    if not table:
        return None
    import charts
    groups = list(table)
    kinds = list(dict.fromkeys(k for per in table.values() for k in per))
    fig, axes = charts.new_figure(run, "Cross-thread wake-up through the loop's wake "
                                       "descriptor — bar = p50, whisker = p99",
                                  width=8.5, height=5.6)
    series = [(k, {bk: per.get(k) for bk, per in table.items()}, [None, "//", ".."][i % 3],
               SERIES_COLORS[i % len(SERIES_COLORS)]) for i, k in enumerate(kinds)]
    _bars(run, axes[0], groups, series, "p50_ns", "p99_ns")
    axes[0].set_ylabel("write → return (µs), log")
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# The charts and sections drawn here, by scenario, in summary.md's order.
scenarios.present("timerfd", charts=(
    scenarios.ChartSpec("timers", "Timers: timerfd against the wait's own timeout", chart_timers),),
    sections=(timers_section,))
scenarios.present("signal", charts=(
    scenarios.ChartSpec("signals", "Signals: signalfd against a self-pipe", chart_signals),
    scenarios.ChartSpec("wake_descriptors", "Wake-up descriptors: eventfd, pipe, socketpair",
                        chart_wake_descriptors)),
    sections=(signal_section, wake_descriptor_section))
