"""The fakes against the real binary: gbfake's names and tests/data's registry must be ones
the built pollbench-bench produces, so no test asserts something the suite cannot write."""

import json
import os
import subprocess

import pytest

import gbfake
from benchbin import BENCH, needs_bench
from conftest import DATA


def _names(*args):
    out = subprocess.run([BENCH, "--benchmark_list_tests", *args], capture_output=True,
                         text=True, timeout=60)
    return set(out.stdout.split()) if out.returncode == 0 else set()


@pytest.fixture(scope="module")
def real_names():
    """Every name of the full and the quick sweep, and the full grid (which a run that names
    its rows with a filter registers: every power of two, churn's six sizes, the server's)."""
    names = _names() | _names("--pollbench_quick") | _names("--benchmark_filter=.")
    assert names, "pollbench-bench --benchmark_list_tests listed nothing"
    return names


def _fake_names():
    docs = {"full_run": gbfake.full_run(), "everything_run": gbfake.everything_run(),
            "latency_run": gbfake.latency_run(), "server_run": gbfake.server_run(),
            "multi-process full_run": gbfake.full_run(processes=3)}
    return {(label, row["name"]) for label, doc in docs.items() for row in doc["benchmarks"]
            if row.get("run_type") == "iteration"}


@needs_bench
def test_every_fake_name_is_one_the_binary_registers(real_names):
    unknown = sorted({f"{name} (gbfake.{label})" for label, name in _fake_names()
                      if name not in real_names})
    assert not unknown, "gbfake makes names the binary cannot: " + ", ".join(unknown[:10])


@needs_bench
@pytest.mark.parametrize("path", sorted(f for f in os.listdir(DATA) if f.endswith("-small.json")
                                        or f in ("aggregates-only.json", "all-skipped.json")))
def test_every_name_in_the_real_data_is_one_the_binary_registers(real_names, path):
    with open(os.path.join(DATA, path)) as f:
        doc = json.load(f)
    names = {r.get("run_name") or r["name"] for r in doc["benchmarks"]}
    assert not sorted(names - real_names)


def test_the_fake_skips_where_the_registry_limits_the_fds():
    # select accepts fds up to 1023 and a pool starts a few fds up: N = 1,024 is refused.
    doc = gbfake.full_run()
    rows = {r["name"]: r for r in doc["benchmarks"] if r.get("run_type") == "iteration"}
    assert rows["dispatch/select/fds:1024/active:1"].get("error_occurred")
    assert not rows["dispatch/select/fds:1000/active:1"].get("error_occurred")
    assert not rows["dispatch/poll/fds:8192/active:1"].get("error_occurred")
    herd = [r["run_name"] for r in gbfake.latency_run()["benchmarks"]
            if r["run_name"].startswith("herd")]
    assert herd and all(n.endswith("/real_time") for n in herd)  # as the binary names them


@needs_bench
def test_the_registry_in_tests_data_is_the_binarys():
    out = subprocess.run([BENCH, "--benchmark_filter=sentinel", "--benchmark_format=json",
                          "--benchmark_min_time=0.001", "--benchmark_repetitions=1"],
                         capture_output=True, text=True, timeout=120, check=True)
    ctx = json.loads(out.stdout)["context"]
    real = json.loads(ctx["pollbench_registry"])
    # What differs by machine or by --backend is not part of the table.
    local = ("available", "unavailable_reason", "measured")
    strip = [{k: v for k, v in r.items() if k not in local} for r in real]
    # Every row of the test data is the binary's row of that name, in the binary's order; a
    # row added to the registry since the data was made is not in it, and need not be.
    data = [{k: v for k, v in r.items() if k not in local} for r in gbfake.REGISTRY]
    names = [r["name"] for r in data]
    assert [r for r in strip if r["name"] in names] == data
    for r in real:
        assert set(local) <= set(r), r["name"]
