"""Where a run's wall time went (plots/pipeline.py where_time_went): the phases as measured,
and the benchmark processes' time by scenario from each row's largest row_wall_s per process
(the counter is cumulative over a row's calls, so its largest value is the row's cost)."""

import pipeline


def row(process, name, wall):
    return {"name": name, "run_name": name, "pollbench_process": process, "row_wall_s": wall}


def test_a_rows_largest_value_per_process_is_summed_by_scenario():
    doc = {"benchmarks": [
        # dispatch: 3 + 2 (process 0, cumulative over its repetitions) + 4 (process 1)
        row(0, "dispatch/poll/fds:16/active:1", 1.0),
        row(0, "dispatch/poll/fds:16/active:1", 3.0),
        row(0, "dispatch/epoll_lt/fds:16/active:1", 2.0),
        row(1, "dispatch/poll/fds:16/active:1", 4.0),
        row(0, "churn/poll/fds:16", 0.5),
        row(1, "churn/poll/fds:16", 0.25),
        # an errored row without the counter counts for nothing
        {"name": "churn/select/fds:8192", "pollbench_process": 0, "error_occurred": True},
    ]}
    line = pipeline.where_time_went(doc, {"start-up": 1.0, "benchmark processes": 12.0,
                                          "syscall counts": 3.0})
    assert line.startswith("time: start-up 1 s, benchmark processes 12 s, syscall counts 3 s;")
    assert "by scenario: dispatch 9 s, churn 1 s," in line
    # 12 s of processes, 9.75 s in the rows
    assert line.endswith("outside the rows 2 s")


def test_a_run_without_the_counter_gives_the_phases_only():
    line = pipeline.where_time_went({"benchmarks": [{"name": "raw/poll/fds:16/active:1"}]},
                                    {"benchmark processes": 5.0})
    assert line == "time: benchmark processes 5 s"


def test_the_binary_records_each_rows_cumulative_wall_time(tmp_path):
    import json
    import os
    import subprocess

    import pytest
    from benchbin import BENCH

    if not os.access(BENCH, os.X_OK):
        pytest.fail("build/release/pollbench-bench is not built (./pollbench test builds it)")
    out = tmp_path / "rows.json"
    proc = subprocess.run(
        [BENCH, "--pollbench_fds=16", "--pollbench_active=1",
         "--benchmark_filter=^dispatch/(poll|epoll_lt)/", "--benchmark_min_time=0.001",
         "--benchmark_repetitions=3", f"--benchmark_out={out}", "--benchmark_out_format=json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out) as f:
        rows = [r for r in json.load(f)["benchmarks"] if r.get("run_type") == "iteration"]
    assert {r["run_name"] for r in rows} == {"dispatch/poll/fds:16/active:1",
                                              "dispatch/epoll_lt/fds:16/active:1"}
    for name in {r["run_name"] for r in rows}:
        mine = sorted((r for r in rows if r["run_name"] == name), key=lambda r: r["exec_order"])
        walls = [r["row_wall_s"] for r in mine]
        assert len(walls) == 3 and walls[0] > 0, name
        # Cumulative: each repetition adds its own call to what the earlier calls cost.
        assert all(b > a for a, b in zip(walls, walls[1:])), (name, walls)
