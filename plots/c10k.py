"""The C10K experiment: an HTTP/1.1 keep-alive server on each registry row's Poller, wrk's load
on C connections, I idle connections held by another process. Its rows:

  server/<row>/idle:<I>/conns:<C>    requests_per_s (the server's count over the timed
                                     windows), wrk_requests_per_s, wrk's p50/p75/p90/p99_ns,
                                     cpu_ns_per_request (the server's CPU time), errors

The classic studies' question — from how many idle connections on does the mechanism matter
for a server? — is answered by `fall_behind(run)`: for each O(registered) mechanism row
(`wait_cost` per_registered, not a library: select, poll), the first idle count where its
requests/s fall more than BEHIND below the best O(ready) mechanism row (epoll, io_uring) at
the same point. The data functions and the section are standard library only; the chart
functions import matplotlib (through charts.py) when called. charts.py and summary.py find
them by the names in scenarios.py.
"""

from __future__ import annotations

import analysis as an
from pbresults import Bench, Run

SCENARIO = "server"
RATE = "requests_per_s"
# A row "falls behind" where it serves at least this much less than the best O(ready) row:
# beyond what two processes' medians of one row differ by on a noisy machine (results/README).
BEHIND = 0.10


# --- data ------------------------------------------------------------------------------------

def server_table(run: Run) -> dict:
    """{C: {backend: [(I, bench), ...] by I}} of the server rows with a requests/s median, C
    ascending, backends in registry order."""
    out = {}
    for bk in run.backends(SCENARIO):
        for b in run.select(SCENARIO, bk):
            i, c = b.name.get("idle"), b.name.get("conns")
            if isinstance(i, int) and isinstance(c, int) and b.median(RATE) is not None:
                out.setdefault(c, {}).setdefault(bk, []).append((i, b))
    return {c: {bk: sorted(rows, key=lambda r: r[0]) for bk, rows in per.items()}
            for c, per in sorted(out.items())}


def _mechanism(run: Run, bk: str, cost: str) -> bool:
    return (run.registry.fact(bk, "wait_cost") == cost and not run.registry.wraps(bk))


def _at(rows: list, i: int) -> Bench | None:
    return next((b for ii, b in rows if ii == i), None)


def behind(row: Bench, best: Bench, rate: float, best_rate: float) -> bool:
    """At least BEHIND slower than the best O(ready) row, and beyond the noise: the paired
    bootstrap interval of best / row (requests/s) lies above 1."""
    if rate >= best_rate * (1 - BEHIND):
        return False
    r = an._paired_ratio(best, row, RATE)  # noqa: SLF001 — the one paired ratio
    return r is None or r.low is None or r.low > 1.0


def fall_behind(run: Run) -> list:
    """[(C, backend, first I behind or None, that I's (rate, best rate, best backend), largest
    I reached, its (rate, best rate, best backend))] for every O(registered) mechanism row."""
    out = []
    for c, per in server_table(run).items():
        ready = [bk for bk in per if _mechanism(run, bk, "per_ready")]
        if not ready:
            continue

        def best_at(i):
            got = [(v, bk) for bk in ready if (b := _at(per[bk], i)) and (v := b.median(RATE))]
            return max(got) if got else None

        for bk, rows in per.items():
            if not _mechanism(run, bk, "per_registered"):
                continue
            first, first_point, last_point, last_i = None, None, None, None
            for i, b in rows:
                best = best_at(i)
                rate = b.median(RATE)
                if best is None or rate is None:
                    continue
                point = (rate, best[0], best[1])
                last_point, last_i = point, i
                if behind(b, _at(per[best[1]], i), rate, best[0]):
                    if first is None:
                        first, first_point = i, point
                else:  # "from I on": behind at every larger I too, not at one noisy point
                    first, first_point = None, None
            if last_point is not None:
                out.append((c, bk, first, first_point, last_i, last_point))
    return out


# --- text ------------------------------------------------------------------------------------

def _rate(v) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _us(v) -> str:
    if v is None:
        return "–"
    us = v / 1e3
    return f"{us:,.0f}" if us >= 100 else f"{us:.3g}"


def _pct(rate, best) -> str:
    return f"{(rate / best - 1) * 100:+.0f}%"


def fall_behind_sentences(run: Run) -> list:
    out = []
    table = server_table(run)
    for c, bk, first, fp, last_i, lp in fall_behind(run):
        load = f"{c} loaded connection{'s' if c != 1 else ''}"
        if last_i == 0:
            s = f"With {load}, {bk} ran at 0 idle connections only ({_rate(lp[0])} against " \
                f"{lp[2]}'s {_rate(lp[1])} requests/s)"
        elif first is not None:
            s = (f"With {load}, {bk} falls behind the O(ready) rows from {first:,} idle "
                 f"connections on: {_rate(fp[0])} requests/s against {fp[2]}'s {_rate(fp[1])} "
                 f"({_pct(fp[0], fp[1])})")
            if last_i != first:
                s += f"; at {last_i:,}: {_rate(lp[0])} against {_rate(lp[1])} ({_pct(lp[0], lp[1])})"
        else:
            s = (f"With {load}, {bk} stays within {BEHIND:.0%} of the O(ready) rows up to "
                 f"{last_i:,} idle connections ({_rate(lp[0])} against {lp[2]}'s "
                 f"{_rate(lp[1])} requests/s there)")
        largest = max(i for rows in table[c].values() for i, _ in rows)
        if last_i < largest:
            reason = next((b.error for b in run.select(SCENARIO, bk, ok_only=False, conns=c)
                           if not b.ok and b.error), None)
            s += (f"; it stops at {last_i:,}" if last_i else "") + \
                (f" — {reason}" if reason else "")
        out.append(s + ".")
    return out


def _table(header: list, rows: list) -> list:
    out = ["| " + " | ".join(header) + " |",
           "|---|" + "|".join("---:" for _ in header[1:]) + "|"]
    return out + ["| " + " | ".join(str(x) for x in row) + " |" for row in rows] + [""]


def server_section(run: Run) -> list:
    table = server_table(run)
    if not table:
        return []
    ctx = run.scenarios_context().get(SCENARIO, {})
    out = ["## The C10K experiment: an HTTP server on each backend", "",
           "`server/<row>/idle:<I>/conns:<C>`: a single-threaded HTTP/1.1 keep-alive server "
           "whose loop is the row's Poller, in a process of its own pinned to one CPU; I idle "
           "connections held open and silent by another process; wrk on the other CPU keeps "
           "C connections busy. Cells: requests/s (the server's count over the timed window) "
           "· wrk's p99 latency in µs · the server's CPU µs per request."]
    if isinstance(ctx.get("largest_idle"), int):
        out[-1] += (f" The largest I that fits one server process here: "
                    f"{ctx['largest_idle']:,}.")
    out.append("")
    for c, per in table.items():
        idles = sorted({i for rows in per.values() for i, _ in rows})
        rows = []
        for bk, series in per.items():
            cells = []
            for i in idles:
                b = _at(series, i)
                cells.append("–" if b is None else
                             f"{_rate(b.median(RATE))} · {_us(b.median('p99_ns'))} · "
                             f"{_us(b.median('cpu_ns_per_request'))}")
            rows.append([bk] + cells)
        out.append(f"C = {c}:")
        out.append("")
        out += _table(["backend"] + [f"I = {i:,}" for i in idles], rows)
    sentences = []
    for c, per in table.items():
        zero = [b.median(RATE) for rows in per.values() if (b := _at(rows, 0)) is not None]
        if len(zero) > 1:
            sentences.append(f"With no idle connections and C = {c} the backends served "
                             f"{_rate(min(zero))}–{_rate(max(zero))} requests/s.")
    sentences += fall_behind_sentences(run)
    if sentences:
        out += [" ".join(sentences), ""]
    return out


# --- charts ----------------------------------------------------------------------------------

def _chart(run: Run, counter: str, title: str, ylabel: str, log_y: bool):
    table = server_table(run)
    if not table:
        return None
    import charts
    from matplotlib.ticker import FuncFormatter
    fig, axes = charts.new_figure(run, title, ncols=len(table), width=6.0 * len(table) + 2,
                                  height=5.6)
    for ax, (c, per) in zip(axes, table.items()):
        idles = set()
        for bk, rows in per.items():
            rows = [(i, b) for i, b in rows if b.median(counter) is not None]
            if not rows:
                continue
            charts.plot_series(run, ax, bk, rows, counter, bk)
            idles.update(i for i, _ in rows)
        ax.set_xscale("symlog", linthresh=1000)
        ax.set_xticks(sorted(idles), [f"{i:,}" for i in sorted(idles)])
        ax.set_xlabel("idle connections I")
        ax.set_title(f"C = {c} loaded connection{'s' if c != 1 else ''}", fontsize=10)
        if log_y:
            charts._us_axis(ax, "y")
        else:
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    axes[0].set_ylabel(ylabel)
    charts.legend(axes[-1])
    return fig


def chart_server_requests(run: Run):
    """requests/s against idle connections, one line per backend, a panel per C."""
    return _chart(run, RATE, "HTTP requests/s against idle connections — one server loop per "
                             "backend, wrk's load", "requests/s (server count)" + _SPREAD, False)


def chart_server_p99(run: Run):
    """wrk's p99 latency against idle connections."""
    return _chart(run, "p99_ns", "HTTP p99 latency (wrk) against idle connections",
                  "p99 latency (µs), log" + _SPREAD, True)


_SPREAD = "\nmedian; band = min–max of the repetitions"
