"""The results parser: names, repetitions, aggregates, skipped and errored rows."""

import json
import os

import pytest

import gbfake
from conftest import DATA, write_json
from pbresults import (ResultsError, gauge_by_process, load, load_many, parse_name,
                       sentinel_drift, sentinel_readings)


def test_parse_name_splits_scenario_backend_and_params():
    n = parse_name("dispatch/epoll_lt/fds:8192/active:1")
    assert (n.scenario, n.backend) == ("dispatch", "epoll_lt")
    assert n.get("fds") == 8192 and n.get("active") == 1
    assert n.key == "dispatch/epoll_lt/fds:8192/active:1"
    c = parse_name("churn/poll/fds:64")
    assert c.get("active") is None and c.get("fds") == 64
    s = parse_name("sentinel/roundtrip/at:2")
    assert s.backend == "roundtrip" and s.get("at") == 2
    w = parse_name("wakeup/epoll_lt/fds:16/cpu:same")
    assert w.get("cpu") == "same"


def test_parse_name_drops_google_benchmarks_own_suffixes():
    n = parse_name("dispatch/poll/fds:16/active:1/repeats:3/min_time:0.010/real_time")
    assert n.key == "dispatch/poll/fds:16/active:1"


def test_repetitions_aggregates_and_skipped_rows(tmp_path):
    d = gbfake.Doc(reps=3, noise=0.0)
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0, "events_per_iter": 1.0})
    d.error("dispatch/select/fds:4096/active:1", "select: fd above FD_SETSIZE")
    run = load(write_json(tmp_path / "r.json", d.json()))
    ok = run.benches["dispatch/poll/fds:16/active:1"]
    assert ok.ok and ok.error is None
    # Three iteration rows become three samples; the aggregates are kept apart, not samples.
    assert ok.values("ns_per_event") == [100.0, 100.0, 100.0]
    assert set(ok.aggregates) == {"mean", "median", "stddev", "cv"}
    assert ok.median("ns_per_event") == 100.0 and ok.cv("ns_per_event") == 0.0
    bad = run.benches["dispatch/select/fds:4096/active:1"]
    assert not bad.ok and bad.error == "select: fd above FD_SETSIZE"
    assert [b.name.key for b in run.failed()] == ["dispatch/select/fds:4096/active:1"]
    assert run.select("dispatch", "select") == []  # skipped rows never reach a chart


def test_median_and_cv_come_from_repetitions(tmp_path):
    d = gbfake.Doc(reps=3, noise=0.0)
    d.add("raw/epoll/fds:16/active:1", {"ns_per_event": 1.0}, aggregates=False)
    doc = d.json()
    for row, v in zip(doc["benchmarks"], (100.0, 110.0, 300.0)):
        row["ns_per_event"] = v
    run = load(write_json(tmp_path / "r.json", doc))
    b = run.benches["raw/epoll/fds:16/active:1"]
    assert b.median("ns_per_event") == 110.0  # the median resists the 300 outlier
    assert b.spread("ns_per_event") == (100.0, 300.0)
    assert b.cv("ns_per_event") == pytest.approx(112.694 / 170, abs=1e-3)  # sample stdev / mean


def test_aggregates_only_file_still_gives_median_and_cv(tmp_path):
    d = gbfake.Doc(reps=3, noise=0.05)
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0})
    doc = d.json()
    doc["benchmarks"] = [r for r in doc["benchmarks"] if r["run_type"] == "aggregate"]
    b = load(write_json(tmp_path / "r.json", doc)).benches["dispatch/poll/fds:16/active:1"]
    assert b.values("ns_per_event") is None
    med = [r for r in doc["benchmarks"] if r["aggregate_name"] == "median"][0]
    cv = [r for r in doc["benchmarks"] if r["aggregate_name"] == "cv"][0]
    assert b.median("ns_per_event") == pytest.approx(med["ns_per_event"])
    assert b.cv("ns_per_event") == pytest.approx(cv["ns_per_event"])


def test_missing_context_keys_read_as_unknown(tmp_path):
    d = gbfake.Doc(reps=1, context={"pollbench_registry": gbfake.REGISTRY_TEXT})
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    assert run.meta("pollbench_kernel") == "unknown"
    assert "unknown" in run.subtitle()


def test_sentinel_drift(tmp_path):
    run = load(write_json(tmp_path / "r.json", gbfake.full_run(sentinel=(100, 130, 100))))
    drift, points = sentinel_drift(run)
    assert drift == pytest.approx(0.30, abs=0.05)
    assert len(points) == 3


def test_the_cross_cpu_gauge_is_kept_out_of_the_drift(tmp_path):
    # A cross-CPU round trip is ~6x a same-CPU one: pooled with it, it would read as a drift
    # of 500%. The drift is the same-CPU gauge's; the other is read on its own.
    doc = gbfake.full_run(sentinel=(100, 101, 100))
    doc["benchmarks"] += gbfake.Doc(reps=3, noise=0.0).add(
        "sentinel/cross_cpu/at:0", {"ns_per_roundtrip": 600.0, "cpus_used": 2.0}).rows
    run = load(write_json(tmp_path / "r.json", doc))
    drift, points = sentinel_drift(run)
    assert drift == pytest.approx(0.01, abs=0.005) and len(points) == 3
    assert sentinel_readings(doc["benchmarks"]) == {"p0": pytest.approx(100.0, rel=0.02)}
    assert gauge_by_process(run, "cross_cpu") == {(0, 0): [600.0] * 3}
    assert run.benches["sentinel/cross_cpu/at:0"].cpus_used == 2
    assert run.benches["sentinel/roundtrip/at:0"].cpus_used == 0


def test_two_files_of_one_machine_pool_repetitions(tmp_path):
    a = gbfake.Doc(reps=2, noise=0.0).add("raw/poll/fds:16/active:1", {"ns_per_event": 100.0})
    b = gbfake.Doc(reps=2, noise=0.0).add("raw/poll/fds:16/active:1", {"ns_per_event": 200.0})
    run = load_many([write_json(tmp_path / "a.json", a.json()),
                     write_json(tmp_path / "b.json", b.json())])
    assert run.benches["raw/poll/fds:16/active:1"].values("ns_per_event") == [100.0] * 2 + [200.0] * 2


def test_files_of_different_machines_are_not_merged(tmp_path):
    a = gbfake.Doc(reps=1).add("raw/poll/fds:16/active:1", {"ns_per_event": 100.0})
    ctx = dict(gbfake.CONTEXT, pollbench_kernel="5.10")
    b = gbfake.Doc(reps=1, context=ctx).add("raw/poll/fds:16/active:1", {"ns_per_event": 1.0})
    with pytest.raises(ResultsError, match="another machine"):
        load_many([write_json(tmp_path / "a.json", a.json()),
                   write_json(tmp_path / "b.json", b.json())])


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("", "empty file"),
    ("   \n", "empty file"),
    ("{not json", "not JSON"),
    ("[1, 2, 3]", "not Google Benchmark output"),
    ('{"context": {}, "results": []}', "not Google Benchmark output"),
    ('{"context": {}, "benchmarks": []}', "no benchmark rows"),
    ('{"context": {}, "benchmarks": [{"time": 1}]}', "not Google Benchmark output"),
])
def test_bad_files_raise_one_line_errors(tmp_path, content, problem):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsError) as e:
        load(str(path))
    assert problem in e.value.problem
    line = e.value.line()
    assert line.startswith(f"pollbench: {path}: ") and "\n" not in line


def test_all_rows_errored_is_an_error(tmp_path):
    d = gbfake.Doc(reps=2).error("dispatch/select/fds:4096/active:1", "beyond FD_SETSIZE")
    with pytest.raises(ResultsError, match="every benchmark was skipped or errored"):
        load(write_json(tmp_path / "r.json", d.json()))


# --- the real files the suite wrote (tests/data/, see its README) --------------------------

REAL = [os.path.join(DATA, f) for f in ("sweep-small.json", "aggregates-only.json")]


@pytest.mark.parametrize("path", REAL, ids=[os.path.basename(p) for p in REAL])
def test_real_results_files_parse(path):
    run = load(path)
    assert any(b.ok for b in run.benches.values())
    for b in run.benches.values():
        assert b.scenario in {"dispatch", "chain", "raw", "churn", "sentinel"}, b.name.key
        if b.ok and b.scenario in ("dispatch", "raw", "chain"):
            assert b.median("ns_per_event") > 0
            assert b.cv("ns_per_event") is not None
            if b.scenario != "chain":
                # events_per_iter equals A (results/README.md)
                assert b.median("events_per_iter") == b.name.get("active")
    for key in ("pollbench_kernel", "pollbench_cpu_model", "pollbench_fd_kind"):
        assert run.meta(key) != "unknown", key


def test_real_sweep_has_repetitions_aggregates_and_skipped_select_rows():
    run = load(os.path.join(DATA, "sweep-small.json"))
    b = run.benches["dispatch/poll/fds:16/active:1"]
    assert len(b.values("ns_per_event")) == 3
    assert {"mean", "median", "stddev", "cv"} <= set(b.aggregates)
    skipped = run.benches["dispatch/select/fds:1024/active:1"]
    assert not skipped.ok and "select" in skipped.error and skipped.aggregates == {}
    assert sentinel_drift(run) is not None


def test_real_aggregates_only_file_has_no_samples_but_medians():
    run = load(os.path.join(DATA, "aggregates-only.json"))
    b = run.benches["dispatch/poll/fds:16/active:1"]
    assert b.values("ns_per_event") is None
    assert b.median("ns_per_event") == b.aggregates["median"]["ns_per_event"]


def test_real_all_skipped_file_is_refused():
    with pytest.raises(ResultsError, match="every benchmark was skipped or errored"):
        load(os.path.join(DATA, "all-skipped.json"))


# --- the registry in the context ------------------------------------------------------------

def test_the_registry_comes_from_the_context(tmp_path):
    run = load(write_json(tmp_path / "r.json", gbfake.full_run()))
    reg = run.registry
    assert reg.names == [r["name"] for r in gbfake.REGISTRY]
    assert reg.raw_floor("epoll_lt") == "epoll" and reg.raw_floor("epoll_et") is None
    assert reg.row_of_raw("uring_poll") == "uring_multishot"
    assert reg.wraps("libuv") == "epoll_lt" and reg.wraps("poll") is None
    assert reg.max_fd("select") == 1023 and reg.max_fd("poll") is None
    # Preference order, each raw mechanism in the place of the row it is the floor of, other
    # names last; rows and raw mechanisms are separate namespaces.
    assert run.backends("raw") == ["epoll", "poll", "select"]
    assert reg.order(["select", "poll", "epoll_et", "epoll_lt", "zz"]) == \
        ["epoll_lt", "epoll_et", "poll", "select", "zz"]
    assert reg.order(["select", "poll", "uring_poll", "epoll", "zz"], "raw") == \
        ["epoll", "uring_poll", "poll", "select", "zz"]
    assert reg.order(["epoll", "epoll_lt"]) == ["epoll_lt", "epoll"]


def test_a_renamed_or_new_backend_needs_no_code(tmp_path):
    # Every backend fact is read from the file: a registry with other names works the same.
    reg = [dict(r) for r in gbfake.REGISTRY if r["name"] in ("poll", "epoll_lt")]
    reg[1] = dict(reg[1], name="kqueue_like", raw_floor="")
    reg.append(dict(reg[0], name="ppoll", raw_floor="", wraps="", description="ppoll(2)"))
    ctx = dict(gbfake.CONTEXT, pollbench_registry=json.dumps(reg))
    d = gbfake.Doc(reps=2, context=ctx)
    for bk in ("ppoll", "kqueue_like", "epoll_lt"):
        d.add(f"dispatch/{bk}/fds:16/active:1", {"ns_per_event": 100.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    assert run.backends("dispatch") == ["epoll_lt", "kqueue_like", "ppoll"]


@pytest.mark.parametrize("context, problem", [
    ({}, "no 'pollbench_registry' in the context: not a pollbench run"),
    ({"pollbench_registry": "[{"}, "is not JSON"),
    ({"pollbench_registry": "[]"}, "not a list of rows with a name"),
    ({"pollbench_registry": '[{"name": "poll"}, {"name": "poll"}]'}, "names the backend 'poll' twice"),
])
def test_a_file_without_a_usable_registry_is_refused(tmp_path, context, problem):
    d = gbfake.Doc(reps=1, context=dict(context, host_name="vm"))
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0})
    path = write_json(tmp_path / "r.json", d.json())
    with pytest.raises(ResultsError) as e:
        load(path)
    assert problem in e.value.problem and "\n" not in e.value.line()


# --- one name, one benchmark family -----------------------------------------------------------

def test_one_name_from_two_families_is_refused_not_merged(tmp_path):
    # Two registrations that produce one name (a backend row and a raw wait path both called
    # ppoll): GB gives them different family_index values.
    d = gbfake.Doc(reps=3)
    d.add("timeout/ppoll/us:50/manual_time", {"late_p50_ns": 1000.0})
    d.add("timeout/ppoll/us:50/manual_time", {"late_p50_ns": 9000.0})
    path = write_json(tmp_path / "r.json", d.json())
    with pytest.raises(ResultsError) as e:
        load(path)
    assert "timeout/ppoll/us:50/manual_time comes from two benchmark families " \
        "(family_index 0 and 1)" in e.value.problem


def test_one_family_in_several_processes_is_one_benchmark(tmp_path):
    d = gbfake.Doc(reps=3, processes=3)
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0})
    b = load(write_json(tmp_path / "r.json", d.json())).benches["dispatch/poll/fds:16/active:1"]
    assert len(b.values("ns_per_event")) == 9 and b.process_count("ns_per_event") == 3


# --- several processes, the CPU counters ------------------------------------------------------

def test_processes_pool_and_give_a_between_process_spread(tmp_path):
    d = gbfake.Doc(reps=3, processes=3, noise=0.0)
    d.add("raw/poll/fds:16/active:1", {"ns_per_event": 100.0},
          scale=lambda p: (1.0, 1.2, 0.9)[p], migrated={(1, 2), (2, 0)})
    run = load(write_json(tmp_path / "r.json", d.json()))
    b = run.benches["raw/poll/fds:16/active:1"]
    assert sorted(b.values("ns_per_event")) == pytest.approx([90.0] * 3 + [100.0] * 3 +
                                                             [120.0] * 3)
    assert b.median("ns_per_event") == pytest.approx(100.0)
    assert b.process_medians("ns_per_event") == pytest.approx([100.0, 120.0, 90.0])
    assert b.between_spread("ns_per_event") == pytest.approx(0.30)   # (120 - 90) / 100
    assert b.within_cv("ns_per_event") == pytest.approx(0.0)         # no noise inside one
    assert b.cv("ns_per_event") > 0.1                                 # the pooled CV sees both
    assert b.migrated == 2 and run.processes() == 3
    assert sum(b.cpus.values()) == 9
    # The CPU counters and the process id are never metrics.
    for counter in ("cpu", "cpu_end", "cpu_migrated", "pollbench_process"):
        assert not b.has(counter), counter


def test_a_single_process_file_is_process_zero(tmp_path):
    run = load(write_json(tmp_path / "r.json", gbfake.full_run()))
    b = run.benches["dispatch/poll/fds:16/active:1"]
    assert run.processes() == 1 and b.between_spread("ns_per_event") is None
    assert b.within_cv("ns_per_event") == pytest.approx(b.cv("ns_per_event"))


def test_the_pipelines_sentinel_drift_wins_over_the_rows(tmp_path):
    doc = gbfake.full_run(sentinel=(100, 101, 100))
    doc["context"]["pollbench_sentinel_drift"] = "0.25"
    drift, points = sentinel_drift(load(write_json(tmp_path / "r.json", doc)))
    assert drift == 0.25 and len(points) == 3


# --- values no run can produce ---------------------------------------------------------------

def _fake_with(change):
    d = gbfake.Doc(reps=3, noise=0.0)
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0, "events_per_iter": 1.0})
    d.add("dispatch/poll/fds:64/active:4", {"ns_per_event": 120.0, "events_per_iter": 4.0})
    d.add("chain/poll/fds:100/active:1", {"ns_per_event": 300.0, "events_per_iter": 1001.0,
                                          "writes": 1000.0})
    doc = d.json()
    change(doc["benchmarks"])
    return doc


def test_a_valid_file_with_nan_in_gbs_cv_rows_is_accepted(tmp_path):
    # GB's cv of a counter that is always 0 is 0/0: a real run writes NaN there.
    def cv_nan(rows):
        for r in rows:
            if r.get("aggregate_name") == "cv":
                r["cpu_migrated"] = float("nan")
    run = load(write_json(tmp_path / "r.json", _fake_with(cv_nan)))
    assert run.benches["chain/poll/fds:100/active:1"].median("events_per_iter") == 1001.0


@pytest.mark.parametrize("field, value, problem", [
    ("real_time", -5.0, "real_time is negative (-5)"),
    ("cpu_time", float("nan"), "cpu_time is NaN"),
    ("time_unit", "fortnights", "unknown time unit 'fortnights' (expected ns, us, ms, s)"),
    ("ns_per_event", float("inf"), "ns_per_event is infinite"),
    ("events_per_iter", 2.0, "events_per_iter is 2 where its name says A = 4"),
    ("iterations", 0, "iterations is 0, not a positive whole number"),
])
def test_the_first_impossible_row_is_named_and_the_file_refused(tmp_path, field, value,
                                                                 problem):
    def spoil(rows):
        # Two bad rows: the second repetition of fds:64 and, later, a chain row.
        bad = [i for i, r in enumerate(rows) if r["name"] == "dispatch/poll/fds:64/active:4"]
        rows[bad[1]][field] = value
        rows[-2]["real_time"] = -1.0
    doc = _fake_with(spoil)
    first = next(i for i, r in enumerate(doc["benchmarks"])
                 if r["name"] == "dispatch/poll/fds:64/active:4") + 1
    with pytest.raises(ResultsError) as e:
        load(write_json(tmp_path / "r.json", doc))
    assert str(e.value) == (f"row {first} (dispatch/poll/fds:64/active:4): {problem}: "
                            "no run produces this, refusing the file")


def test_a_chain_row_collects_its_writes_and_a(tmp_path):
    def spoil(rows):
        for r in rows:
            if r["name"].startswith("chain/") and r.get("run_type") == "iteration":
                r["events_per_iter"] = 1.0
    with pytest.raises(ResultsError, match=r"events_per_iter is 1 where its name says A = 1 "
                       r"and writes W = 1000 \(expected W \+ A = 1001\)"):
        load(write_json(tmp_path / "r.json", _fake_with(spoil)))


def test_an_errored_row_is_not_checked(tmp_path):
    # A skipped row carries GB's zeros and no counters: nothing in it is a measurement.
    d = gbfake.Doc(reps=3, noise=0.0)
    d.add("dispatch/poll/fds:16/active:1", {"ns_per_event": 100.0, "events_per_iter": 1.0})
    d.error("dispatch/select/fds:4096/active:1", "select: fd above FD_SETSIZE")
    doc = d.json()
    for r in doc["benchmarks"]:
        if r.get("error_occurred"):
            r.pop("time_unit", None)
    assert not load(write_json(tmp_path / "r.json", doc)).benches[
        "dispatch/select/fds:4096/active:1"].ok
