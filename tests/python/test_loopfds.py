"""The event loop's other descriptors in the reports (plots/loopfds.py): timerfd against the
wait's own timeout, signalfd against a self-pipe, eventfd/pipe/socketpair wake-ups — the
sections, the "what to use when" sentences, the charts, and that wakeup's own series leave
the wake:<kind> rows out. Synthetic numbers from gbfake (chosen so the answers are known),
plus one real file; no test asserts a timing of this machine."""

import os
import re

import pytest

import analysis as an
import charts
import gbfake
import loopfds
import summary
from benchbin import list_names, needs_bench
from conftest import DATA, run_report, write_json
from pbresults import load


def _load(tmp_path, doc, name="results.json"):
    return load(write_json(tmp_path / "20260101-000000-vm" / name, doc))


@pytest.fixture
def run(tmp_path):
    # Without noise, so the cells are gbfake's numbers.
    return _load(tmp_path, gbfake.latency_run(noise=0.0))


def _wake_only(tmp_path, kinds):
    d = gbfake.Doc(reps=3, seed=3, noise=0.0, context=gbfake.LATENCY_CONTEXT)
    gbfake.add_loop_descriptors(d, timerfd_backends=(), signal_backends=(), wake_kinds=kinds)
    return _load(tmp_path, d.json(), f"wake-{len(kinds)}.json")


# --- data -------------------------------------------------------------------------------------

def test_timer_rows_pair_each_timerfd_row_with_the_same_waits_own_timeout(run):
    rows = loopfds.timer_rows(run)
    assert [(bk, t) for bk, t, _, _ in rows] == [(bk, 50) for bk in ("epoll_lt", "uring_multishot",
                                                                     "poll")]
    for bk, t, b, own in rows:
        assert b.name.key == f"timerfd/{bk}/us:50"
        assert own is not None and own.name.key == f"timeout/{bk}/us:50"


def test_wakeup_series_leave_the_wake_descriptor_rows_out(run):
    # epoll_lt has both wakeup/epoll_lt/fds:16/cpu:other and three .../wake:<kind> rows.
    assert len(run.select("wakeup", "epoll_lt", fds=16, cpu="other")) == 4
    series = an.wakeup_series(run, "epoll_lt", "other")
    at16 = [b for n, b in series if n == 16]
    assert len(at16) == 1 and at16[0].name.get("wake") is None
    assert set(loopfds.wake_table(run)["epoll_lt"]) == {"eventfd", "pipe", "socketpair"}


# --- summary ----------------------------------------------------------------------------------

def test_the_timer_section_sets_lateness_and_arming_side_by_side(run):
    text = "\n".join(loopfds.timers_section(run))
    # A millisecond wait rounds 50 µs up to 1 ms; the timerfd does not (gbfake: 12 µs late).
    line = next(ln for ln in text.splitlines() if ln.startswith("| epoll_lt |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "50"
    assert cells[2].startswith("1,0")          # own timeout: 1,005 µs late
    assert cells[3].startswith("12")           # timerfd: 12 µs late
    assert cells[6].startswith("450 (+")       # the arming, ns per wait
    assert "uring_multishot, T = 50 µs: the timerfd came back 12" in text


def test_the_sections_are_in_summary_md_and_empty_without_rows(tmp_path, run):
    text = summary.render(run, [])
    for heading in ("## Timers: a timerfd against the wait's own timeout",
                    "## Signals: signalfd against a self-pipe",
                    "## Wake-up descriptors: eventfd, pipe, socketpair"):
        assert heading in text
    assert "## timerfd" not in text and "## signal" not in text  # no plain table besides
    bare = _load(tmp_path, gbfake.latency_run(loop_fds=False), "bare.json")
    for section in (loopfds.timers_section, loopfds.signal_section,
                    loopfds.wake_descriptor_section):
        assert section(bare) == []
    assert loopfds.use_when_sentences(bare) == []


def test_the_signal_section_names_the_faster_way_per_backend(run):
    text = "\n".join(loopfds.signal_section(run))
    assert "| epoll_lt | 12 / 30 | 16.8 / 42 | 1.40 |" in text
    assert "poll: signalfd in the poller told the waiter in 12 µs (p50), the self-pipe " \
           "from the handler in 16.8 µs." in text


def test_use_when_follows_the_data(tmp_path, run):
    said = loopfds.use_when_sentences(run)
    assert len(said) == 3
    timers, signals, wake = said
    # gbfake: the own timeouts 55 µs (ns APIs, the slack) or 1,005 µs (ms APIs) late.
    assert timers == ("Timers finer than a millisecond: a timerfd on epoll_lt, uring_multishot "
                      "and poll (it came back 12 µs late at T = 50 µs, their own timeout "
                      "55–1,005 µs); arming one costs 450 ns of `timerfd_settime` per "
                      "wait, on every pass of a busy loop.")
    assert signals == ("Signals: the faster way to learn of one (p50) was the signalfd in "
                       "the poller on epoll_lt, uring_multishot and poll.")
    assert wake == ("Cross-thread wake-ups (p50, fastest first): on epoll_lt eventfd 9 µs, "
                    "pipe 9.5 µs, socketpair 10.5 µs.")
    # Other numbers, another answer: the order comes from the data, not from a list.
    swapped = _wake_only(tmp_path, {"eventfd": 14_000.0, "pipe": 9500.0, "socketpair": 8000.0})
    assert loopfds.use_when_sentences(swapped) == [
        "Cross-thread wake-ups (p50, fastest first): on epoll_lt socketpair 8 µs, pipe 9.5 µs, "
        "eventfd 14 µs."]
    assert "woken fastest through a socketpair" in "\n".join(
        loopfds.wake_descriptor_section(swapped))


def test_a_timerfd_no_better_than_the_own_timeout_is_not_recommended(tmp_path):
    d = gbfake.Doc(reps=3, seed=4, noise=0.0, context=gbfake.LATENCY_CONTEXT)
    gbfake.add_loop_descriptors(d, timerfd_backends=("uring_multishot",), signal_backends=(),
                                wake_kinds={})
    d.add("timeout/uring_multishot/us:50/manual_time",
          {"late_p50_ns": 8000.0, "late_p99_ns": 20000.0, "late_max_ns": 90000.0,
           "late_mean_ns": 9000.0}, real_time=58_000.0)
    said = loopfds.use_when_sentences(_load(tmp_path, d.json(), "ns.json"))
    assert said == ["Timers: uring_multishot was as punctual with its own timeout (8 µs, "
                    "timerfd 12 µs), so there a timerfd only costs; arming one costs 450 ns "
                    "of `timerfd_settime` per wait, on every pass of a busy loop."]


# --- charts -----------------------------------------------------------------------------------

def _bar_heights(ax):
    return [p.get_height() for p in ax.patches]


def test_the_timer_chart_draws_both_sides_per_backend(run):
    fig = loopfds.chart_timers(run)
    late, arm = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in late.get_xticklabels()] == ["epoll_lt", "uring_multishot",
                                                              "poll"]
    assert len(late.patches) == 6 and len(arm.patches) == 6  # own + timerfd, alone + armed
    heights = _bar_heights(arm)
    assert all(b - a == pytest.approx(450, rel=0.05) for a, b in zip(heights[:3], heights[3:]))


def test_the_signal_and_wake_charts_draw_a_bar_per_row_and_nothing_without_rows(tmp_path, run):
    assert len(loopfds.chart_signals(run).axes[0].patches) == 6
    assert len(loopfds.chart_wake_descriptors(run).axes[0].patches) == 3
    bare = _load(tmp_path, gbfake.latency_run(loop_fds=False), "bare.json")
    for chart in (loopfds.chart_timers, loopfds.chart_signals, loopfds.chart_wake_descriptors):
        assert chart(bare) is None


REAL = os.path.join(DATA, "loopfds-small.json")


def test_plot_real_timer_signal_and_wake_rows(tmp_path):
    out = tmp_path / "plots"
    out.mkdir()
    r = run_report("plot", REAL, "--out", out)
    assert r.returncode == 0, r.stderr
    for stem in ("timers", "signals", "wake_descriptors"):
        assert (out / f"{stem}.png").stat().st_size > 10_000, stem
    text = (out / "summary.md").read_text()
    assert re.search(r"\| libevent_epoll \| 50 \| [0-9.,]+ / [0-9.,]+ \| [0-9.,]+ / [0-9.,]+ \|",
                     text)
    assert "| socketpair |" in text and "| epoll_lt | " in text


@needs_bench
def test_the_binary_registers_the_rows_the_issue_asks_for():
    for args in ([], ["--pollbench_quick"]):
        names = set(list_names(*args))
        for bk in ("epoll_lt", "poll", "uring_multishot", "libevent_epoll"):
            assert f"timerfd/{bk}/us:50/manual_time" in names, (bk, args)
            assert f"timeout/{bk}/us:50/manual_time" in names, (bk, args)
        for bk in ("epoll_lt", "poll", "uring_multishot"):
            for via in ("signalfd", "selfpipe"):
                assert f"signal/{bk}/via:{via}/manual_time" in names, (bk, via, args)
        for kind in ("eventfd", "pipe", "socketpair"):
            assert f"wakeup/epoll_lt/fds:16/cpu:other/wake:{kind}/manual_time" in names
        # select cannot poll the extra descriptors (opened above FD_SETSIZE): no rows.
        assert not any(n.startswith(("timerfd/select/", "signal/select/")) for n in names)
