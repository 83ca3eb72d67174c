"""Wakeup latency, the thundering herd, timeout accuracy, library over mechanism and
raw/uring_poll in the plots: names, series, words in summary.md and the charts. Synthetic
numbers from gbfake; no test asserts a timing of this machine."""

import os

import pytest

import analysis as an
import gbfake
import scenarios
from conftest import DATA, run_report, write_json
from pbresults import load, parse_name

NEW_STEMS = ["library_over_mechanism", "wakeup_percentiles", "wakeup_cdf", "herd", "timeout"]


@pytest.fixture
def everything(tmp_path):
    return write_json(tmp_path / "20260101-000000-vm" / "results.json", gbfake.everything_run())


@pytest.fixture
def everything_run(everything):
    return load(everything)


# --- names ----------------------------------------------------------------------------------

def test_new_names_parse(everything_run):
    w = parse_name("wakeup/epoll_lt/fds:8192/cpu:other/manual_time")
    assert (w.scenario, w.backend, w.get("fds"), w.get("cpu")) == ("wakeup", "epoll_lt", 8192,
                                                                   "other")
    assert w.key == "wakeup/epoll_lt/fds:8192/cpu:other"  # GB's /manual_time is not a param
    h = parse_name("herd_shared/epoll_et/waiters:8/manual_time")
    assert (h.scenario, h.backend, h.get("waiters")) == ("herd_shared", "epoll_et", 8)
    t = parse_name("raw_timeout/epoll_pwait2/us:50/manual_time")
    assert (t.scenario, t.backend, t.get("us")) == ("raw_timeout", "epoll_pwait2", 50)
    r = parse_name("raw/uring_poll/fds:64/active:1")
    assert an.raw_of(everything_run, "uring_multishot") == "uring_poll" == r.backend
    assert an.backend_of_raw(everything_run, "uring_poll") == "uring_multishot"


def test_new_scenarios_have_metrics_so_compare_and_the_summary_know_them():
    for scen in ("wakeup", "herd", "herd_shared", "timeout", "raw_timeout"):
        assert an.metrics_of(scen) == list(scenarios.get(scen).metrics), scen
    assert an.metrics_of("wakeup")[0] == "p50_ns"


# --- analysis -------------------------------------------------------------------------------

def test_wakeup_series_are_split_by_cpu_placement(everything_run):
    run = everything_run
    assert an.wakeup_placements(run) == ["same", "other"]
    same = an.wakeup_series(run, "poll", "same")
    other = an.wakeup_series(run, "poll", "other")
    # The real sweep: both placements at N = 16, cpu:other also at 1,000 and 8,192.
    assert [n for n, _ in same] == [16] and [n for n, _ in other] == [16, 1000, 8192]
    assert all(b.name.get("cpu") == "same" for _, b in same)
    # select is skipped above 1,000 fds: its series stops there, the skip is not a point.
    assert [n for n, _ in an.wakeup_series(run, "select", "other")] == [16, 1000]


def test_wakeup_cdf_is_ordered_and_spans_min_to_max(everything_run):
    b = dict(an.wakeup_series(everything_run, "epoll_lt", "other"))[1000]
    pts = an.wakeup_cdf(b)
    assert [q for _, q in pts] == [q for _, q in an.WAKEUP_QUANTILES]
    assert all(x1 <= x2 for (x1, _), (x2, _) in zip(pts, pts[1:]))
    assert pts[0][0] == b.median("min_ns") and pts[-1][0] == b.median("max_ns")


def test_wakeup_cdf_is_made_monotone(tmp_path):
    d = gbfake.Doc(reps=1, noise=0.0)
    d.add("wakeup/poll/fds:16/cpu:same", {"p50_ns": 1000.0, "p90_ns": 900.0, "p99_ns": 3000.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    pts = an.wakeup_cdf(run.benches["wakeup/poll/fds:16/cpu:same"])
    assert [x for x, _ in pts] == [1000.0, 1000.0, 3000.0]


def test_cdf_n_is_the_largest_n_every_backend_ran(everything_run):
    assert an.wakeup_cdf_n(everything_run, "other") == 1000  # select stops at 1,000
    d = gbfake.Doc(reps=1)
    gbfake.add_latency(d, wakeup_backends=("poll", "epoll_lt"), herd=False, timeout=False)
    run = load(write_json(os.path.join(os.path.dirname(everything_run.path), "x.json"),
                          d.json()))
    assert an.wakeup_cdf_n(run, "other") == 8192


@pytest.mark.parametrize("woken, w, verdict", [(8.0, 8, "all"), (7.3, 8, "all"),
                                               (1.0, 8, "about one"), (1.2, 4, "about one"),
                                               (3.8, 8, "some"), (1.0, 1, "one waiter only")])
def test_herd_verdict(woken, w, verdict):
    assert an.herd_verdict(woken, w) == verdict


def test_rounded_to_ms():
    assert an.rounded_to_ms(50, 1_000_000)       # 50 µs asked, came back at 1.05 ms
    assert not an.rounded_to_ms(50, 60_000)      # came back within the slack
    assert not an.rounded_to_ms(1000, 1_000_000)  # a whole ms is not rounded


def test_library_ratios_follow_the_data(everything_run):
    pairs = dict(an.library_pairs(everything_run))
    assert pairs == {"libevent_epoll": "epoll_lt", "libuv": "epoll_lt", "libevent_poll": "poll",
                     "libevent_select": "select"}
    s = an.library_ratio_series(everything_run, "libuv")
    assert [p.n for p in s] == sorted(gbfake.SIZES)
    # gbfake's model: libuv 700 ns, epoll_lt 420 ns per event, 2% noise.
    assert all(1.5 < p.ratio < 1.85 and p.low <= p.ratio <= p.high for p in s)
    # libevent_select stops at its fd limit, like select: 256, then the active sweep's 1,000.
    assert [p.n for p in an.library_ratio_series(everything_run, "libevent_select")] == \
        [16, 64, 256, 1000]


# --- report.py plot end to end --------------------------------------------------------------

def test_plot_draws_every_new_chart(everything):
    out = os.path.dirname(everything)
    p = run_report("plot", everything)
    assert p.returncode == 0, p.stderr
    summary = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
    for stem in NEW_STEMS:
        png = os.path.join(out, stem + ".png")
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", stem
        assert os.path.getsize(png) > 20_000, stem
        with open(os.path.join(out, stem + ".svg"), encoding="utf-8") as f:
            assert "<svg" in f.read(2000), stem
        assert f"]({stem}.png)" in summary, stem


def _section(summary: str, title: str) -> str:
    start = summary.index(f"## {title}\n")
    end = summary.find("\n## ", start + 1)
    return summary[start:end if end >= 0 else None]


@pytest.fixture
def summary(everything, tmp_path):
    p = run_report("plot", everything, "--out", tmp_path / "out")
    assert p.returncode == 0, p.stderr
    return (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


def test_summary_wakeup_section_says_which_backends_grow_with_n(summary):
    s = _section(summary, "Wakeup latency")
    assert "clock: CLOCK_MONOTONIC" in s
    assert "**Waiter and driver on the same CPU (cpu:same)**" in s
    assert "**Waiter and driver on different CPUs (cpu:other)**" in s
    # Rows N = 16 (both placements) and N = 8,192 (cpu:other) with p50 / p99 per backend.
    rows = [line for line in s.splitlines() if line.startswith("| 16 |")
            or line.startswith("| 8,192 |")]
    assert len(rows) == 3
    assert all(line.count(" / ") == 6 for line in rows if line.startswith("| 16 |"))
    header = next(line for line in s.splitlines() if line.startswith("| N |")).split(" | ")
    col = header.index("select")  # select stops at its fd limit: no 8,192 cell
    assert all(line.split(" | ")[col] == "–" for line in rows if line.startswith("| 8,192 |"))
    grows = s.split("grows with N")[0].rsplit("The p50 wakeup of ", 1)[1]
    assert "poll" in grows and "select" in grows and "epoll" not in grows
    assert "epoll_lt, epoll_et, uring_multishot and libuv stays within 1.5×" in s
    assert "Waking a thread on the other CPU took" in s
    assert "| wakeup clock | CLOCK_MONOTONIC |" in summary


def test_summary_herd_section_says_who_woke_all_and_who_about_one(summary):
    s = _section(summary, "Thundering herd")
    verdict = next(line for line in s.splitlines() if line.startswith("At the largest W"))
    all_part, rest = verdict.split("woke all W waiters")
    assert "select (8 of 8)" in all_part and "epoll_lt (8 of 8)" in all_part
    about_one = rest.split("woke about one")[0].rsplit(";", 1)[1]
    assert "epoll_exclusive (1 of 8)" in about_one
    assert "epoll_et, one shared set (1 of 8)" in about_one
    assert "epoll_lt, one shared set (3.8 of 8) woke more than one waiter but not all" \
        in verdict


def test_herd_words_follow_the_data_not_the_expectation(tmp_path):
    # A kernel without EPOLLEXCLUSIVE's effect: the summary must say it woke all.
    d = gbfake.Doc(reps=3)
    for w in (1, 2, 4, 8):
        d.add(f"herd/epoll_exclusive/waiters:{w}", {"woken_per_event": float(w),
                                                    "first_return_ns": 5000.0})
    path = write_json(tmp_path / "r" / "results.json", d.json())
    assert run_report("plot", path).returncode == 0
    s = (tmp_path / "r" / "summary.md").read_text()
    assert "epoll_exclusive (8 of 8) woke all W waiters" in s
    assert "about one" not in s


def test_summary_timeout_section_names_the_millisecond_apis(summary):
    s = _section(summary, "Timeout accuracy")
    assert "Default timer slack: 50 µs." in s
    line50 = next(line for line in s.splitlines() if line.startswith("T = 50 µs:"))
    on_time, rounded = line50.split("; ")
    for bk in ("raw ppoll", "raw epoll_pwait2", "uring_multishot", "select"):
        assert bk in on_time and bk not in rounded, bk
    for bk in ("poll", "epoll_lt", "libuv"):
        assert bk in rounded, bk
    assert "so 50 µs became 1 ms" in rounded
    line1000 = next(line for line in s.splitlines() if line.startswith("T = 1,000 µs:"))
    assert "whole milliseconds" not in line1000
    # The raw timeout paths are their own group, after the registry rows.
    labels = [line.split(" | ")[0][2:] for line in s.splitlines() if line.startswith("| ")][1:]
    assert labels[-2:] == ["raw epoll_pwait2", "raw ppoll"]
    assert labels[:-2] == [n for n in gbfake.REGISTRY_NAMES if n in labels]


def test_summary_library_ratio_line_and_uring_overhead(summary):
    s = _section(summary, "Library over mechanism")
    ratio = next(line for line in s.splitlines() if line.startswith("Ratio: "))
    assert "libevent_epoll costs" in ratio and "libuv costs" in ratio and "× epoll_lt" in ratio
    assert "libevent_poll costs" in ratio and "× poll" in ratio
    assert "uring_multishot / raw uring_poll" in _section(summary, "Interface overhead")


def test_new_charts_are_absent_without_their_data(fake_run):
    p = run_report("plot", fake_run)
    assert p.returncode == 0, p.stderr
    out = os.listdir(os.path.dirname(fake_run))
    for stem in NEW_STEMS:
        assert stem + ".png" not in out, stem
    summary = open(os.path.join(os.path.dirname(fake_run), "summary.md")).read()
    for title in ("Wakeup latency", "Thundering herd", "Timeout accuracy",
                  "Library over mechanism"):
        assert f"## {title}" not in summary


# --- the figures themselves -----------------------------------------------------------------

charts = pytest.importorskip("charts")


def test_wakeup_chart_draws_p50_solid_and_p99_dashed_per_backend(everything_run):
    fig = charts.chart_wakeup_percentiles(everything_run)
    axes = fig.get_axes()
    assert len(axes) == 2  # same, other
    for ax, cpu in zip(axes, ("same", "other")):
        ns = {n for bk in an.wakeup_backends(everything_run)
              for n, _ in an.wakeup_series(everything_run, bk, cpu)}
        lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 0]
        if len(ns) == 1:
            # One N only: a column per backend (p50 filled, p99 hollow), no N axis that
            # promises lines.
            p50 = [ln for ln in lines if ln.get_label().endswith(" p50")]
            p99 = [ln for ln in lines if ln.get_label().endswith(" p99")]
            assert len(p50) == len(p99) == 6
            assert all(ln.get_markerfacecolor() == "white" for ln in p99)
            assert [t.get_text() for t in ax.get_xticklabels()] == \
                an.wakeup_backends(everything_run)
            assert ax.get_xscale() == "linear" and f"N = {min(ns)} only" in ax.get_title()
            continue
        solid = [ln for ln in lines if ln.get_linestyle() == "-"]
        dashed = [ln for ln in lines if ln.get_linestyle() == "--"]
        assert len(solid) == len(dashed) == 6  # six backends
        colors = {ln.get_label(): ln.get_color() for ln in solid}
        assert colors["epoll_lt"] == charts.style(everything_run, "epoll_lt")[0]


def test_wakeup_chart_of_a_quick_run_has_no_lines_to_promise(tmp_path):
    # A quick run: one N at one placement. One panel of columns; the legend says filled and
    # hollow markers, not solid and dashed lines.
    d = gbfake.Doc(reps=3)
    for bk in ("epoll_lt", "poll"):
        d.add(f"wakeup/{bk}/fds:16/cpu:other/manual_time",
              {"p50_ns": 5000.0, "p99_ns": 9000.0, "min_ns": 3000.0, "max_ns": 20000.0})
    run = load(write_json(tmp_path / "q.json", d.json()))
    fig = charts.chart_wakeup_percentiles(run)
    (ax,) = fig.get_axes()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["epoll_lt", "poll"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-2:] == ["p50", "p99"]
    leg = ax.get_legend()
    handles = getattr(leg, "legend_handles", None) or leg.legendHandles  # matplotlib < 3.7
    assert all(h.get_linestyle() == "None" for h in handles)


def test_herd_chart_has_a_line_per_variant(everything_run):
    fig = charts.chart_herd(everything_run)
    labels = {ln.get_label() for ln in fig.get_axes()[0].get_lines()}
    assert {"select", "poll", "epoll_lt", "epoll_exclusive", "epoll_et, one shared set",
            "epoll_lt, one shared set"} <= labels


def test_timeout_chart_has_a_panel_per_t_and_a_bar_per_backend(everything_run):
    fig = charts.chart_timeout(everything_run)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["T = 50 µs", "T = 1 ms", "T = 10 ms"]
    assert all(len(ax.patches) == 7 for ax in axes)
    # Registry preference order, then the raw timeout paths (hatched) as their own group.
    assert [t.get_text() for t in axes[0].get_xticklabels()] == \
        ["epoll_lt", "uring_multishot", "poll", "select", "libuv", "raw epoll_pwait2",
         "raw ppoll"]
    assert [bool(p.get_hatch()) for p in axes[0].patches] == [False] * 5 + [True] * 2


def test_every_drawn_name_keeps_one_distinct_style_in_every_chart(everything_run):
    names = [r["name"] for r in gbfake.REGISTRY] + ["raw ppoll", "raw epoll_pwait2"]
    assert len({charts.style(everything_run, n) for n in names}) == len(names)
    assert charts.style(everything_run, "uring_poll") == \
        charts.style(everything_run, "uring_multishot")  # a raw floor looks like its row


# --- real data ------------------------------------------------------------------------------

REAL = os.path.join(DATA, "wakeup-herd-timeout-small.json")


@pytest.mark.skipif(not os.path.exists(REAL), reason="tests/data/wakeup-herd-timeout-small.json not made yet")
def test_plot_real_wakeup_herd_timeout_rows(tmp_path):
    p = run_report("plot", REAL, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    run = load(REAL)
    summary = (tmp_path / "summary.md").read_text()
    for scen, stem, title in (("wakeup", "wakeup_percentiles", "Wakeup latency"),
                              ("herd", "herd", "Thundering herd"),
                              ("timeout", "timeout", "Timeout accuracy")):
        if run.backends(scen):
            assert os.path.getsize(tmp_path / f"{stem}.png") > 10_000, stem
            assert f"## {title}" in summary
    for b in run.select("wakeup"):
        q = [b.median(c) for c in ("p50_ns", "p90_ns", "p99_ns", "max_ns")]
        assert all(v > 0 for v in q) and q == sorted(q)
    for b in run.select("herd") + run.select("herd_shared"):
        assert 1 <= b.median("woken_per_event") <= b.name.get("waiters")


def test_plot_real_library_and_uring_rows(tmp_path):
    path = os.path.join(DATA, "libraries-small.json")
    p = run_report("plot", path, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert os.path.getsize(tmp_path / "library_over_mechanism.png") > 10_000
    summary = (tmp_path / "summary.md").read_text()
    ratio = next(line for line in _section(summary, "Library over mechanism").splitlines()
                 if line.startswith("Ratio: "))
    run = load(path)
    for lib, mech in run.registry.libraries():
        assert f"{lib} costs" in ratio and f"× {mech} per event" in ratio, lib
    assert run.backends("raw") == ["uring_poll"]
    assert [p.n for p in an.overhead_series(run, "uring_multishot")] == [16, 256, 1024]
    assert "uring_multishot / raw uring_poll" in _section(summary, "Interface overhead")
    # select's rows above FD_SETSIZE were skipped with the reason, not charted.
    assert [n for n, _ in an.series_over_fds(run, "dispatch", "libevent_select")] == [16, 256]
