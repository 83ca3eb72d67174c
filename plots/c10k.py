"""The C10K experiment, and epoll against io_uring as a server: an HTTP/1.1 keep-alive server
whose loop is a registry row's readiness loop or an io_uring completion engine (the second
name segment: a "loop"), I idle connections held by another process. Its rows:

  server/<loop>/idle:<I>/conns:<C>   wrk keeps C connections busy (closed loop):
                                     requests_per_s (the server's count), wrk's p50..p99_ns
  server/<loop>/idle:<I>/rate:<R>    pollbench-load offers R requests/s on a fixed schedule
                                     (open loop): reply_rps, p50..p999_ns from each request's
                                     scheduled send, late_sends

and on both: cpu/user/sys_ns_per_request (the server's CPU), server_busy and client_busy (the
share of one CPU each side used over the measured windows).

Three questions, three answers here:
- from how many idle connections does the mechanism matter (`fall_behind`): for each
  O(registered) mechanism row (select, poll), the first idle count where its requests/s fall
  more than BEHIND below the best O(ready) mechanism row, only at points where no side's load
  generator set the pace;
- what a request costs the server with each loop (`cpu_against_baseline`): CPU per request of
  every loop over the baseline readiness loop (`baseline_loop`: the first O(ready) mechanism
  row in preference order), with the run's paired interval; requests/s are compared only where
  the server was the bottleneck (`bound`);
- how much each loop serves before its latency leaves its floor (`capacity`).
The data functions and the sections are standard library only; the chart functions import
matplotlib (through charts.py) when called. charts.py and summary.py find them by the names in
scenarios.py.
"""

from __future__ import annotations

import analysis as an
import scenarios
from pbresults import Bench, Run

SCENARIO = "server"
RATE = "requests_per_s"
# A row "falls behind" where it serves at least this much less than the best O(ready) row:
# beyond what two processes' medians of one row differ by on a noisy machine (results/README).
BEHIND = 0.10
CPU = "cpu_ns_per_request"
# A side that used this share of its CPU over the measured windows set the pace: the server
# (server_busy) or the load generator (client_busy). Neither: the round trip did.
BUSY = 0.9
CLIENT_LATE = 0.05
# An open-loop point has left its latency floor when its p99 is this many times the p99 at the
# lowest offered rate, or when fewer than REPLIED of the offered requests were answered.
LEFT_FLOOR = 2.0
REPLIED = 0.97


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


def bound(b: Bench) -> str:
    """"server" when the server used (nearly) all its CPU, "client" when the load generator
    did and the server did not — or, at a fixed rate, when the generator itself sent more than
    CLIENT_LATE of its requests late with a connection idle (pollbench-load's
    client_late_sends: on a shared machine it can be runnable but not running, which its CPU
    time does not show) —, "round trip" when neither (a point's rate is then set by the
    latency of one request); "?" without the counters (a run from before they existed)."""
    server, client = b.median("server_busy"), b.median("client_busy")
    if server is None:
        return "?"
    late, sent = b.median("client_late_sends"), b.median("sent")
    if late is not None and sent and late / sent > CLIENT_LATE:
        return "client"
    if server >= BUSY:
        return "server"
    if client is not None and client >= BUSY:
        return "client"
    return "round trip"


def baseline_loop(run: Run) -> str | None:
    """The loop every other is measured against: the registry's baseline row (the first
    level-triggered O(ready) mechanism in preference order) among those with server rows."""
    return run.registry.baseline_row(run.backends(SCENARIO))


def engines(run: Run) -> list:
    """The completion engines the run measured, in its order (the scenario's context)."""
    ctx = run.scenarios_context().get(SCENARIO, {})
    have = set(run.backends(SCENARIO))
    return [e for e in ctx.get("engines", []) if e in have]


def cpu_against_baseline(run: Run) -> list:
    """[((I, C), baseline bench, [(loop, bench, Ratio of CPU per request or None)])] for every
    closed-loop point the baseline measured, loops in run order."""
    base = baseline_loop(run)
    if base is None:
        return []
    out = []
    for c, per in server_table(run).items():
        for i, b0 in per.get(base, []):
            if b0.median(CPU) is None:
                continue
            others = []
            for bk, rows in per.items():
                b = _at(rows, i)
                if bk == base or b is None or b.median(CPU) is None:
                    continue
                others.append((bk, b, an._paired_ratio(b, b0, CPU)))  # noqa: SLF001
            out.append(((i, c), b0, others))
    return out


def rate_table(run: Run) -> dict:
    """{I: {loop: [(R, bench), ...] by R}} of the open-loop rows with a p99 (above 0: some
    request of the measured schedule was answered)."""
    out = {}
    for bk in run.backends(SCENARIO):
        for b in run.select(SCENARIO, bk):
            i, r = b.name.get("idle"), b.name.get("rate")
            # a p99 of 0: no request of the measured schedule was answered (nothing to draw)
            if isinstance(i, int) and isinstance(r, int) and b.median("p99_ns"):
                out.setdefault(i, {}).setdefault(bk, []).append((r, b))
    return {i: {bk: sorted(rows, key=lambda x: x[0]) for bk, rows in per.items()}
            for i, per in sorted(out.items())}


def capacity(rows: list):
    """(the highest offered rate before the p99 first left its floor or the replies fell
    short, the first rate that did or None, the first rate where the load generator was the
    limit or None): from one loop's [(R, bench)] by R. A client-bound point ends what the rows
    can tell: the capacity is then at least the rate before it."""
    if not rows:
        return None, None, None
    floor = rows[0][1].median("p99_ns")
    last_ok = None
    for r, b in rows:
        if bound(b) == "client":
            return last_ok, None, r
        p99, replies = b.median("p99_ns"), b.median("reply_rps")
        short = replies is not None and replies < REPLIED * r
        if p99 is None or floor is None or p99 > LEFT_FLOOR * floor or short:
            return last_ok, r, None
        last_ok = r
    return last_ok, None, None


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
                if best is None or rate is None or bound(b) == "client":
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
        elif lp[0] < lp[1] * (1 - BEHIND):
            # more than BEHIND slower, but the run's interval does not exclude chance
            s = (f"With {load}, {bk} is not behind the O(ready) rows beyond the noise up to "
                 f"{last_i:,} idle connections, though {_pct(lp[0], lp[1])} there "
                 f"({_rate(lp[0])} against {lp[2]}'s {_rate(lp[1])} requests/s)")
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


CLIENT_MARK = " ᶜ"


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
           "`server/<loop>/idle:<I>/conns:<C>`: a single-threaded HTTP/1.1 keep-alive server "
           "whose loop is a registry row's Poller or an io_uring completion engine, in a "
           "process of its own pinned to one CPU; I idle "
           "connections held open and silent by another process; wrk on the other CPU keeps "
           "C connections busy. Cells: requests/s (the server's count over the timed window) "
           "· wrk's p99 latency in µs · the server's CPU µs per request. "
           f"{CLIENT_MARK.strip()}: client-bound — wrk used {BUSY:.0%} or more of its CPU while the "
           "server did not: that rate is the load generator's, not the server's, and is not "
           "compared across loops."]
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
                             f"{_rate(b.median(RATE))}{CLIENT_MARK if bound(b) == 'client' else ''}"
                             f" · {_us(b.median('p99_ns'))} · {_us(b.median(CPU))}")
            rows.append([bk] + cells)
        out.append(f"C = {c}:")
        out.append("")
        out += _table(["backend"] + [f"I = {i:,}" for i in idles], rows)
    sentences = []
    for c, per in table.items():
        at0 = [b for rows in per.values() if (b := _at(rows, 0)) is not None]
        zero = [b.median(RATE) for b in at0 if bound(b) != "client"]
        if len(zero) > 1:
            sentences.append(f"With no idle connections and C = {c} the loops the load did not "
                             f"limit served {_rate(min(zero))}–{_rate(max(zero))} requests/s.")
        if any(bound(b) == "client" for b in at0):
            sentences.append(f"With C = {c} and no idle connections wrk, not the server, set the "
                             f"pace for {sum(bound(b) == 'client' for b in at0)} of {len(at0)} "
                             "loops: compare them on CPU per request (next section).")
    sentences += fall_behind_sentences(run)
    if sentences:
        out += [" ".join(sentences), ""]
    return out


def _ratio_words(r) -> str:
    if r is None or r.low is None:
        return f"{r.ratio:.2f}× (no interval)" if r is not None else "–"
    noise = "beyond the noise" if (r.low > 1 or r.high < 1) else "within the noise"
    return f"{r.ratio:.2f}× [{r.low:.2f}, {r.high:.2f}], {noise}"


def _us_split(b: Bench) -> str:
    cpu, user, sys_ = b.median(CPU), b.median("user_ns_per_request"), b.median("sys_ns_per_request")
    if user is None or sys_ is None:
        return _us(cpu)
    return f"{_us(cpu)} ({_us(user)} + {_us(sys_)})"


def _busy(v) -> str:
    return "–" if v is None else f"{v:.0%}"


def cpu_sentences(run: Run) -> list:
    """One sentence per io_uring loop (an engine or an O(ready) mechanism row) and closed-loop
    point: its CPU per request against the baseline's, beyond the noise or within it."""
    base = baseline_loop(run)
    eng = engines(run)
    out = []
    for (i, c), _b0, others in cpu_against_baseline(run):
        for bk, _b, r in others:
            if r is None or not (bk in eng or _mechanism(run, bk, "per_ready")):
                continue
            if r.low is not None and (r.low > 1 or r.high < 1):
                out.append(f"At I = {i:,}, C = {c}: `{bk}` used {r.ratio:.2f}× "
                           f"[{r.low:.2f}, {r.high:.2f}] `{base}`'s CPU per request "
                           f"({'more' if r.ratio > 1 else 'less'}, beyond the noise).")
            else:
                out.append(f"At I = {i:,}, C = {c}: `{bk}` and `{base}` are within the noise "
                           f"on CPU per request ({_ratio_words(r)}).")
    return out


def capacity_words(caps: list) -> str:
    words = []
    for bk, cap, left, client in caps:
        if client is not None:
            words.append(f"`{bk}` held its floor up to {cap:,}/s at least: from {client:,}/s the "
                         "load generator, not the server, was the limit" if cap is not None
                         else f"`{bk}`: the load generator was the limit from the lowest rate")
        elif cap is None:
            words.append(f"`{bk}` left its floor at the lowest rate measured")
        elif left is None:
            words.append(f"`{bk}` held its floor up to {cap:,}/s, the highest rate measured")
        else:
            words.append(f"`{bk}` held its floor up to {cap:,}/s and left it at {left:,}/s")
    return "; ".join(words) + ". Steps between offered rates are the resolution of these " \
        "capacities."


def capacity_sentences(run: Run) -> list:
    return [f"At a fixed offered rate with I = {i:,}: " +
            capacity_words([(bk, *capacity(rows)) for bk, rows in per.items()])
            for i, per in rate_table(run).items()]


SYSCALLS_KEY = "pollbench_server_syscalls"


def syscall_lines(run: Run) -> list:
    """The table of syscalls per request of each loop (the run's SYSCALLS_KEY), or []."""
    import json
    try:
        data = json.loads(run.context.get(SYSCALLS_KEY) or "{}")
    except (TypeError, ValueError):
        return []
    loops = data.get("loops", {})
    if not loops and not data.get("skipped"):
        return []
    rows = []
    for loop in run.registry.order(list(loops) + list(data.get("skipped", {})), "loop"):
        per = loops.get(loop)
        if per is None:
            rows.append([f"`{loop}`", "–", f"not counted: {data['skipped'][loop]}"])
            continue
        kept = sorted(((k, v) for k, v in per.items() if v >= 0.05), key=lambda kv: (-kv[1], kv[0]))
        rows.append([f"`{loop}`", f"{sum(per.values()):.2f}",
                     ", ".join(f"{k} {v:.2f}" for k, v in kept) or "none"])
    return ([f"Syscalls per request, counted with strace at a light fixed rate "
             f"({data.get('rate', '?'):,}/s on {data.get('conns', '?')} connections: each "
             "request mostly wakes the server by itself; calls made less than once per 20 "
             "requests left out):", ""] +
            _table(["loop", "syscalls / request", "calls"], rows))


def uring_section(run: Run) -> list:
    """epoll against io_uring, as a server: CPU per request of every loop against the baseline
    readiness loop, with the run's paired intervals, and latency against offered rate."""
    points = cpu_against_baseline(run)
    rates = rate_table(run)
    if not points and not rates:
        return []
    base = baseline_loop(run)
    eng = engines(run)
    out = ["## epoll against io_uring, as a server", "",
           "The same HTTP server with each loop: a registry row's readiness loop (wait, then "
           "read and write each ready connection) or an io_uring completion engine "
           f"({', '.join(f'`{e}`' for e in eng) or 'none measured'}: the reads and writes "
           "themselves go through the ring). The measure is the server's CPU per request — "
           "user + system, the server process's own — because with two CPUs the load "
           "generator shares the machine with the server and often sets the rate itself; "
           "requests/s are compared only where the server was the bottleneck. Ratios are "
           f"against `{base}` with the run's 95% interval, paired by process.", ""]
    for (i, c), b0, others in points:
        rows = [[f"`{base}`", _us_split(b0), "1", _rate(b0.median(RATE)),
                 _busy(b0.median("server_busy")), _busy(b0.median("client_busy")), bound(b0)]]
        for bk, b, r in others:
            rows.append([f"`{bk}`", _us_split(b), _ratio_words(r), _rate(b.median(RATE)),
                         _busy(b.median("server_busy")), _busy(b.median("client_busy")),
                         bound(b)])
        out.append(f"I = {i:,} idle, C = {c} loaded connection{'s' if c != 1 else ''} (wrk):")
        out.append("")
        out += _table(["loop", "server CPU µs/request (user + sys)", f"× {base}", "requests/s",
                       "server busy", "wrk busy", "bound by"], rows)
    sentences = cpu_sentences(run)
    if sentences:
        out += [" ".join(sentences), ""]
    out += syscall_lines(run)
    for i, per in rates.items():
        offered = sorted({r for rows in per.values() for r, _ in rows})
        rows, caps = [], []
        for bk, series in per.items():
            cells = []
            for r in offered:
                b = next((x for rr, x in series if rr == r), None)
                if b is None:
                    cells.append("–")
                    continue
                replies = b.median("reply_rps")
                share = f" ({replies / r:.0%})" if replies is not None and replies < REPLIED * r \
                    else ""
                mark = CLIENT_MARK if bound(b) == "client" else ""
                cells.append(f"{_us(b.median('p99_ns'))}{share}{mark} · {_us(b.median(CPU))}")
            cap, left, client = capacity(series)
            caps.append((bk, cap, left, client))
            rows.append([f"`{bk}`"] + cells + ["–" if cap is None else f"{cap:,}"])
        out.append(f"Fixed offered rates (pollbench-load, {run.scenarios_context().get(SCENARIO, {}).get('rate_conns', '?')} "
                   f"connections), I = {i:,} idle: p99 latency in µs from each request's "
                   "scheduled send (the share answered, where short) · server CPU µs per "
                   f"request; capacity: the highest rate before the p99 first exceeded "
                   f"{LEFT_FLOOR:g}× its value at the lowest rate or fewer than {REPLIED:.0%} "
                   f"were answered; {CLIENT_MARK.strip()}: the load generator sent more than "
                   f"{CLIENT_LATE:.0%} of its requests late with a connection idle — it, not "
                   "the server, was behind.")
        out.append("")
        out += _table(["loop"] + [f"{r:,}/s" for r in offered] + ["capacity /s"], rows)
        out += [f"At I = {i:,}: {capacity_words(caps)}", ""]
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


def chart_server_cpu(run: Run):
    """The server's CPU per request of every loop at each closed-loop point, user and system
    stacked, the ratio to the baseline loop with its interval above each bar."""
    points = cpu_against_baseline(run)
    if not points:
        return None
    import charts
    base = baseline_loop(run)
    fig, axes = charts.new_figure(
        run, f"Server CPU per request — each loop against {base} (user + system)",
        ncols=len(points), width=max(6.0, 3.2 * len(points) + 4), height=5.6)
    for ax, ((i, c), b0, others) in zip(axes, points):
        series = [(base, b0, None)] + others
        # An O(registered) loop at thousands of idle connections costs hundreds of times the
        # others: its bar is cut at the top of the panel and labelled, so the rest stay legible.
        top = max(b.median(CPU) for _, b, _ in series) / 1e3
        usual = sorted(b.median(CPU) for _, b, _ in series)[len(series) // 2] / 1e3
        top = min(top, 4 * usual)
        for x, (bk, b, r) in enumerate(series):
            color = charts.style(run, bk)[0]
            user = b.median("user_ns_per_request")
            sys_ = b.median("sys_ns_per_request")
            total = b.median(CPU)
            if user is not None and sys_ is not None and user + sys_ > 0:
                # the total's median, split in the medians' proportion (medians do not add up)
                u = total * user / (user + sys_)
                ax.bar(x, u / 1e3, color=color, edgecolor=color)
                ax.bar(x, (total - u) / 1e3, bottom=u / 1e3, color="white", edgecolor=color,
                       hatch="///")
            else:
                ax.bar(x, total / 1e3, color=color)
            label = "1" if r is None else f"{r.ratio:.2f}×"
            if r is not None and r.low is not None:
                label += f"\n[{r.low:.2f}, {r.high:.2f}]"
            if total / 1e3 > top:
                label = f"↑ {total / 1e3:,.0f} µs\n" + label
            ax.annotate(label, (x, min(total / 1e3, top)), textcoords="offset points",
                        xytext=(0, 3), ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(range(len(series)), [bk for bk, _, _ in series], rotation=40,
                      ha="right", fontsize=8)
        ax.set_title(f"I = {i:,} idle, C = {c}", fontsize=10)
        ax.set_ylim(0, top * 1.3)
    axes[0].set_ylabel("server CPU µs per request (median)\nsolid: user; hatched: system")
    return fig


def chart_server_rate(run: Run):
    """p99 latency from the scheduled send against the offered rate, a line per loop, a panel
    per idle count."""
    table = rate_table(run)
    if not table:
        return None
    import charts
    from matplotlib.ticker import FuncFormatter
    fig, axes = charts.new_figure(run, "HTTP p99 latency against offered rate (fixed schedule, "
                                       "latency from each request's scheduled send)",
                                  ncols=len(table), width=6.0 * len(table) + 2, height=5.6)
    for ax, (i, per) in zip(axes, table.items()):
        for bk, rows in per.items():
            charts.plot_series(run, ax, bk, rows, "p99_ns", bk)
        ax.set_xlabel("offered requests/s")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_title(f"I = {i:,} idle connections", fontsize=10)
        charts._us_axis(ax, "y")  # noqa: SLF001
    axes[0].set_ylabel("p99 latency (µs), log" + _SPREAD)
    charts.legend(axes[-1])
    return fig


# The charts and sections drawn here, in summary.md's order.
scenarios.present("server", charts=(
    scenarios.ChartSpec("server_requests", "HTTP requests/s against idle connections",
                        chart_server_requests),
    scenarios.ChartSpec("server_p99", "HTTP p99 latency against idle connections",
                        chart_server_p99),
    scenarios.ChartSpec("server_cpu", "Server CPU per request, each loop against the baseline "
                        "readiness loop", chart_server_cpu),
    scenarios.ChartSpec("server_rate", "HTTP p99 latency against offered rate",
                        chart_server_rate)),
    sections=(server_section, uring_section))
