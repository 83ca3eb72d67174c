"""Where an event's time goes: user space, the kernel, or off the CPU.

The dispatch, raw and chain rows record the timed thread's CPU over the timed loop, split by
the kernel into user and system time, and its context switches (counters `user_ns_per_event`,
`sys_ns_per_event`, `vcsw_per_event`, `ivcsw_per_event`; results/README.md). The wall time
per event (`ns_per_event`) minus the two is the time the thread was off its CPU: asleep (a
blocking call) or runnable but not running (preempted, or a VM's stolen time). With the
syscalls per event (plots/syscalls.py) this says whether a library's extra cost is its own code
(user time) or more calls (kernel time). The wakeup rows record the same of their waiter per
sample (`waiter_*_per_sample`); they are not drawn here.

The points: dispatch at A = 1 at the smallest and the largest N each row ran, and chain at
A = 1 at the N where the syscalls were counted (else its smallest). The split of each
repetition is taken as shares of its wall time; the chart and the table show the medians of
the shares, scaled to the median wall time (medians do not add up).

chart_time_split and time_split_section join the chain descriptor (scenarios.present, at the
end of this module). Standard library only, but for the chart.
"""

from __future__ import annotations

import json
import statistics

import analysis as an
import scenarios

USER, SYS = "user_ns_per_event", "sys_ns_per_event"
VCSW, IVCSW = "vcsw_per_event", "ivcsw_per_event"
PARTS = ("user", "kernel", "off CPU")
SYSCALLS_KEY = "pollbench_syscalls"


def split_of(bench) -> dict | None:
    """{"total", "user", "kernel", "off CPU", "vcsw", "ivcsw"} in ns (switches per event) of a
    row with the split counters, else None."""
    totals, users, systems = (bench.values(c) for c in (an.COST, USER, SYS))
    if not totals or not users or not systems or not (len(totals) == len(users) == len(systems)):
        return None
    shares = [(u / t, s / t) for t, u, s in zip(totals, users, systems) if t > 0]
    if not shares:
        return None
    user = statistics.median(u for u, _ in shares)
    kernel = statistics.median(s for _, s in shares)
    # The CPU can read a little above the wall time (its window holds two readings more):
    # then nothing was off the CPU and the two shares are scaled into the whole.
    cpu = user + kernel
    if cpu > 1:
        user, kernel = user / cpu, kernel / cpu
    total = statistics.median(totals)
    return {"total": total, "user": user * total, "kernel": kernel * total,
            "off CPU": max(0.0, 1 - user - kernel) * total,
            "vcsw": bench.median(VCSW), "ivcsw": bench.median(IVCSW)}


def _syscall_point(run):
    """(N, A, {row: syscalls per event}) of the run's syscall count, or None."""
    raw = run.context.get(SYSCALLS_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return None
    rows = {row: sum(per.values()) for row, per in data.get("rows", {}).items()
            if isinstance(per, dict)}
    return data.get("fds"), data.get("active"), rows


def points(run) -> list:
    """[(title, scenario, N, [(row, bench)])] with the split counters, in report order."""
    out = []
    rows_of = {}
    for b in run.select("dispatch", active=1):
        if split_of(b) is not None and isinstance(b.name.get("fds"), (int, float)):
            rows_of.setdefault(b.backend, []).append(b)
    sizes = sorted({b.name.get("fds") for bs in rows_of.values() for b in bs})
    if sizes:
        for n, title in ((sizes[0], "smallest"), (sizes[-1], "largest")):
            if title == "largest" and n == sizes[0]:
                break
            series = [(bk, next(b for b in rows_of[bk] if b.name.get("fds") == n))
                      for bk in run.backends("dispatch")
                      if any(b.name.get("fds") == n for b in rows_of.get(bk, []))]
            out.append((f"dispatch, N = {n:,}, A = 1", "dispatch", n, series))
    chains = [b for b in run.select("chain", active=1) if split_of(b) is not None]
    counted = _syscall_point(run)
    chain_sizes = sorted({b.name.get("fds") for b in chains})
    if chain_sizes:
        n = counted[0] if counted and counted[0] in chain_sizes else chain_sizes[0]
        series = [(bk, b) for bk in run.backends("chain")
                  for b in chains if b.backend == bk and b.name.get("fds") == n]
        writes = next((b.median("writes") for _, b in series if b.has("writes")), None)
        w = f", W = {writes:,.0f}" if writes else ""
        out.append((f"chain, N = {n:,}, A = 1{w}", "chain", n, series))
    return [p for p in out if p[3]]


def time_split_section(run) -> list:
    """Markdown: the split table of every point, with the syscalls per event where counted."""
    pts = points(run)
    if not pts:
        return []
    counted = _syscall_point(run)
    out = ["## Where the time goes", "",
           "Per event, the timed thread's wall time split into user space, the kernel (its "
           "CPU time, `getrusage(RUSAGE_THREAD)` over the timed loop) and off its CPU (the "
           "rest: asleep, or preempted — on a busy machine this is the noise), with its "
           "context switches: voluntary (it slept) and involuntary (it was preempted). Medians "
           "of the repetitions' shares, scaled to the median ns per event. The kernel samples "
           "user against system time at each tick (250 per second on the development VM), so "
           "the split of one 30 ms repetition is good to ~15% and that of the median to a few "
           "percent; the CPU total is exact."]
    if counted:
        out += ["", f"The syscalls per event are those of [Syscalls per event](#syscalls-per-"
                f"event), counted on the chain at N = {counted[0]}, A = {counted[1]}."]
    out.append("")
    for title, scenario, n, series in pts:
        with_calls = counted and scenario == "chain" and n == counted[0]
        head = ["row", "ns / event", "user", "kernel", "off CPU", "voluntary / event",
                "involuntary / event"] + (["syscalls / event"] if with_calls else [])
        out += [f"**{title}**", "", "| " + " | ".join(head) + " |",
                "|---|" + "---:|" * (len(head) - 1)]
        for bk, b in series:
            s = split_of(b)
            cells = [f"`{bk}`", an.fmt_ns(s["total"])]
            cells += [f"{an.fmt_ns(s[p])} ({s[p] / s['total']:.0%})" if s["total"] else "–"
                      for p in PARTS]
            cells += [f"{v:.3g}" if v is not None else "–" for v in (s["vcsw"], s["ivcsw"])]
            if with_calls:
                calls = counted[2].get(bk)
                cells.append(f"{calls:.2f}" if calls is not None else "–")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return out


def chart_time_split(run):
    """Stacked horizontal bars per row at each point: user, kernel, off CPU (ns per event)."""
    pts = points(run)
    if not pts:
        return None
    import charts
    from matplotlib.ticker import FuncFormatter, MaxNLocator
    rows = max(len(series) for *_, series in pts)
    fig, axes = charts.new_figure(run, "Where an event's time goes: user space, the kernel, "
                                       "off the CPU (wall time per event)",
                                  ncols=len(pts), width=4.6 * len(pts) + 2.5,
                                  height=max(4.0, 0.32 * rows + 2.2))
    for ax, (title, _, _, series) in zip(axes, pts):
        splits = [(bk, split_of(b)) for bk, b in series]
        # An O(N) row at the largest N costs hundreds of times the others: its bar is cut at
        # four times the panel's median and labelled, so the others stay legible.
        totals = sorted(s["total"] for _, s in splits)
        top = min(totals[-1], 4 * totals[len(totals) // 2])
        for y, (bk, s) in enumerate(splits):
            color = charts.style(run, bk)[0]
            left = 0.0
            for part, fill, hatch in (("user", color, None), ("kernel", "white", "///"),
                                      ("off CPU", "#dddddd", None)):
                ax.barh(y, s[part], left=left, color=fill, edgecolor=color, hatch=hatch)
                left += s[part]
            if s["total"] > top:
                ax.annotate(f"→ {an.fmt_ns(s['total'])} ns", (top, y), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7.5)
        ax.set_yticks(range(len(splits)), [bk for bk, _ in splits], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.25)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ns per event (median)")
    axes[0].set_ylabel("solid: user space; hatched: kernel; grey: off CPU")
    return fig


# Dispatch and chain: after chain's own chart and section (summary.py imports this module
# after presenting those).
scenarios.present("chain", charts=(
    scenarios.ChartSpec("time_split", "Where an event's time goes", chart_time_split),),
    sections=(time_split_section,))
