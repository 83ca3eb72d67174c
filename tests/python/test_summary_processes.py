"""summary.md and the charts of a run made by several processes: the between-process spread
beside the within-process CV, the migrated repetitions, the sentinel with the spread, and
the overhead with its interval. Synthetic numbers chosen so every value is known."""

import re

import pytest

import analysis as an
import gbfake
import summary
from conftest import run_report, write_json
from pbresults import load


def process_run(tmp_path, factors=(1.0, 1.0, 1.0), drift=None, migrated=()):
    """dispatch/poll and raw/poll at two N, three processes, no repetition noise; process p
    multiplies both rows by factors[p] (the same process moves both rows)."""
    ctx = dict(gbfake.CONTEXT)
    if drift is not None:
        ctx["pollbench_sentinel_drift"] = str(drift)
    d = gbfake.Doc(reps=3, processes=3, noise=0.0, context=ctx)
    d.add("sentinel/roundtrip/at:0", {"ns_per_roundtrip": 300.0})
    for n in (16, 4096):
        d.add(f"dispatch/poll/fds:{n}/active:1", {"ns_per_event": 110.0 * n},
              scale=lambda p: factors[p], migrated=migrated)
        d.add(f"raw/poll/fds:{n}/active:1", {"ns_per_event": 100.0 * n},
              scale=lambda p: factors[p])
    return load(write_json(tmp_path / "r" / "results.json", d.json()))


def test_cells_show_the_within_process_cv_and_the_between_process_spread(tmp_path):
    run = process_run(tmp_path, factors=(1.0, 1.2, 0.9))
    text = "\n".join(summary.dispatch_section(run))
    # 110 * 16 = 1,760 ns; no noise inside a process; processes at 0.9, 1.0 and 1.2: 30%.
    assert "| 16 | 1,760 (0.0%; 30.0%) |" in text
    assert "(within-process CV; between-process spread)" in text


def test_a_single_process_run_shows_the_cv_only(tmp_path):
    run = load(write_json(tmp_path / "r.json", gbfake.full_run()))
    row = next(line for line in summary.dispatch_section(run) if line.startswith("| 16 |"))
    assert re.match(r"\| 16 \| [\d,]+ \(\d+\.\d%\) \|", row) and ";" not in row


def test_the_migrated_repetitions_are_counted_never_timed(tmp_path):
    run = process_run(tmp_path, migrated={(0, 1), (2, 2)})
    lines = "\n".join(summary.run_section(run))
    # 2 rows (N = 16 and 4,096) with 2 migrated repetitions each, of 9 rows x 5 benchmarks.
    assert "4 of 45 repetitions moved to another CPU while timed (cpu_migrated = 1)" in lines
    assert "`dispatch/poll/fds:16/active:1` (2)" in lines
    assert "CPU 0: 30, CPU 1: 15" in lines
    b = run.benches["dispatch/poll/fds:16/active:1"]
    assert not b.has("cpu_migrated") and "cpu" not in an.metrics_of("dispatch", b)


@pytest.mark.parametrize("factors, drift, expect", [
    ((1.0, 1.0, 1.0), 0.02, ["drift 2.0%", "under the 10% warning level",
                             "per-process medians spread 0.0%"]),
    ((1.0, 1.3, 1.0), 0.02, ["drift 2.0%", "**Warning: separate processes disagree**",
                             "spread 30.0%"]),
    ((1.0, 1.0, 1.0), 0.25, ["**Warning: the noise sentinel drifted 25%**"]),
])
def test_the_warning_uses_the_sentinel_and_the_between_process_spread(tmp_path, factors,
                                                                       drift, expect):
    text = "\n".join(summary.warnings_section(process_run(tmp_path, factors, drift)))
    for words in expect:
        assert words in text, text


def test_overhead_has_a_paired_interval_in_the_table_and_the_chart(tmp_path):
    # The process factors move dispatch and raw together: pairing cancels them, so the
    # interval is exactly the ratio, 1.10, however far the processes are apart.
    run = process_run(tmp_path, factors=(1.0, 1.5, 0.7))
    (s,) = [an.overhead_series(run, "poll")]
    assert [(p.n, round(p.ratio, 6), round(p.low, 6), round(p.high, 6)) for p in s] == \
        [(16, 1.1, 1.1, 1.1), (4096, 1.1, 1.1, 1.1)]
    text = "\n".join(summary.dispatch_section(run))
    assert "| 16 | 1.100 [1.100, 1.100] |" in text and "95% interval" in text
    charts = pytest.importorskip("charts")
    fig = charts.chart_overhead(run)
    ax = fig.get_axes()[0]
    assert ax.containers, "no error bars"
    assert "95% interval" in ax.get_ylabel()


def test_plot_of_a_multi_process_run_end_to_end(tmp_path):
    path = write_json(tmp_path / "r" / "results.json",
                      gbfake.full_run(processes=3, process_noise=0.03))
    p = run_report("plot", path)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "r" / "summary.md").read_text()
    assert "3 processes" in text and "between-process spread" in text
    assert re.search(r"\| 4,096 \| [\d.]+ \[[\d.]+, [\d.]+\] \|", text)


@pytest.mark.parametrize("levels, expect", [
    ((20000.0, 20200.0, 20100.0), "Cross-CPU sentinel (an eventfd round trip between two CPUs"),
    # The host moved the cost of one CPU waking another by a quarter between processes.
    ((20000.0, 25000.0, 20000.0), "**Warning: the cross-CPU sentinel's processes disagree by 25%**"),
])
def test_the_cross_cpu_gauge_has_a_line_of_its_own(tmp_path, levels, expect):
    d = gbfake.Doc(reps=3, processes=3, noise=0.0)
    for k in (0, 1):
        d.add(f"sentinel/roundtrip/at:{k}", {"ns_per_roundtrip": 3000.0})
        d.add(f"sentinel/cross_cpu/at:{k}", {"ns_per_roundtrip": 20000.0, "cpus_used": 2.0},
              scale=lambda p: levels[p] / 20000.0)
    d.add("wakeup/epoll_lt/fds:16/cpu:other", {"p50_ns": 11000.0, "p99_ns": 15000.0,
                                               "cpus_used": 2.0}, real_time=11000.0)
    run = load(write_json(tmp_path / "r" / "results.json", d.json()))
    text = "\n".join(summary.warnings_section(run))
    assert expect in text
    assert "Rows whose threads were on two CPUs (cpus_used ≥ 2; 1 here) carry this cost" in text
    # The drift is the same-CPU gauge's: the cross-CPU rows, ~7x its level, stay out of it.
    assert "drift 0.0%" in text
