"""The run pipeline's merge of several benchmark processes into one results.json
(plots/pipeline.py): every repetition kept with its process and CPU, the per-process
aggregates dropped, and a process that failed or left incomplete results a one-line error
with nothing written, never a shorter run. Stdlib + pytest; a fake benchmark binary (a
Python script) stands in for pollbench-bench where processes are run."""

import copy
import json
import os
import sys

import pytest

from conftest import DATA

import pipeline
from pbresults import load

R = 3  # tests/data/sweep-small.json has 3 repetitions per row


def process_doc(p):
    """tests/data/sweep-small.json as the output of process p: its own date, its own
    timings, and the CPU counters the binary records (repetition i of process p on CPU
    (p + i) % 2, migrated when i == 2)."""
    with open(os.path.join(DATA, "sweep-small.json")) as f:
        doc = json.load(f)
    doc["context"]["date"] = f"2026-01-0{p + 1}T00:00:00+00:00"
    for row in doc["benchmarks"]:
        if row["run_type"] == "iteration":
            i = row["repetition_index"]
            row["cpu"] = (p + i) % 2
            row["cpu_end"] = (p + i + (i == 2)) % 2
            row["cpu_migrated"] = int(i == 2)
            row["real_time"] *= 1 + p
    return doc


def iteration_names(doc):
    return [r["name"] for r in doc["benchmarks"] if r["run_type"] == "iteration"]


def test_two_processes_merge_into_one_run():
    docs = [process_doc(0), process_doc(1)]
    merged = pipeline.merge(copy.deepcopy(docs), R)
    rows = merged["benchmarks"]
    assert all(r["run_type"] == "iteration" for r in rows)        # aggregates dropped
    assert len(rows) == sum(len(iteration_names(d)) for d in docs)
    # process 0's rows first, each process's rows in its own order, each row unchanged
    # apart from the process it came from
    for p, doc in enumerate(docs):
        mine = [r for r in rows if r["pollbench_process"] == p]
        originals = [r for r in doc["benchmarks"] if r["run_type"] == "iteration"]
        assert [dict(r, pollbench_process=p) for r in originals] == mine
    assert [r["pollbench_process"] for r in rows] == sorted(r["pollbench_process"] for r in rows)
    context = merged["context"]
    assert context["date"] == docs[0]["context"]["date"]
    assert context["pollbench_processes"] == "2"
    assert context["pollbench_repetitions_per_process"] == str(R)
    assert context["pollbench_interleaving"] == "random"


def test_a_merged_file_loads_with_every_process_repetition(tmp_path):
    merged = pipeline.merge([process_doc(0), process_doc(1)], R)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(merged))
    run = load(str(path))
    bench = run.benches["dispatch/epoll_lt/fds:16/active:1"]
    assert len(bench.values("ns_per_event")) == 2 * R
    # the CPUs of the repetitions, as recorded: process 0 on 0,1,0 and process 1 on 1,0,1; they
    # are counted, never taken for a measurement
    assert bench.cpus == {0: 3, 1: 3}
    assert bench.migrated == 2
    assert bench.values("cpu") is None and bench.values("cpu_migrated") is None
    # the process that measured twice the time shows in the pooled samples
    times = bench.values("real_time_ns")
    assert times[R:] == pytest.approx([2 * t for t in times[:R]])


def test_an_old_single_process_file_still_loads():
    run = load(os.path.join(DATA, "sweep-small.json"))
    bench = run.benches["dispatch/epoll_lt/fds:16/active:1"]
    assert len(bench.values("ns_per_event")) == R
    assert "pollbench_processes" not in run.context


def with_sentinel(p, ns):
    doc = process_doc(p)
    for row in doc["benchmarks"]:
        if "ns_per_roundtrip" in row:
            row["ns_per_roundtrip"] = ns
    return doc


def test_the_sentinel_is_read_per_process():
    merged = pipeline.merge([with_sentinel(p, 1000.0 * (1 + 0.1 * p)) for p in range(3)], R)
    pipeline.add_sentinel(merged)
    assert merged["context"]["pollbench_sentinel_ns_per_roundtrip"] == \
        "p0:1000.0,p1:1100.0,p2:1200.0"
    assert merged["context"]["pollbench_sentinel_drift"] == "0.200"


def test_the_sentinel_is_read_in_execution_order_where_the_rows_say_it():
    # 7 positions x 3 repetitions in one process; the repetitions that ran last are slower,
    # whatever their position's name says
    doc = process_doc(0)
    sentinel = [r for r in doc["benchmarks"] if r["run_type"] == "iteration"
                and r["name"].startswith("sentinel/")]
    assert len(sentinel) >= 6
    for order, row in enumerate(reversed(sentinel)):
        row["exec_order"] = 10 * order
        row["ns_per_roundtrip"] = 2000.0 if order >= 2 * len(sentinel) // 3 else 1000.0
    merged = pipeline.merge([doc], R)
    pipeline.add_sentinel(merged)
    assert merged["context"]["pollbench_sentinel_ns_per_roundtrip"] == \
        "p0-early:1000.0,p0-middle:1000.0,p0-late:2000.0"
    assert merged["context"]["pollbench_sentinel_drift"] == "1.000"


@pytest.mark.parametrize("sentinels, warned", [
    ([1000.0, 1200.0],
     "the noise sentinel drifted 20% during the run (p0: 1,000 ns, p1: 1,200 ns)"),
    ([1000.0, 1050.0], None),
    ([1000.0], None),     # one interleaved process: its sentinel rows do not say when they ran
])
def test_the_table_warns_from_the_drift_over_the_processes(tmp_path, sentinels, warned):
    import report
    docs = [with_sentinel(p, ns) for p, ns in enumerate(sentinels)]
    # within process 0 the positions disagree wildly, which says nothing under interleaving
    for row in docs[0]["benchmarks"]:
        if row["name"] == "sentinel/roundtrip/at:0":
            row["ns_per_roundtrip"] = 5000.0
    merged = pipeline.merge(docs, R)
    pipeline.add_sentinel(merged)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(merged))
    notes = [line for line in report.notes_lines(load(str(path))) if "sentinel" in line]
    if warned:
        assert len(notes) == 1 and warned in notes[0]
    else:
        assert notes == []


@pytest.mark.parametrize("damage, problem", [
    (lambda doc: None, "process 2 of 2 wrote no results"),
    (lambda doc: dict(doc, benchmarks=[r for r in doc["benchmarks"]
                                       if not r["name"].startswith("churn/")]),
     "process 2 of 2 has 0 of 3 repetitions of churn/"),
    (lambda doc: dict(doc, benchmarks=[r for r in doc["benchmarks"]
                                       if r.get("repetition_index") != 2]),
     "process 2 of 2 has 2 of 3 repetitions of "),
    (lambda doc: dict(doc, benchmarks=doc["benchmarks"] + [
        dict(doc["benchmarks"][0], name="dispatch/poll/fds:99/active:1")]),
     "process 2 of 2 measured dispatch/poll/fds:99/active:1, which the run did not list"),
])
def test_a_missing_or_short_process_is_one_line_and_no_run(damage, problem):
    with pytest.raises(pipeline.RunError) as caught:
        pipeline.merge([process_doc(0), damage(process_doc(1))], R)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.code == 1


def test_a_benchmark_with_its_own_repetition_count_is_complete_with_that_count():
    docs = [process_doc(0), process_doc(1)]
    for doc in docs:
        doc["benchmarks"] = [dict(r, repetitions=5) if r["name"] == "sentinel/roundtrip/at:0"
                             else r for r in doc["benchmarks"]]
        extra = [r for r in doc["benchmarks"] if r["name"] == "sentinel/roundtrip/at:0"
                 and r["run_type"] == "iteration"][:2]
        doc["benchmarks"] += [dict(r, repetition_index=3 + i) for i, r in enumerate(extra)]
    merged = pipeline.merge(copy.deepcopy(docs), R)
    assert len([r for r in merged["benchmarks"] if r["name"] == "sentinel/roundtrip/at:0"]) == 10
    docs[1]["benchmarks"].pop()      # process 2's fifth repetition of it
    with pytest.raises(pipeline.RunError, match="process 2 of 2 has 4 of 5 repetitions of "
                       "sentinel/roundtrip/at:0;"):
        pipeline.merge(docs, R)


def test_every_process_must_have_the_listed_benchmarks():
    names = iteration_names(process_doc(0))[::R] + ["timeout/poll/us:50/manual_time"]
    with pytest.raises(pipeline.RunError, match="process 1 of 1 has 0 of 3 repetitions of "
                       "timeout/poll/us:50/manual_time"):
        pipeline.merge([process_doc(0)], R, names)


def test_unreadable_process_output_is_one_line(tmp_path):
    path = tmp_path / "process.json"
    path.write_text(json.dumps(process_doc(0))[:500])
    with pytest.raises(pipeline.RunError, match="process 1 of 2: its results are not valid JSON"):
        pipeline.read_process(str(path), "process 1 of 2")
    with pytest.raises(pipeline.RunError, match="process 2 of 2 wrote no results"):
        pipeline.read_process(str(tmp_path / "absent.json"), "process 2 of 2")


# --- whole runs against a fake benchmark binary ---------------------------------------------

FAKE_BENCH = """\
#!{python}
# Lists two benchmarks; process N (counted in a state file) fails or writes broken JSON
# when FAKE_FAIL / FAKE_BROKEN name it.
import json, os, sys
names = ["sentinel/roundtrip/at:0", "raw/poll/fds:16/active:1"]
args = sys.argv[1:]
if "--pollbench_plan" in args:
    print(json.dumps({{"sweep": "quick", "processes": 3, "repetitions": 2}}))
    sys.exit(0)
if "--benchmark_list_tests" in args:
    print("\\n".join(names))
    sys.exit(0)
state = os.environ["FAKE_STATE"]
n = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(n + 1))
out = [a.split("=", 1)[1] for a in args if a.startswith("--benchmark_out=")][0]
reps = 2                                              # its plan's: the binary supplies it
rows = [{{"name": nm, "run_name": nm, "run_type": "iteration", "repetition_index": i,
          "real_time": 100.0, "cpu_time": 100.0, "time_unit": "ns", "iterations": 10,
          "ns_per_roundtrip": 100.0 + n, "ns_per_event": 50.0, "cpu": 0}}
        for nm in names for i in range(reps)]
text = json.dumps({{"context": {{"date": "today", "pollbench_sweep": "quick"}},
                    "benchmarks": rows}})
if str(n) == os.environ.get("FAKE_BROKEN"):
    text = text[: len(text) // 2]
open(out, "w").write(text)
if str(n) == os.environ.get("FAKE_SIGINT"):        # Ctrl-C reached it first
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
sys.exit(3 if str(n) == os.environ.get("FAKE_FAIL") else 0)
"""


@pytest.fixture
def fake_bench(tmp_path, monkeypatch):
    path = tmp_path / "fake-bench"
    path.write_text(FAKE_BENCH.format(python=sys.executable))
    path.chmod(0o755)
    monkeypatch.setenv("FAKE_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("POLLBENCH_NICE", "0")
    monkeypatch.delenv("POLLBENCH_SIMULATE_ENOSPC", raising=False)
    return str(path)


def run_with(fake_bench, out, *flags):
    opts = pipeline.parse_args(["--quick", "--out", str(out), *flags])
    return pipeline.execute(opts, bench=fake_bench)


def test_a_fake_run_of_three_processes_writes_one_merged_file(fake_bench, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_with(fake_bench, out, "--processes", "3") == 0
    (run_dir,) = out.iterdir()
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []
    doc = json.loads((run_dir / "results.json").read_text())
    repetitions = 2                                   # the fake's plan
    assert [r["pollbench_process"] for r in doc["benchmarks"]] == \
        [p for p in range(3) for _ in range(2 * repetitions)]
    assert doc["context"]["pollbench_processes"] == "3"
    assert doc["context"]["pollbench_sentinel_ns_per_roundtrip"] == "p0:100.0,p1:101.0,p2:102.0"
    err = capsys.readouterr().err
    assert f"3 processes × {repetitions} repetitions, interleaved, not pinned" in err


@pytest.mark.parametrize("env, problem", [
    ({"FAKE_FAIL": "1"}, "run: process 2 of 3: pollbench-bench failed (exit 3); "
                         "no results written"),
    ({"FAKE_BROKEN": "2"}, "run: process 3 of 3: its results are not valid JSON"),
])
def test_a_failed_or_broken_process_writes_nothing(fake_bench, tmp_path, monkeypatch,
                                                   env, problem):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    with pytest.raises(pipeline.RunError) as caught:
        run_with(fake_bench, out, "--processes", "3")
    assert str(caught.value).startswith(problem)
    assert "\n" not in str(caught.value)
    assert list(out.iterdir()) == []           # no run directory, no partial file
    # a failed process stops the run: the next process is never started
    ran = int((tmp_path / "state").read_text())
    assert ran == (2 if "FAKE_FAIL" in env else 3)


REFUSING_BENCH = """\
#!/bin/sh
echo "pollbench-bench: --cpu: CPU 7 is offline" >&2
exit 2
"""


def test_the_binarys_refusal_is_relayed_as_one_usage_line(tmp_path):
    path = tmp_path / "refusing-bench"
    path.write_text(REFUSING_BENCH)
    path.chmod(0o755)
    opts = pipeline.parse_args(["--cpu", "7", "--out", str(tmp_path / "out")])
    with pytest.raises(pipeline.RunError) as caught:
        pipeline.execute(opts, bench=str(path))
    assert str(caught.value) == "run: --cpu: CPU 7 is offline"
    assert caught.value.code == 2
    assert not (tmp_path / "out").exists()


def test_a_process_killed_by_ctrl_c_is_an_interrupted_run(fake_bench, tmp_path, monkeypatch,
                                                         capsys):
    monkeypatch.setenv("FAKE_SIGINT", "1")
    out = tmp_path / "out"
    assert run_with(fake_bench, out, "--processes", "3") == 130
    assert list(out.iterdir()) == []
    assert "run interrupted by SIGINT: removed the partial results" in capsys.readouterr().err


def test_the_plan_is_the_binarys_and_processes_override_it(fake_bench):
    assert pipeline.sweep_plan(fake_bench, pipeline.parse_args(["--quick"])) == \
        pipeline.Plan(3, 2)
    assert pipeline.sweep_plan(fake_bench, pipeline.parse_args(["--processes", "5"])) == \
        pipeline.Plan(5, 2)


def test_the_cpu_default_is_not_pinned():
    opts = pipeline.parse_args([])
    assert opts.cpu == pipeline.DEFAULT_CPU
    assert not any(a.startswith("--pollbench_cpu") for a in
                   pipeline.parse_args(["--cpu", "none"]).bench_args())
    assert "--pollbench_cpu=0,1" in pipeline.parse_args(["--cpu", "0,1"]).bench_args()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
