"""Where an event's time goes (plots/timesplit.py): the split of the dispatch and chain rows
into user, kernel and off-CPU time, its table and its chart, on synthetic runs with a known
split. No timing of this machine."""

import json

import pytest

import analysis as an
import charts
import gbfake
import scenarios
import summary
import timesplit
from conftest import write_json
from pbresults import load


def _load(tmp_path, doc):
    return load(write_json(tmp_path / "20260101-000000-vm" / "results.json", doc))


@pytest.fixture
def run(tmp_path):
    return _load(tmp_path, gbfake.full_run(noise=0.0, with_split=True))


def test_the_split_adds_up_to_the_wall_time(run):
    b = run.select("dispatch", "epoll_lt", fds=16, active=1)[0]
    s = timesplit.split_of(b)
    assert s["total"] == pytest.approx(gbfake.model_cost("epoll_lt", 16))
    assert s["user"] == pytest.approx(0.3 * s["total"])
    assert s["kernel"] == pytest.approx(0.5 * s["total"])
    assert s["off CPU"] == pytest.approx(0.2 * s["total"])
    assert s["user"] + s["kernel"] + s["off CPU"] == pytest.approx(s["total"])
    assert s["ivcsw"] == pytest.approx(0.002)


def test_points_are_dispatch_at_its_smallest_and_largest_n_and_one_chain_point(run):
    pts = timesplit.points(run)
    assert [(scen, n) for _, scen, n, _ in pts] == [("dispatch", 16), ("dispatch", 8192),
                                                   ("chain", 100)]
    # select cannot poll 8,192 fds: it is in the small panel, not the large one.
    assert "select" in [bk for bk, _ in pts[0][3]]
    assert "select" not in [bk for bk, _ in pts[1][3]]
    # every row, in registry (preference) order
    assert [bk for bk, _ in pts[2][3]] == run.backends("chain")
    assert sorted(run.backends("chain")) == ["epoll_et", "epoll_lt", "poll", "select"]


def test_the_chain_point_is_the_one_whose_syscalls_were_counted(tmp_path):
    doc = gbfake.full_run(noise=0.0, with_split=True)
    doc["context"]["pollbench_syscalls"] = json.dumps(
        {"fds": 1000, "active": 1, "events": 400,
         "rows": {"epoll_lt": {"epoll_wait": 1, "read": 1, "write": 1},
                  "poll": {"poll": 1, "read": 1, "write": 1}}})
    run = _load(tmp_path, doc)
    assert timesplit.points(run)[-1][2] == 1000
    lines = timesplit.time_split_section(run)
    assert "syscalls / event" in "\n".join(lines)
    epoll_row = next(line for line in lines if line.startswith("| `epoll_lt`") and "3.00" in line)
    assert epoll_row.endswith("| 3.00 |")
    # A row the count left out says so with a dash, not a number.
    select_row = [line for line in lines if line.startswith("| `select`")][-1]
    assert select_row.endswith("| – |")


def test_the_section_has_a_row_per_backend_and_point_with_the_shares(run):
    lines = timesplit.time_split_section(run)
    text = "\n".join(lines)
    assert lines[0] == "## Where the time goes"
    assert "**dispatch, N = 16, A = 1**" in text
    assert "**dispatch, N = 8,192, A = 1**" in text
    assert "**chain, N = 100, A = 1, W = 1,000**" in text
    row = next(line for line in lines if line.startswith("| `poll`"))
    assert "(30%)" in row and "(50%)" in row and "(20%)" in row
    # no syscall count in this run: no column for it
    assert "syscalls / event" not in text


def test_a_run_without_the_counters_has_no_section_and_no_chart(tmp_path):
    # An older run (or a scenario filter without dispatch and chain): nothing to show.
    run = _load(tmp_path, gbfake.full_run(noise=0.0))
    assert timesplit.time_split_section(run) == []
    assert timesplit.chart_time_split(run) is None


def test_the_chart_is_drawn_and_registered_and_the_summary_shows_the_section(run):
    fig = timesplit.chart_time_split(run)
    assert fig is not None
    assert len(fig.axes) == 3
    # three segments per bar: user, kernel, off CPU
    poll_panel = fig.axes[1]
    assert len(poll_panel.patches) == 3 * len(timesplit.points(run)[1][3])
    assert "time_split" in [c.stem for c in scenarios.all_charts()]
    drawn = charts.draw_charts(run)
    assert "time_split" in [spec.stem for spec, _ in drawn]
    assert "## Where the time goes" in summary.render(run, drawn)


def test_the_split_is_no_metric_compare_flags():
    # Explanations of a row's cost, not costs to compare (compare.py reads metrics_of() and
    # nothing else): a changed split with the same cost is no regression.
    for scen in ("dispatch", "raw", "chain", "wakeup"):
        metrics = an.metrics_of(scen)
        assert not [m for m in metrics if "user_ns" in m or "sys_ns" in m or "csw" in m], scen
