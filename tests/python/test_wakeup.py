"""The wakeup, herd and timeout scenarios through the real build/release/pollbench-bench, with
tight filters and tiny repetitions. Structural properties only, never timings: percentiles in
order, woken waiters between 1 and W, no wait returning before its timeout. Stdlib + pytest.
"""

import json
import os
import re
import subprocess

import pytest

from benchbin import list_names, needs_bench, registry_backends
import benchbin

FAST = ["--benchmark_min_time=0.002", "--benchmark_repetitions=2",
        "--benchmark_min_warmup_time=0"]

PERCENTILES = ["min_ns", "p10_ns", "p25_ns", "p50_ns", "p75_ns", "p90_ns", "p99_ns", "p999_ns",
               "max_ns"]

# results/README.md's names, with the time-type suffix Google Benchmark appends.
WAKEUP = re.compile(r"^wakeup/(?P<backend>[a-z0-9_]+)/fds:(?P<n>\d+)/cpu:(?P<cpu>same|other)"
                    r"/manual_time$")
HERD = re.compile(r"^(?P<scenario>herd|herd_shared)/(?P<backend>[a-z0-9_]+)/waiters:(?P<w>\d+)"
                  r"/real_time$")
# timeout/<row> and raw_timeout/<path> (the bare ppoll and epoll_pwait2 waits).
TIMEOUT = re.compile(r"^(?:raw_)?timeout/(?P<backend>[a-z0-9_]+)/us:(?P<t>\d+)/manual_time$")

def bench_json(*args):
    return benchbin.bench_json(FAST, *args, timeout=240)


def iteration_rows(doc, pattern):
    return [(pattern.match(b["run_name"]), b) for b in doc["benchmarks"]
            if b["run_type"] == "iteration" and pattern.match(b["run_name"])]


def backends():
    return list(registry_backends())


@pytest.fixture(scope="module")
def wakeup_run():
    return bench_json("--benchmark_filter=^wakeup/(select|poll|epoll_lt|epoll_et|"
                      "epoll_exclusive|uring_oneshot)/fds:16/")


@pytest.fixture(scope="module")
def herd_run():
    return bench_json("--benchmark_filter=^herd(_shared)?/[a-z0-9_]+/waiters:(1|2|4)/")


@pytest.fixture(scope="module")
def timeout_run():
    return bench_json("--benchmark_filter=^(raw_)?timeout/(select|poll|epoll_lt|epoll_exclusive|"
                      "uring_oneshot|libuv|ppoll|epoll_pwait2)/us:50/")


@needs_bench
def test_wakeup_rows_have_ordered_percentiles(wakeup_run):
    rows = iteration_rows(wakeup_run, WAKEUP)
    assert rows, "no wakeup rows ran"
    ran = 0
    for m, b in rows:
        if b.get("error_occurred"):
            # Only placement may fail here: a machine with one CPU has no cpu:other.
            assert m["cpu"] == "other" and "CPU" in b["error_message"], b["error_message"]
            assert "\n" not in b["error_message"]
            continue
        ran += 1
        values = [b[k] for k in PERCENTILES]
        assert values == sorted(values), (b["run_name"], values)
        assert b["min_ns"] > 0, b["run_name"]
        assert b["samples"] > 0 and b["samples"] == b["iterations"], b["run_name"]
        # real_time is the mean latency (manual time), inside [min, max].
        assert b["min_ns"] <= b["real_time"] <= b["max_ns"] * 1.0001, b["run_name"]
    assert ran >= 6


@needs_bench
def test_wakeup_covers_every_backend_from_16_to_the_top_and_both_placements():
    names = set(list_names())
    top = max(int(WAKEUP.match(n)["n"]) for n in names if WAKEUP.match(n))
    assert top >= 1000
    for backend in backends():
        for n, cpu in ((16, "other"), (16, "same"), (1000, "other"), (top, "other")):
            assert f"wakeup/{backend}/fds:{n}/cpu:{cpu}/manual_time" in names


@needs_bench
def test_a_row_says_how_many_cpus_its_threads_were_on(wakeup_run, herd_run):
    # cpus_used is what compare reads to tell the host's cross-CPU cost from the code's
    # (plots/compare.py): 1 where driver and waiter share a CPU, 2 where they do not.
    rows = iteration_rows(wakeup_run, WAKEUP)
    assert {m["cpu"] for m, _ in rows} == {"same", "other"}
    for m, b in rows:
        assert b["cpus_used"] == (1 if m["cpu"] == "same" else 2), b["run_name"]
    # Unpinned, the herd's waiters may run on every CPU the process may.
    allowed = len(os.sched_getaffinity(0))
    assert all(b["cpus_used"] == allowed for _, b in iteration_rows(herd_run, HERD))


@needs_bench
def test_the_cross_cpu_sentinel_is_a_round_trip_between_two_cpus():
    doc = bench_json("--benchmark_filter=^sentinel/(roundtrip|cross_cpu)/at:0$")
    rows = {b["run_name"]: b for b in doc["benchmarks"] if b["run_type"] == "iteration"}
    assert set(rows) == {"sentinel/roundtrip/at:0", "sentinel/cross_cpu/at:0"}
    cross = rows["sentinel/cross_cpu/at:0"]
    assert not cross.get("error_occurred"), cross.get("error_message")
    assert cross["ns_per_roundtrip"] > 0 and cross["cpus_used"] == 2
    assert "cpus_used" not in rows["sentinel/roundtrip/at:0"]
    # With one CPU there is no other to wake: skipped, with the reason.
    one = subprocess.run([benchbin.BENCH, *FAST, "--benchmark_format=json",
                          "--benchmark_filter=^sentinel/cross_cpu/at:0$"],
                         capture_output=True, text=True, timeout=120, check=True,
                         preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    skipped = json.loads(one.stdout)["benchmarks"][0]
    assert skipped["error_occurred"] and "needs a second CPU" in skipped["error_message"]


@needs_bench
def test_select_beyond_its_reach_skips_with_reason():
    doc = bench_json("--benchmark_filter=^wakeup/select/fds:8192/cpu:same",
                     "--pollbench_fds=8192")
    rows = doc["benchmarks"]
    assert rows
    for row in rows:
        assert row["error_occurred"] is True
        assert "1023" in row["error_message"] and "\n" not in row["error_message"]


@needs_bench
def test_herd_wakes_between_one_and_all_waiters(herd_run):
    rows = iteration_rows(herd_run, HERD)
    variants = {(m["scenario"], m["backend"]) for m, _ in rows}
    # herd's rule (results/README.md): the level-triggered, not one-shot, non-library rows —
    # today select, poll, epoll_lt and epoll_exclusive.
    registry = json.loads(herd_run["context"]["pollbench_registry"])
    herd = {("herd", r["name"]) for r in registry
            if not r["edge_triggered"] and not r["one_shot"] and not r["wraps"]}
    assert {("herd", "select"), ("herd", "epoll_exclusive")} <= herd
    assert variants == herd | {("herd_shared", "epoll_lt"), ("herd_shared", "epoll_et")}
    for m, b in rows:
        assert not b.get("error_occurred"), b.get("error_message")
        w = int(m["w"])
        assert 1 <= b["woken_per_event"] <= w, (b["run_name"], b["woken_per_event"])
        if w == 1:
            assert b["woken_per_event"] == 1, b["run_name"]
        assert b["first_return_ns"] > 0, b["run_name"]
        assert b["rounds"] == b["iterations"], b["run_name"]


@needs_bench
def test_timeouts_never_return_early(timeout_run):
    rows = iteration_rows(timeout_run, TIMEOUT)
    assert {m["backend"] for m, _ in rows} >= {"select", "poll", "epoll_lt", "ppoll",
                                               "epoll_pwait2"}
    for m, b in rows:
        if b.get("error_occurred"):
            # epoll_pwait2 needs Linux 5.11; anything else must run.
            assert m["backend"] == "epoll_pwait2", b["error_message"]
            continue
        for k in ("late_p50_ns", "late_p99_ns", "late_max_ns", "late_mean_ns"):
            assert b[k] >= 0, (b["run_name"], k, b[k])
        assert b["late_p50_ns"] <= b["late_p99_ns"] <= b["late_max_ns"], b["run_name"]
        # A wait that came back early is waited out and counted; a path whose every wait came
        # back early would be rounding its timeout down.
        assert b["interrupted"] < b["iterations"], b["run_name"]
        # real_time is the mean wait: T plus the mean lateness.
        t_ns = int(m["t"]) * 1000
        assert b["real_time"] == pytest.approx(t_ns + b["late_mean_ns"], rel=1e-3)


@needs_bench
def test_context_names_the_clock_and_the_timer_slack(timeout_run):
    context = timeout_run["context"]
    assert context["pollbench_clock"] == "CLOCK_MONOTONIC"
    assert re.fullmatch(r"\d+|unknown", context["pollbench_timer_slack_ns"])


@needs_bench
def test_groups_run_in_order_between_sentinels():
    # The scenario table's order: each scenario that registers rows (its rows and those of the
    # scenarios it registers, as registered_by says) followed by a sentinel row.
    table = benchbin.scenario_table()
    group_of = {s["name"]: s["registered_by"] or s["name"] for s in table}
    expected = ["sentinel"]
    for s in table:
        if s["registered_by"] is None and s["name"] != "sentinel":
            expected += [s["name"], "sentinel"]
    for args in ([], ["--pollbench_quick"]):
        names = list_names(*args)
        groups = []
        for n in names:
            scenario = group_of[n.split("/")[0]]
            if not groups or groups[-1] != scenario:
                groups.append(scenario)
        assert groups == expected, args


@needs_bench
def test_quick_has_a_point_of_every_new_scenario():
    names = list_names("--pollbench_quick")
    for pattern in (WAKEUP, HERD, TIMEOUT):
        assert any(pattern.match(n) for n in names), pattern.pattern
    assert any(n.startswith("herd/epoll_exclusive/") for n in names)
    assert any(n.startswith("herd_shared/epoll_et/") for n in names)
    assert any(n.startswith("raw_timeout/epoll_pwait2/") for n in names)
