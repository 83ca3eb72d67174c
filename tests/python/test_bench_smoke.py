"""Benchmark smoke run: every registered scenario x backend row at a small N, one short
repetition, must either produce its counters or skip with a one-line reason — and the binary
must end with the descriptors it started with (it checks /proc/self/fd and exits 3 if not).
Not timed. Stdlib + pytest."""

import json
import os
import subprocess

import pytest

from benchbin import BENCH, registry_backends

# The counters each scenario must report (results/README.md); scenarios not listed here must
# report at least one counter.
SPLIT = {"user_ns_per_event", "sys_ns_per_event", "vcsw_per_event", "ivcsw_per_event"}
WAITER_SPLIT = {"waiter_user_ns_per_sample", "waiter_sys_ns_per_sample",
                "waiter_vcsw_per_sample", "waiter_ivcsw_per_sample"}
COUNTERS = {
    "dispatch": {"ns_per_event", "events_per_iter", "waits_per_iter"} | SPLIT,
    "raw": {"ns_per_event", "events_per_iter", "waits_per_iter"} | SPLIT,
    "chain": {"ns_per_event", "events_per_iter", "writes"} | SPLIT,
    "wakeup": {"p50_ns", "samples"} | WAITER_SPLIT,
    "churn": {"ns_per_add", "ns_per_remove", "ns_per_add_call", "ns_per_remove_call",
              "ns_per_wait_after_adds", "ns_per_wait_after_removes"},
    "sentinel": {"ns_per_roundtrip"},
}
GB_FIELDS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
             "repetitions", "repetition_index", "threads", "iterations", "real_time",
             "cpu_time", "time_unit", "error_occurred", "error_message"}


@pytest.fixture(scope="module")
def smoke_rows(tmp_path_factory):
    if not os.access(BENCH, os.X_OK):
        pytest.fail("build/release/pollbench-bench is not built (./pollbench test builds it)")
    out = tmp_path_factory.mktemp("smoke") / "smoke.json"
    proc = subprocess.run(
        [BENCH, "--pollbench_fds=16", "--pollbench_active=1,4", "--benchmark_min_time=0.0001",
         "--benchmark_min_warmup_time=0", "--benchmark_repetitions=1",
         f"--benchmark_out={out}", "--benchmark_out_format=json"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out) as f:
        return json.load(f)["benchmarks"]


def test_every_scenario_and_backend_ran(smoke_rows):
    names = {row["run_name"] for row in smoke_rows}
    scenarios = {name.split("/")[0] for name in names}
    assert {"dispatch", "raw", "chain", "churn", "sentinel"} <= scenarios
    backends = set(registry_backends())
    assert len(backends) >= 4
    for backend in backends:
        assert f"dispatch/{backend}/fds:16/active:1" in names, backend


def test_every_row_has_its_counters_or_a_one_line_reason(smoke_rows):
    for row in smoke_rows:
        if row.get("error_occurred"):
            reason = row.get("error_message", "")
            assert reason and "\n" not in reason, row["name"]
            continue
        counters = {k for k in row if k not in GB_FIELDS and isinstance(row[k], (int, float))}
        wanted = COUNTERS.get(row["run_name"].split("/")[0])
        if wanted is None:
            assert counters, f"{row['name']}: no counters"
        else:
            assert wanted <= counters, f"{row['name']}: missing {wanted - counters}"
        assert row["iterations"] >= 1


def test_churn_charges_each_operation_its_share_of_the_wait_after_its_batch(smoke_rows):
    # ns_per_add = the add calls + the wait after them, per add (results/README.md): an
    # identity between the counters of one repetition, not a timing.
    churn = [r for r in smoke_rows
             if r["run_name"].startswith("churn/") and not r.get("error_occurred")]
    assert churn
    for row in churn:
        n = int(row["run_name"].rsplit("fds:", 1)[1])
        for op, batch in (("add", "adds"), ("remove", "removes")):
            parts = row[f"ns_per_{op}_call"] + row[f"ns_per_wait_after_{batch}"] / n
            assert row[f"ns_per_{op}"] == pytest.approx(parts, rel=1e-9), (row["name"], op)
            assert row[f"ns_per_wait_after_{batch}"] > 0, (row["name"], op)


def test_only_select_beyond_its_reach_or_unavailable_backends_skip(smoke_rows):
    # At 16 fds nothing is out of reach: a skip here means a backend is unavailable here,
    # and its reason must say so (not a failure mid-row).
    for row in smoke_rows:
        if row.get("error_occurred"):
            assert "lost" not in row["error_message"], row
            assert "failed" not in row["error_message"].lower() or "unavailable" in \
                row["error_message"].lower() or "disabled" in row["error_message"].lower(), row


def test_the_time_split_fits_in_the_time_it_splits(smoke_rows):
    # Not a timing: one thread cannot use more CPU than the wall time it was timed over (its
    # CPU window holds its wall window and two readings more: the slack), and a waiter that was
    # woken from its sleep once per sample slept at least once per sample.
    checked = 0
    for row in smoke_rows:
        scenario = row["run_name"].split("/")[0]
        if row.get("error_occurred") or scenario not in ("dispatch", "raw", "chain", "wakeup"):
            continue
        if scenario == "wakeup":
            assert row["waiter_vcsw_per_sample"] >= 0.5, row["name"]
            continue
        events = row["events_per_iter"] * row["iterations"]
        cpu = (row["user_ns_per_event"] + row["sys_ns_per_event"]) * events
        assert cpu <= 1.1 * row["ns_per_event"] * events + 50_000, row["name"]
        assert cpu > 0, row["name"]
        checked += 1
    assert checked >= 10
