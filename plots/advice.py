""""What to use when, on this machine": the conclusions a run's own numbers support.

Every statement is a ratio of two rows of the run with its interval (the bootstrap paired by
process of analysis.py, the one the ratio tables of summary.md use), and every statement says
which rows it comes from. A ratio whose interval holds 1 is reported as "within the noise",
never as a difference. Nothing here names a backend: the rows are chosen by their registry
facts (wait_cost, wraps, preference order), so a new row is covered by the sentence of its
kind, and a scenario without an advice function of its own gets the generic sentence (which
rows are within the noise of the lowest). A scenario or row the run does not have gives no
sentence. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import analysis as an
import c10k
from analysis import fmt_names
import loopfds
import scenarios
from pbresults import DRIFT_WARNING, Bench, Run, sentinel_drift

TITLE = "What to use when, on this machine"
COARSE_NS = 2e6  # a timeout this late (or later) was kept on a coarse clock


# --- helpers --------------------------------------------------------------------------------

def cite(benches) -> str:
    """The rows a sentence comes from, compactly: `dispatch/{poll,epoll_lt}/fds:*/active:1`
    for the rows of those backends that differ in one parameter only."""
    by_backend = {}
    for b in benches:
        keys = tuple(k for k, _ in b.name.params)
        by_backend.setdefault((b.scenario, b.backend, keys), []).append(b)
    patterns = {}
    for (scen, bk, keys), rows in by_backend.items():
        params = []
        for i, k in enumerate(keys):
            values = {r.name.params[i][1] for r in rows}
            params.append(f"{k}:{next(iter(values)) if len(values) == 1 else '*'}")
        patterns.setdefault((scen, "/".join(params)), []).append(bk)
    out = []
    for (scen, params), bks in patterns.items():
        bks = list(dict.fromkeys(bks))
        who = bks[0] if len(bks) == 1 else "{" + ",".join(bks) + "}"
        out.append("`" + "/".join(p for p in (scen, who, params) if p) + "`")
    return ", ".join(out)


def rows_line(benches) -> str:
    return f" Rows: {cite(benches)}."


def fmt_ratio(r: an.Ratio) -> str:
    """'1.35× [1.28, 1.42]' — digits enough for the size of the ratio."""
    def f(v):
        if v >= 100:
            return f"{v:,.0f}"
        if v >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if r.low is None:
        return f"{f(r.ratio)}× (noise unknown: one repetition)"
    return f"{f(r.ratio)}× [{f(r.low)}, {f(r.high)}]"


def beyond(r: an.Ratio) -> int:
    """+1: the numerator is larger beyond the noise; -1: smaller; 0: within the noise (or
    unknown)."""
    if r.low is None:
        return 0
    if r.low > 1.0:
        return 1
    if r.high < 1.0:
        return -1
    return 0


def ratio_of(num: Bench, den: Bench, counter: str) -> an.Ratio | None:
    return an._paired_ratio(num, den, counter)  # noqa: SLF001 — the one paired ratio


def _us(v) -> str:
    us = v / 1e3
    return f"{us:,.0f}" if us >= 100 else f"{us:.3g}"


def reference_row(run: Run, scenario: str = "dispatch") -> str | None:
    """The row the others are measured against: the registry's baseline row (pbresults:
    the first level-triggered O(ready) mechanism in preference order) among those with rows
    here."""
    return run.registry.baseline_row(run.backends(scenario))


def mechanisms(run: Run, wait_cost: str, scenario: str = "dispatch") -> list:
    return [n for n in run.registry.names
            if run.registry.fact(n, "wait_cost") == wait_cost and not run.registry.wraps(n)
            and run.select(scenario, n)]


def pair_series(num_rows, den_rows, counter: str = an.COST) -> list:
    """[(x, Ratio, num bench, den bench)] at the x both series have."""
    den = dict(den_rows)
    out = []
    for x, b in num_rows:
        d = den.get(x)
        if d is None:
            continue
        r = ratio_of(b, d, counter)
        if r is not None:
            out.append((x, r, b, d))
    return out


# --- the sentences --------------------------------------------------------------------------

def registered_per_ready(run: Run) -> list:
    """From how many registered fds per ready fd (dispatch, A = 1) the O(ready) reference row
    is cheaper than each O(registered) mechanism beyond the noise, and by how much."""
    ref = reference_row(run)
    if ref is None:
        return []
    out = []
    for mech in mechanisms(run, "per_registered"):
        pts = pair_series(an.series_over_fds(run, "dispatch", mech),
                          an.series_over_fds(run, "dispatch", ref))
        if not pts:
            continue
        used = [b for _, _, b, _ in pts] + [d for _, _, _, d in pts]
        # The smallest N from which every larger N is beyond the noise too.
        start = None
        for i in range(len(pts)):
            if all(beyond(r) > 0 for _, r, _, _ in pts[i:]):
                start = i
                break
        first_n, last_n = pts[0][0], pts[-1][0]
        limit = run.registry.max_fd(mech)
        stop = f" ({mech} accepts fds up to {limit:,} only)" if limit is not None else ""
        if start is None:
            cheaper = [x for x, r, _, _ in pts if beyond(r) < 0]
            text = (f"{mech} against {ref}, 1 ready fd among N: no N from which {ref} is "
                    f"cheaper beyond the noise at every larger N (N {an.fmt_n(first_n)}–"
                    f"{an.fmt_n(last_n)}; {mech}/{ref} = {fmt_ratio(pts[0][1])} at N = "
                    f"{an.fmt_n(first_n)}, {fmt_ratio(pts[-1][1])} at N = {an.fmt_n(last_n)})")
            if cheaper:
                text += f"; {mech} is cheaper beyond the noise at N = " + \
                    ", ".join(an.fmt_n(x) for x in cheaper)
            out.append(text + "." + rows_line(used))
            continue
        n0, r0 = pts[start][0], pts[start][1]
        if start == 0:
            where = (f"from {an.fmt_n(n0)} registered fds per ready fd, the smallest N "
                     f"run ({mech}/{ref} = {fmt_ratio(r0)}; no smaller N was measured)")
        else:
            before = pts[start - 1]
            where = (f"from N = {an.fmt_n(n0)} registered fds per ready fd ({mech}/{ref} = "
                     f"{fmt_ratio(r0)}; at N = {an.fmt_n(before[0])} "
                     f"{fmt_ratio(before[1])}, "
                     + ("within the noise" if beyond(before[1]) == 0 else
                        f"{mech} cheaper" if beyond(before[1]) < 0 else "not at every N")
                     + ")")
        text = f"{ref} is cheaper per event than {mech} beyond the noise {where}"
        if start < len(pts) - 1:
            text += f", and by {fmt_ratio(pts[-1][1])} at N = {an.fmt_n(last_n)}"
        own_last = an.series_over_fds(run, "dispatch", mech)[-1][0]
        if stop:
            text += f"; {mech}'s rows stop at N = {an.fmt_n(own_last)}{stop}"
        out.append(text + "." + rows_line(used))
    return out


def active_share(run: Run) -> list:
    """Where an O(registered) mechanism catches up with the reference as more of the N fds
    are ready (the active sweep at the N both ran)."""
    ref = reference_row(run)
    if ref is None:
        return []
    out = []
    ref_sweep = an.active_sweep(run, "dispatch", ref)
    for mech in mechanisms(run, "per_registered"):
        sweep = an.active_sweep(run, "dispatch", mech)
        if not sweep or not ref_sweep or sweep[0] != ref_sweep[0]:
            continue
        n = sweep[0]
        pts = pair_series(sweep[1], ref_sweep[1])
        if len(pts) < 2:
            continue
        used = [b for _, _, b, _ in pts] + [d for _, _, _, d in pts]
        # The smallest A from which the mechanism is no longer costlier beyond the noise.
        catch = next((i for i in range(len(pts))
                      if all(beyond(r) <= 0 for _, r, _, _ in pts[i:])), None)
        a0, r0 = pts[0][0], pts[0][1]
        head = (f"At N = {an.fmt_n(n)}, {mech}/{ref} = {fmt_ratio(r0)} with A = {an.fmt_n(a0)} "
                "ready")
        if catch is None:
            text = (head + f"; {mech} stays costlier beyond the noise up to A = "
                    f"{an.fmt_n(pts[-1][0])} ({fmt_ratio(pts[-1][1])})")
        elif catch == 0:
            text = head + f": {mech} is never costlier beyond the noise over A = " \
                f"{an.fmt_n(a0)}–{an.fmt_n(pts[-1][0])}"
        else:
            a, r = pts[catch][0], pts[catch][1]
            per = n / a
            share = f"{per:.0f}" if per >= 1.5 else "1"
            verdict = {0: "within the noise", -1: f"{mech} cheaper beyond the noise"}[beyond(r)]
            text = (head + f"; {mech} catches up from A = {an.fmt_n(a)} ({share} registered fd"
                    f"{'s' if share != '1' else ''} per ready fd): {fmt_ratio(r)}, {verdict}")
            last_a, last_r = pts[-1][0], pts[-1][1]
            if last_a != a:
                text += (f"; at A = {an.fmt_n(last_a)} {fmt_ratio(last_r)}"
                         + (f", {mech} cheaper beyond the noise" if beyond(last_r) < 0 else
                            ", within the noise" if beyond(last_r) == 0 else ""))
        out.append(text + "." + rows_line(used))
    return out


def ready_family(run: Run) -> list:
    """Every other O(ready) mechanism (io_uring one-shot and multishot, epoll variants, ...)
    against the reference row: where they differ beyond the noise, and by how much."""
    ref = reference_row(run)
    if ref is None:
        return []
    ref_rows = an.series_over_fds(run, "dispatch", ref)
    same, differ = [], []
    used = []
    for mech in mechanisms(run, "per_ready"):
        if mech == ref:
            continue
        pts = pair_series(an.series_over_fds(run, "dispatch", mech), ref_rows)
        if not pts:
            continue
        used += [b for _, _, b, _ in pts] + [d for _, _, _, d in pts]
        ratios = [r.ratio for _, r, _, _ in pts]
        up = sum(beyond(r) > 0 for _, r, _, _ in pts)
        down = sum(beyond(r) < 0 for _, r, _, _ in pts)
        span = (f"{min(ratios):.2f}×" if max(ratios) - min(ratios) < 0.005
                else f"{min(ratios):.2f}–{max(ratios):.2f}×")
        where = f"N {an.fmt_n(pts[0][0])}–{an.fmt_n(pts[-1][0])}"
        if up == down == 0:
            same.append(f"{mech} ({span}, {where})")
        else:
            parts = []
            if up:
                parts.append(f"costlier beyond the noise at {up} of {len(pts)} N")
            if down:
                parts.append(f"cheaper beyond the noise at {down} of {len(pts)} N")
            differ.append(f"{mech} costs {span} {ref} per event ({where}; "
                          + " and ".join(parts) + ")")
    if not same and not differ:
        return []
    text = []
    if differ:
        text.append("; ".join(differ))
    if same:
        text.append(f"within the noise of {ref} at every N: " + fmt_names(same))
    return [f"Among the O(ready) mechanisms (1 ready fd): " + "; ".join(text) + "."
            + rows_line(used)]


def libraries(run: Run) -> list:
    """What each event library adds per event over the mechanism row it wraps."""
    out = []
    for lib, mech in an.library_pairs(run):
        pts = pair_series(an.series_over_fds(run, "dispatch", lib),
                          an.series_over_fds(run, "dispatch", mech))
        if not pts:
            continue
        used = [b for _, _, b, _ in pts] + [d for _, _, _, d in pts]
        adds = [100 * (r.ratio - 1) for _, r, _, _ in pts]
        up = sum(beyond(r) > 0 for _, r, _, _ in pts)
        down = sum(beyond(r) < 0 for _, r, _, _ in pts)
        lo, hi = min(adds), max(adds)
        span = f"{lo:+.0f}%" if round(lo) == round(hi) else f"{lo:+.0f}% to {hi:+.0f}%"
        where = f"N {an.fmt_n(pts[0][0])}–{an.fmt_n(pts[-1][0])}"
        if up == down == 0:
            verdict = "within the noise at every N"
        else:
            verdict = (f"beyond the noise at {up} of {len(pts)} N" if up else "") + \
                (" and " if up and down else "") + \
                (f"less than {mech} beyond the noise at {down} of {len(pts)} N" if down else "")
        out.append(f"{lib} over {mech} (the mechanism it runs on): {span} per event ({where}; "
                   f"{verdict})." + rows_line(used))
    return out


def wakeup_latency(run: Run) -> list:
    """A blocked waiter's wakeup at the largest N each O(registered) mechanism ran, against
    the reference row at the same N and placement."""
    ref = reference_row(run, "wakeup")
    if ref is None:
        return []
    out = []
    for cpu in an.wakeup_placements(run):
        ref_rows = dict(an.wakeup_series(run, ref, cpu))
        for mech in mechanisms(run, "per_registered", "wakeup"):
            pts = pair_series(an.wakeup_series(run, mech, cpu), list(ref_rows.items()),
                              "p50_ns")
            if not pts:
                continue
            (n0, r0, b0, d0), (n1, r1, b1, d1) = pts[0], pts[-1]
            where = f" ({_cpu_words(cpu)})" if cpu else ""
            text = (f"A blocked waiter{where}: {mech}'s p50 wakeup is "
                    f"{_us(b0.median('p50_ns'))} µs with N = {an.fmt_n(n0)} "
                    f"({fmt_ratio(r0)} {ref}'s {_us(d0.median('p50_ns'))} µs{_noise_word(r0)}")
            text += ")" if len(pts) == 1 else (
                f") and {_us(b1.median('p50_ns'))} µs with N = {an.fmt_n(n1)} "
                f"({fmt_ratio(r1)} {ref}'s {_us(d1.median('p50_ns'))} µs{_noise_word(r1)})")
            out.append(text + "." + rows_line([b0, b1, d0, d1]))
    return out


def _noise_word(r: an.Ratio) -> str:
    return ", within the noise" if r.low is not None and beyond(r) == 0 else ""


def _cpu_words(cpu) -> str:
    return {"same": "waker on the same CPU", "other": "waker on the other CPU"}.get(
        cpu, f"cpu:{cpu}")


def herd(run: Run) -> list:
    """Which wait-set designs wake one waiter per event, and what the first return costs."""
    lines = an.herd_lines(run)
    if not lines:
        return []
    at_w = {}
    for scen, bk, rows in lines:
        w, b = rows[-1]
        at_w.setdefault(w, []).append((scen, bk, b))
    w = max(at_w)
    groups = {}
    for scen, bk, b in at_w[w]:
        label = f"one {bk} set shared by all" if scen == "herd_shared" else bk
        groups.setdefault(an.herd_verdict(b.median("woken_per_event"), w), []).append(
            (label, b))
    if w <= 1:
        return []
    used = [b for _, _, b in at_w[w]]
    parts = []
    if "about one" in groups:
        parts.append(f"{fmt_names(l for l, _ in groups['about one'])} woke about one")
    if "some" in groups:
        parts.append(f"{fmt_names(l for l, _ in groups['some'])} woke more than one but not all")
    if "all" in groups:
        parts.append(f"{fmt_names(l for l, _ in groups['all'])} woke all {w}")
    text = (f"{w} threads waiting on one fd, one byte written: " + "; ".join(parts) + ". ")
    if "about one" in groups:
        text += ("For a pool of threads on one fd (a listening socket), "
                 f"{fmt_names(l for l, _ in groups['about one'])} avoid the herd")
        if "all" in groups:
            text += (f"; with the others every event wakes {w - 1} threads for nothing")
        # The price, if any: the first return against the woken-all reference row.
        base = next((b for l, b in groups.get("all", []) if l == reference_row(run, "herd")),
                    None)
        prices = []
        for label, b in groups["about one"]:
            if base is not None and b.has("first_return_ns") and base.has("first_return_ns"):
                r = ratio_of(b, base, "first_return_ns")
                if r is not None:
                    prices.append(f"{label} {_us(b.median('first_return_ns'))} µs, "
                                  f"{fmt_ratio(r)}"
                                  + (" (within the noise)" if beyond(r) == 0 else ""))
        if prices:
            text += (f"; the first waiter returned after (median, against "
                     f"{reference_row(run, 'herd')}'s {_us(base.median('first_return_ns'))} µs"
                     f"): " + "; ".join(prices))
        text += "."
    else:
        text += "No wait-set design here woke fewer than all."
    return [text + rows_line(used)]


def timeouts(run: Run) -> list:
    """Which rows can time a wait below a millisecond, and how late every row is."""
    table = an.timeout_table(run)
    if not table:
        return []
    slack = run.meta("pollbench_timer_slack_ns")
    try:
        slack_ns = float(slack)
    except ValueError:
        slack_ns = None
    ts = sorted({t for per in table.values() for t in per})
    out = []
    for t in ts:
        got = [(per[t].median("late_p50_ns"), label, per[t]) for label, per in table.items()
               if t in per and per[t].median("late_p50_ns") is not None]
        if not got:
            continue
        used = [b for _, _, b in got]
        # Two milliseconds late or more is neither a slack nor a millisecond's rounding: a
        # timer on a coarse clock (one tick is 4 ms at HZ = 250).
        coarse = [(v, lb) for v, lb, _ in got if v >= COARSE_NS]
        rounded = [(v, lb) for v, lb, _ in got if v < COARSE_NS and an.rounded_to_ms(t, v)]
        fine = [(v, lb) for v, lb, _ in got if v < COARSE_NS and not an.rounded_to_ms(t, v)]
        tt = f"{t:,} µs" if t < 1000 else f"{t / 1000:g} ms"
        text = f"A wait with timeout T = {tt} and nothing ready"
        if rounded:
            text += (f" became a whole millisecond with {fmt_names(lb for _, lb in rounded)} "
                     f"({_us(min(v for v, _ in rounded))}–{_us(max(v for v, _ in rounded))} "
                     "µs late, p50): they take the timeout in milliseconds")
        if fine:
            if rounded:
                text += "; "
            else:
                text += " returned "
            if slack_ns:
                below = [(v, lb) for v, lb in fine if v < slack_ns]
                above = [(v, lb) for v, lb in fine if v >= slack_ns]
                bits = []
                if below:
                    bits.append(f"{fmt_names(lb for _, lb in below)} "
                                f"{_span_us(below)} µs late, below the default timer slack "
                                f"({slack_ns / 1e3:g} µs)")
                if above:
                    bits.append(f"{fmt_names(lb for _, lb in above)} {_span_us(above)} µs late, "
                                f"at or above the slack")
                text += "; ".join(bits)
            else:
                text += f"{fmt_names(lb for _, lb in fine)} {_span_us(fine)} µs late"
        if coarse:
            text += (f"; {fmt_names(lb for _, lb in coarse)} {_span_us(coarse)} µs late: more "
                     "than a millisecond's rounding: a timer kept on a coarse clock")
        text += " (p50)."
        if rounded and fine:
            text += (" A design that needs timeouts below a millisecond needs one of the rows "
                     "that were not rounded.")
        out.append(text + rows_line(used))
    return out


def _span_us(pairs) -> str:
    lo, hi = min(v for v, _ in pairs), max(v for v, _ in pairs)
    return _us(lo) if _us(lo) == _us(hi) else f"{_us(lo)}–{_us(hi)}"


def loop_descriptors(run: Run) -> list:
    """The event loop's other descriptors (plots/loopfds.py reads the rows): the timer
    sentence of loopfds (a timerfd pays off only where it is twice as punctual as the wait's
    own timeout), then signalfd against a self-pipe and the wake descriptors against the
    fastest, each with its paired interval."""
    out = []
    timers = loopfds.timer_rows(run)
    timer_text = loopfds.use_when_sentences(run)
    if timers and timer_text and timer_text[0].startswith("Timers"):
        benches = [b for _, _, b, _ in timers] + [o for _, _, _, o in timers if o is not None]
        out.append(timer_text[0] + rows_line(benches))
    for bk, per in loopfds.signal_table(run).items():
        sfd, pipe = per.get("signalfd"), per.get("selfpipe")
        r = ratio_of(pipe, sfd, "p50_ns") if sfd and pipe else None
        if r is None:
            continue
        verdict = {1: "the signalfd in the poller was faster beyond the noise",
                   -1: "the self-pipe was faster beyond the noise",
                   0: "the two are within the noise of each other"}[beyond(r)]
        out.append(f"Signals on {bk}: send to return took {_us(sfd.median('p50_ns'))} µs "
                   f"through a signalfd, {_us(pipe.median('p50_ns'))} µs through a self-pipe "
                   f"written by the handler (p50; self-pipe/signalfd {fmt_ratio(r)}): "
                   f"{verdict}." + rows_line([sfd, pipe]))
    for bk, per in loopfds.wake_table(run).items():
        ranked = sorted(per.items(), key=lambda kv: kv[1].median("p50_ns"))
        if len(ranked) < 2:
            continue
        best_kind, best = ranked[0]
        parts = []
        for kind, b in ranked[1:]:
            r = ratio_of(b, best, "p50_ns")
            if r is not None:
                word = "within the noise" if beyond(r) == 0 else "slower beyond the noise"
                parts.append(f"{kind} {_us(b.median('p50_ns'))} µs ({fmt_ratio(r)}, {word})")
        out.append(f"Cross-thread wake-ups on {bk} (p50): {best_kind} "
                   f"{_us(best.median('p50_ns'))} µs; " + "; ".join(parts) + "."
                   + rows_line([b for _, b in ranked]))
    return out


# churn's counters (bench/churn.cpp): the main metric counts an add's share of the wait(0)
# after its batch, where several backends do the kernel's part of a registration.
CHURN_ADD = "ns_per_add"
CHURN_SPLIT = ("ns_per_add_call", "ns_per_wait_after_adds")


def churn_charges_the_wait(run: Run) -> bool:
    """Whether the run's churn rows count the wait after each batch (files written before
    bench/churn.cpp did have no ns_per_add_call, and their ns_per_add is the call alone)."""
    return any(b.has(CHURN_SPLIT[0]) for b in run.select("churn"))


def churn_cost(run: Run) -> list:
    """The lowest cost per add at the smallest and largest N, and the rows within the noise
    of it; the cost counts the wait after the batch, so the rows compare like with like."""
    if not churn_charges_the_wait(run):
        return generic(run, "churn")
    return generic(run, "churn", what=f"{CHURN_ADD} — an add() with its share of the wait(0) "
                   "after the batch, where a deferring backend does the kernel's part —")


def where_an_add_is_paid(run: Run) -> list:
    """At one N most churn rows ran at (the middle one of those, lower if two: the largest
    can be where io_uring's full SQ submits from add()), the rows that pay most of an add at
    the wait after the batch (io_uring submits its SQEs there, libev and libuv apply their
    queued changes, poll and select scan the set) and those that pay it in add() itself. A
    split of each row's own median time, not a comparison of rows."""
    by_n = {}
    for b in run.select("churn"):
        if b.backend and b.has(CHURN_ADD) and all(b.has(c) for c in CHURN_SPLIT) \
                and isinstance(b.name.get("fds"), (int, float)) and b.median(CHURN_ADD):
            by_n.setdefault(b.name.get("fds"), []).append(b)
    if not by_n:
        return []
    most = max(len(v) for v in by_n.values())
    common = sorted(k for k, v in by_n.items() if 2 * len(v) >= most)
    n = common[(len(common) - 1) // 2]
    at_wait, in_call = [], []
    for b in sorted(by_n[n], key=lambda b: run.registry.rank(b.backend)):
        call, wait = b.median(CHURN_SPLIT[0]), b.median(CHURN_SPLIT[1]) / n
        (at_wait if wait > call else in_call).append(
            f"{b.backend} ({an.fmt_ns(call)} + {an.fmt_ns(wait)})")
    text = (f"At fds:{n}, where an add's cost is paid (add() + its share of the wait after "
            "the batch, ns, medians): ")
    parts = []
    if at_wait:
        parts.append("mostly at the wait for " + ", ".join(at_wait) +
                     " — an add() timed alone would miss it")
    if in_call:
        parts.append("mostly in add() for " + ", ".join(in_call))
    return [text + "; ".join(parts) + "." + rows_line(by_n[n])]


# Scenario -> its advice functions, by the question they answer. A scenario not named here
# (and not part of another) gets `generic`.
ADVICE = {
    "dispatch": (("Many idle fds, few ready", (registered_per_ready,)),
                 ("As more of them are ready", (active_share,)),
                 ("io_uring, epoll variants and the other O(ready) rows", (ready_family,)),
                 ("What a library adds over its mechanism", (libraries,))),
    "wakeup": (("Waking a blocked waiter", (wakeup_latency,)),),
    "churn": (("Registration churn", (churn_cost, where_an_add_is_paid)),),
    "herd": (("Several threads on one fd", (herd,)),),
    "timeout": (("Timeouts", (timeouts,)),),
    # timerfd, signal and the wakeup rows' wake:<kind>: one function answers all three
    # (plots/loopfds.py): a timerfd against the wait's own timeout, signalfd against a
    # self-pipe, and which descriptor wakes a loop fastest.
    "timerfd": (("Timers, signals and wake-up descriptors", (loop_descriptors,)),),
    "signal": (),
    # The server rows: CPU per request against the baseline loop (requests/s measure the load
    # generator as often as the server here) and capacity at fixed rates (plots/c10k.py).
    "server": (("epoll against io_uring, as a server", (c10k.cpu_sentences,
                                                        c10k.capacity_sentences)),),
}


# --- the decision table: one line per question, above the sentences ------------------------

TABLE_TITLE = "What to use: the answers on one screen"


@dataclass(frozen=True)
class Answer:
    """One line of the decision table: the question a user brings, the answer in a few
    words, the deciding ratio with its interval, the rows it comes from and the title of the
    item below that says it in full (its anchor)."""

    question: str
    answer: str
    ratio: str
    rows: list
    detail: str


def anchor(title: str) -> str:
    """The HTML id of a detailed item: 'use-' and its title's words, lower case."""
    return "use-" + "-".join(re.findall(r"[a-z0-9]+", title.lower()))


def _ratio_cell(label: str, r: an.Ratio, where: str = "") -> str:
    return f"{label} = {fmt_ratio(r)}" + (f" at {where}" if where else "") + _noise_word(r)


def _few_ready(run: Run) -> Answer | None:
    """The O(ready) reference against the O(registered) mechanism with the most N in common,
    at the largest of them, with the N from which it stays cheaper beyond the noise."""
    ref = reference_row(run)
    if ref is None:
        return None
    best = None
    for mech in mechanisms(run, "per_registered"):
        pts = pair_series(an.series_over_fds(run, "dispatch", mech),
                          an.series_over_fds(run, "dispatch", ref))
        if pts and (best is None or len(pts) > len(best[1])):
            best = (mech, pts)
    if best is None:
        return None
    mech, pts = best
    n, r = pts[-1][0], pts[-1][1]
    start = next((i for i in range(len(pts)) if all(beyond(q) > 0 for _, q, _, _ in pts[i:])),
                 None)
    if start is not None:
        answer = (f"{ref}, at every N measured" if start == 0 else
                  f"{ref}, from N = {an.fmt_n(pts[start][0])}")
    elif beyond(r) < 0:
        answer = f"{mech}, up to N = {an.fmt_n(n)}"
    else:
        answer = f"either: within the noise at N = {an.fmt_n(n)}"
    return Answer("Many idle fds, few ready", answer,
                  _ratio_cell(f"{mech}/{ref}", r, f"N = {an.fmt_n(n)}, 1 ready"),
                  [b for _, _, b, _ in pts] + [d for _, _, _, d in pts],
                  "Many idle fds, few ready")


def _most_ready(run: Run) -> Answer | None:
    """The active sweep's largest A: an O(registered) mechanism against the reference."""
    ref = reference_row(run)
    if ref is None:
        return None
    ref_sweep = an.active_sweep(run, "dispatch", ref)
    for mech in mechanisms(run, "per_registered"):
        sweep = an.active_sweep(run, "dispatch", mech)
        if not sweep or not ref_sweep or sweep[0] != ref_sweep[0]:
            continue
        pts = pair_series(sweep[1], ref_sweep[1])
        if len(pts) < 2:
            continue
        n, (a, r, b, d) = sweep[0], pts[-1]
        answer = {1: ref, -1: f"{mech} is cheaper",
                  0: "either: within the noise"}[beyond(r)]
        return Answer("Most fds ready", answer,
                      _ratio_cell(f"{mech}/{ref}", r,
                                  f"N = {an.fmt_n(n)}, {an.fmt_n(a)} ready"),
                      [b, d], "As more of them are ready")
    return None


def _ready_rows(run: Run) -> Answer | None:
    """The O(ready) mechanisms (epoll's variants, io_uring's) at the largest N each shares
    with the reference: the cheapest of them against the reference."""
    ref = reference_row(run)
    if ref is None:
        return None
    ref_rows = an.series_over_fds(run, "dispatch", ref)
    last = []
    for mech in mechanisms(run, "per_ready"):
        pts = pair_series(an.series_over_fds(run, "dispatch", mech), ref_rows)
        if mech != ref and pts:
            last.append((mech, *pts[-1]))
    if not last:
        return None
    mech, n, r, b, d = min(last, key=lambda p: p[2].ratio)
    same = [m for m, _, q, _, _ in last if beyond(q) == 0]
    if beyond(r) < 0:
        answer = f"{mech} is cheaper than {ref}"
    elif len(same) == len(last):
        answer = f"any: all within the noise of {ref}"
    else:
        answer = ref + (f" (within the noise: {fmt_names(same)})" if same else "")
    return Answer("epoll against io_uring, one loop's readiness", answer,
                  _ratio_cell(f"{mech}/{ref}", r, f"N = {an.fmt_n(n)}"),
                  [p[3] for p in last if p[0] == mech or p[0] in same] + [d],
                  "io_uring, epoll variants and the "
                  "other O(ready) rows")


def _server(run: Run) -> Answer | None:
    """The server rows (plots/c10k.py's data): at the closed-loop point with the most idle
    connections, the completion engine or O(ready) loop with the least CPU per request
    against the baseline loop."""
    points = c10k.cpu_against_baseline(run)
    if not points:
        return None
    eng = c10k.engines(run)
    base = c10k.baseline_loop(run)
    for (i, c), b0, others in sorted(points, key=lambda p: p[0], reverse=True):
        loops = [(bk, b, r) for bk, b, r in others if r is not None and
                 (bk in eng or (run.registry.fact(bk, "wait_cost") == "per_ready"
                                and not run.registry.wraps(bk)))]
        if not loops:
            continue
        bk, b, r = min(loops, key=lambda x: x[2].ratio)
        answer = {1: f"{base}: every other loop used more", -1: f"{bk}: less CPU per request",
                  0: f"{base} or {bk}: within the noise"}[beyond(r)]
        return Answer("epoll against io_uring, as a server", answer,
                      _ratio_cell(f"{bk}/{base} CPU per request", r, f"I = {i:,}, C = {c}"),
                      [b, b0], "epoll against io_uring, as a server")
    return None


def _libraries(run: Run) -> Answer | None:
    """What each event library adds over its mechanism at the largest N of each: the least
    and the most, the most with its interval."""
    last = []
    for lib, mech in an.library_pairs(run):
        pts = pair_series(an.series_over_fds(run, "dispatch", lib),
                          an.series_over_fds(run, "dispatch", mech))
        if pts:
            last.append((lib, mech, *pts[-1]))
    if not last:
        return None
    last.sort(key=lambda p: p[3].ratio)
    least, most = last[0], last[-1]
    if all(beyond(p[3]) == 0 for p in last):
        answer = "none adds beyond the noise"
    else:
        answer = f"least {least[0]} ({100 * (least[3].ratio - 1):+.0f}%)"
        if most is not least:
            answer += f", most {most[0]} ({100 * (most[3].ratio - 1):+.0f}%)"
    lib, mech, n, r, b, d = most
    rows = [b, d] + ([least[4], least[5]] if least is not most else [])
    return Answer("Which event library costs what over its mechanism", answer,
                  _ratio_cell(f"{lib}/{mech}", r, f"N = {an.fmt_n(n)}"), rows,
                  "What a library adds over its mechanism")


def _timeouts(run: Run) -> Answer | None:
    """At the shortest timeout below a millisecond: the most punctual row, against the
    most punctual of the rows that took it in whole milliseconds (else the least punctual)."""
    table = an.timeout_table(run)
    ts = sorted({t for per in table.values() for t in per if t < 1000})
    for t in ts:
        got = sorted(((per[t].median("late_p50_ns"), label, per[t])
                      for label, per in table.items()
                      if t in per and per[t].median("late_p50_ns") is not None),
                     key=lambda g: g[0])
        if len(got) < 2:
            continue
        rounded = [g for g in got if g[0] < COARSE_NS and an.rounded_to_ms(t, g[0])]
        fine = [g for g in got if g[0] < COARSE_NS and not an.rounded_to_ms(t, g[0])]
        if not fine:
            answer = "none here: every row was a millisecond late or more"
            other, best = got[-1], got[0]
        else:
            best = fine[0]
            other = rounded[0] if rounded else got[-1]
            shown = [g[1] for g in fine[:2]]
            answer = fmt_names(shown + ([f"{len(fine) - 2} more"] if len(fine) > 2 else []))
            answer += (f"; {len(rounded)} of {len(got)} rows take it in whole ms"
                       if rounded else "; no row rounds it to a millisecond")
        r = ratio_of(other[2], best[2], "late_p50_ns")
        if r is None:
            continue
        return Answer("Timeouts below a millisecond", answer,
                      _ratio_cell(f"{other[1]}/{best[1]} lateness", r, f"T = {t:,} µs"),
                      [best[2], other[2]], "Timeouts")
    return None


def _herd(run: Run) -> Answer | None:
    """At the most waiters: the designs that woke about one, and how many the woken-all
    reference row woke per event against the first of them."""
    lines = an.herd_lines(run)
    if not lines:
        return None
    w = max(rows[-1][0] for _, _, rows in lines)
    at_w = [(scen, bk, rows[-1][1]) for scen, bk, rows in lines if rows[-1][0] == w]
    if w <= 1:
        return None
    one = [(f"one shared {bk} set" if s == "herd_shared" else bk, b) for s, bk, b in at_w
           if an.herd_verdict(b.median("woken_per_event"), w) == "about one"]
    ref = reference_row(run, "herd")
    base = next((b for s, bk, b in at_w if bk == ref and s == "herd"), None)
    if base is None or not one:
        base = max((b for _, _, b in at_w), key=lambda b: b.median("woken_per_event"))
    best = one[0][1] if one else min((b for _, _, b in at_w),
                                     key=lambda b: b.median("woken_per_event"))
    r = ratio_of(base, best, "woken_per_event")
    if r is None or base is best:
        return None
    answer = (" or ".join(label for label, _ in one) + f": one woken of {w}" if one else
              f"none: every design woke more than one of {w}")
    return Answer("A pool of threads on one fd", answer,
                  _ratio_cell(f"threads woken per event, {base.backend}/{best.backend}", r,
                              f"W = {w}"), [base, best], "Several threads on one fd")


def _signals(run: Run) -> Answer | None:
    for bk, per in loopfds.signal_table(run).items():
        sfd, pipe = per.get("signalfd"), per.get("selfpipe")
        r = ratio_of(pipe, sfd, "p50_ns") if sfd and pipe else None
        if r is None:
            continue
        answer = {1: "a signalfd in the poller", -1: "a self-pipe",
                  0: "either: within the noise"}[beyond(r)]
        return Answer("Signals", answer,
                      _ratio_cell(f"self-pipe/signalfd p50 on {bk}", r), [sfd, pipe],
                      "Timers, signals and wake-up descriptors")
    return None


def _wakeups(run: Run) -> Answer | None:
    for bk, per in loopfds.wake_table(run).items():
        ranked = sorted(per.items(), key=lambda kv: kv[1].median("p50_ns"))
        if len(ranked) < 2:
            continue
        (best_kind, best), (next_kind, nxt) = ranked[0], ranked[1]
        r = ratio_of(nxt, best, "p50_ns")
        if r is None:
            continue
        answer = (f"{best_kind}" if beyond(r) > 0 else
                  f"{best_kind} or {next_kind}: within the noise")
        return Answer("Cross-thread wake-ups", answer,
                      _ratio_cell(f"{next_kind}/{best_kind} p50 on {bk}", r),
                      [b for _, b in ranked[:2]], "Timers, signals and wake-up descriptors")
    return None


# The questions, in the order a user brings them; each gives a line only with data.
QUESTIONS = (_few_ready, _most_ready, _timeouts, _herd, _libraries, _ready_rows, _server,
             _signals, _wakeups)


def answers(run: Run) -> list:
    return [a for q in QUESTIONS for a in [q(run)] if a is not None]


def _drift_words(run: Run) -> str:
    drift = sentinel_drift(run)
    if drift is None or drift[0] <= DRIFT_WARNING:
        return ""
    return (f" **The noise sentinel drifted {100 * drift[0]:.0f}% during this run**: treat "
            "every difference below that as unproven.")


def decision_table(run: Run, heading: str = "##", details: set = frozenset()) -> list:
    """The table's Markdown lines, or [] when no question has data. A row links to the item
    below that says it in full when `details` (the items' titles) holds it."""
    rows = answers(run)
    if not rows:
        return []
    out = [f"{heading} {TABLE_TITLE}", "",
           "Each answer is decided by one ratio X/Y of two rows of this run, with its 95% "
           "interval; \"within the noise\" when that interval holds 1. The sentences below "
           "say each in full." + _drift_words(run), "",
           "| question | answer | deciding ratio [95% interval] | rows |",
           "|---|---|---|---|"]
    for a in rows:
        cited = cite(a.rows)
        if a.detail in details:
            cited = f"[{cited}](#{anchor(a.detail)})"
        out.append(f"| {a.question} | {a.answer} | {a.ratio} | {cited} |")
    return out + [""]


def generic(run: Run, scenario: str, what: str = "") -> list:
    """For a scenario without advice of its own: at its smallest and largest parameter point
    (the groups of rows that differ only in the backend), the lowest row by the main metric
    and which rows are within the noise of it. `what`: the metric in words (its name by
    default), said once, in the first sentence."""
    metric = an.metrics_of(scenario)[0]
    groups = {}
    for b in run.select(scenario):
        if b.ok and b.backend and b.has(metric) and b.median(metric):
            groups.setdefault(b.name.params, []).append(b)
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return []
    most = max(len(v) for v in groups.values())
    keys = [k for k, v in groups.items() if 2 * len(v) >= most]
    keys.sort(key=lambda k: tuple(str(v).zfill(12) if isinstance(v, (int, float)) else str(v)
                                  for _, v in k))
    out = []
    for k in dict.fromkeys([keys[0], keys[-1]]):
        rows = sorted(groups[k], key=lambda b: b.median(metric))
        low = rows[0]
        same, above = [], []
        for b in rows[1:]:
            r = ratio_of(b, low, metric)
            if r is None:
                continue
            (same if beyond(r) == 0 else above).append((b.backend, r))
        where = "/".join(f"{p}:{v}" for p, v in k) or "its only point"
        named = what if what and not out else metric
        text = (f"At {where}, {low.backend} has the lowest {named} "
                f"({an.fmt_ns(low.median(metric))}, median)")
        if same:
            text += f"; within the noise of it: {fmt_names(bk for bk, _ in same)}"
        if above:
            shown = above[:4]
            text += "; above it beyond the noise: " + ", ".join(
                f"{bk} {fmt_ratio(r)}" for bk, r in shown)
            if len(above) > len(shown):
                last_bk, last_r = above[-1]
                text += (f" and {len(above) - len(shown)} more, up to {last_bk} "
                         f"{fmt_ratio(last_r)}")
        out.append(text + "." + rows_line(rows))
    return out


def noise_note(run: Run) -> str:
    procs = run.processes()
    unit = (f"the bootstrap resamples the {procs} processes and the repetitions within each"
            if procs > 1 else
            "this run has one process, so the interval knows the repetitions only and is "
            "too narrow for differences between processes")
    text = ("A ratio X/Y is given with its 95% interval in brackets, from a bootstrap paired "
            f"by process ({unit}); \"beyond the noise\" means that interval excludes 1, "
            "\"within the noise\" that it does not, whatever the medians say. At 95%, one "
            "comparison in twenty, on average, lands beyond the noise by chance: a row beyond it at one "
            "or two of many N is no difference.")
    drift = sentinel_drift(run)
    if drift is not None and drift[0] > DRIFT_WARNING:
        text += (f" **The noise sentinel drifted {100 * drift[0]:.0f}% during this run**: "
                 "treat every difference below that as unproven.")
    return text


def section(run: Run, heading: str = "##") -> list:
    """The section's Markdown lines, or [] when the run supports no sentence at all."""
    items = []
    for desc in scenarios.SCENARIOS:
        if desc.part_of or not desc.table or desc.slot not in ("row", "loop"):
            continue
        if desc.name in ADVICE:
            for title, funcs in ADVICE[desc.name]:
                sentences = [s for f in funcs for s in f(run)]
                if sentences:
                    items.append((title, sentences))
        else:
            sentences = generic(run, desc.name)
            if sentences:
                title = desc.title or desc.name
                items.append((title, sentences))
    known = {d.name for d in scenarios.SCENARIOS}
    for scen in dict.fromkeys(b.scenario for b in run.benches.values() if b.ok):
        if scen not in known:
            sentences = generic(run, scen)
            if sentences:
                items.append((scen, sentences))
    if not items:
        return []
    out = decision_table(run, heading, {title for title, _ in items})
    out += [f"{heading} {TITLE}", "", noise_note(run), ""]
    for title, sentences in items:
        head = f'- <a id="{anchor(title)}"></a>**{title}.**'
        if len(sentences) == 1:
            out.append(f"{head} {sentences[0]}")
        else:
            out.append(head)
            out += [f"  - {s}" for s in sentences]
    return out + [""]
