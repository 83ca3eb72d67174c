"""The harness side of the benchmark scenarios (not timed): counters consistent with the row's
parameters, skipped rows carrying their reason, results.json valid with the metadata, and
`./pollbench run` / `bench` behaving at the front door. Runs the real
build/release/pollbench-bench with tiny filters and very short repetitions. Stdlib + pytest.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from benchbin import POLLBENCH, list_names, needs_bench
import benchbin
import pipeline
from pbresults import GB_NAME_SUFFIXES, parse_name

FAST = ["--benchmark_min_time=0.001", "--benchmark_repetitions=2",
        "--benchmark_min_warmup_time=0"]

CONTEXT_KEYS = [
    "pollbench_kernel", "pollbench_cpu_model", "pollbench_cores", "pollbench_cpu_governor",
    "pollbench_mitigations", "pollbench_rlimit_nofile", "pollbench_fd_kind", "pollbench_compiler",
    "pollbench_cxx_flags", "pollbench_benchmark_version", "pollbench_fmt_version",
    "pollbench_git_commit", "pollbench_hostname", "pollbench_max_pairs",
]

# results/README.md's grammar, checked on names split by pbresults.parse_name (the one parser
# of names on the Python side): scenario -> (its parameters in name order, the slot's kind, the
# time type Google Benchmark appends). A scenario of the scenario table without an entry here is
# checked against its table row (grammar_problem).
GRAMMAR = {
    "dispatch": (("fds", "active"), "registry", None),
    "chain": (("fds", "active"), "registry", None),
    "raw": (("fds", "active"), "raw", None),
    "churn": (("fds",), "registry", None),
    "wakeup": (("fds", "cpu"), "registry", "manual_time"),
    "herd": (("waiters",), "registry", "real_time"),
    "herd_shared": (("waiters",), "herd_shared", "real_time"),
    "timeout": (("us",), "timeout", "manual_time"),
    "raw_timeout": (("us",), "raw_timeout", "manual_time"),
    "sentinel": (("at",), "sentinel", None),
    "timerfd": (("us",), "registry", "manual_time"),
    "signal": (("via",), "registry", "manual_time"),
    "server": (("idle", "conns"), "loop", "manual_time"),
}
# Parameters a scenario's rows may add after GRAMMAR's (wakeup's own wake descriptor), and the
# parameters whose value is a word, with the words allowed.
OPTIONAL_PARAMS = {"wakeup": ("wake",)}
# Rows of the same scenario with other parameters: the server's fixed-rate rows (they run a
# fixed number of windows, which Google Benchmark writes into the name as iterations:<n>, a
# suffix of its own that parse_name drops like /manual_time).
OTHER_PARAMS = {"server": (("idle", "rate"),)}
WORD_PARAMS = {"cpu": {"same", "other"}, "via": {"signalfd", "selfpipe"},
               "wake": {"eventfd", "pipe", "socketpair"}}
RAW_MECHANISMS = {"select", "poll", "epoll", "uring_poll"}
RAW_TIMEOUT_PATHS = {"ppoll", "epoll_pwait2"}


# A scenario of the scenario table without a GRAMMAR entry: its slot's kind and its suffix from
# its row, any parameters (whole numbers, or words of WORD_PARAMS).
SLOT_KIND = {"row": "registry", "raw": "raw", "path": "any", "loop": "loop"}
SUFFIX = {"cpu": None, "real": "real_time", "manual": "manual_time"}


def grammar_problem(name, registry, raw_timeout_scenario, engines=frozenset(), table=()):
    """Why a benchmark name is outside the grammar, or None. `table`: the scenario table
    (benchbin.scenario_table()), for the scenarios GRAMMAR does not name."""
    parsed = parse_name(name)
    rows = {s["name"]: s for s in table}
    if parsed.scenario in GRAMMAR:
        keys, slot, suffix = GRAMMAR[parsed.scenario]
    elif parsed.scenario in rows:
        row = rows[parsed.scenario]
        keys = tuple(k for k, _ in parsed.params)
        slot, suffix = SLOT_KIND[row["slot"]], SUFFIX[row["timing"]]
    else:
        return "unknown scenario"
    own = "/".join(seg for seg in name.split("/")
                   if seg.partition(":")[0] not in GB_NAME_SUFFIXES or ":" not in seg)
    if own != parsed.key + (f"/{suffix}" if suffix else ""):
        return "segments outside the grammar"
    got = tuple(k for k, _ in parsed.params)
    if got != keys and got != keys + OPTIONAL_PARAMS.get(parsed.scenario, ("-",)) \
            and got not in OTHER_PARAMS.get(parsed.scenario, ()):
        return f"parameters {parsed.params}, expected {keys}"
    for key, value in parsed.params:
        if key in WORD_PARAMS:
            if value not in WORD_PARAMS[key]:
                return f"{key} is not one of {sorted(WORD_PARAMS[key])}"
        elif not isinstance(value, int) or value < 0:
            return f"{key} is not a whole number"
    # The bare timeout paths have their own scenario once raw_timeout exists.
    slots = {"registry": registry, "raw": RAW_MECHANISMS, "raw_timeout": RAW_TIMEOUT_PATHS,
             "herd_shared": {"epoll_lt", "epoll_et"},
             "timeout": registry if raw_timeout_scenario else registry | RAW_TIMEOUT_PATHS,
             "sentinel": {"roundtrip", "cross_cpu"}, "loop": registry | engines,
             "any": {parsed.backend}}[slot]
    if parsed.backend not in slots:
        return f"slot '{parsed.backend}' is not one of {sorted(slots)}"
    return None


def server_engines():
    """The server engines, as pollbench-server lists its loops (registry rows first)."""
    out = subprocess.run([os.path.join(os.path.dirname(benchbin.BENCH), "pollbench-server"),
                          "loops"], capture_output=True, text=True, timeout=60, check=True)
    registry = set(benchbin.registry_backends())
    return frozenset(line.split()[0] for line in out.stdout.splitlines()
                     if line.split()[0] not in registry)


def bench_json(*args):
    return benchbin.bench_json(FAST, *args, timeout=120)


def params(name):
    return dict(parse_name(name).params)


@pytest.fixture(scope="module")
def small_run():
    # One row of each scenario, an A > 1 row, and a select row beyond FD_SETSIZE.
    return bench_json(
        "--benchmark_filter=^(dispatch/(poll|epoll_lt|epoll_et|select)/fds:16/active:1"
        "|raw/(poll|epoll|select)/fds:16/active:1|dispatch/poll/fds:4096/active:16"
        "|raw/epoll/fds:4096/active:16|chain/(epoll_et|poll)/fds:100/active:1"
        "|churn/(poll|epoll_lt)/fds:16|sentinel/roundtrip/at:0"
        "|(raw|dispatch)/select/fds:1024/active:1)$")


def iteration_rows(doc):
    return [b for b in doc["benchmarks"] if b["run_type"] == "iteration"]


@needs_bench
def test_names_follow_the_grammar():
    grid = list_names("--benchmark_filter=^server/")  # the server's full grid, rate rows too
    table = benchbin.scenario_table()
    bad = [(n, grammar_problem(n, set(benchbin.registry_backends()), True, server_engines(),
                               table)) for n in grid]
    assert grid and not [b for b in bad if b[1]], bad[:5]
    for args in ([], ["--pollbench_quick"]):
        names = list_names(*args)
        assert names, "no benchmarks registered"
        assert len(names) == len(set(names)), "duplicate benchmark names"
        registry = set(benchbin.registry_backends())
        raw_timeout = any(parse_name(n).scenario == "raw_timeout" for n in names)
        bad = [(n, grammar_problem(n, registry, raw_timeout, server_engines(), table))
               for n in names]
        bad = [b for b in bad if b[1]]
        assert not bad, f"names outside results/README.md's grammar: {bad[:5]}"
        for n in names:
            p = params(n)
            if "active" in p:
                assert 1 <= p["active"] <= p["fds"], n
        # the sentinel's two gauges bracket the sweep
        assert names[:2] == ["sentinel/roundtrip/at:0", "sentinel/cross_cpu/at:0"]
        last = parse_name(names[-1]).get("at")
        assert names[-2:] == [f"sentinel/roundtrip/at:{last}", f"sentinel/cross_cpu/at:{last}"]


@needs_bench
def test_default_sweep_shape():
    names = set(list_names())
    for backend in ("select", "poll", "epoll_lt"):
        assert f"dispatch/{backend}/fds:256/active:1" in names
    for raw in ("select", "poll", "epoll"):
        assert f"raw/{raw}/fds:256/active:1" in names
    for backend in ("poll", "epoll_lt"):
        assert f"dispatch/{backend}/fds:8192/active:1" in names
        assert f"dispatch/{backend}/fds:4096/active:4096" in names
    assert "dispatch/select/fds:1000/active:1000" in names
    for n in (1000, 9000):
        assert f"chain/epoll_lt/fds:{n}/active:1" in names
    # Left out for the time budget, there with a filter (sweep.hpp, use_full_grid).
    assert "dispatch/poll/fds:512/active:1" not in names
    assert "chain/epoll_lt/fds:5000/active:1" not in names
    assert "churn/poll/fds:64" not in names
    grid = set(list_names("--benchmark_filter=^(dispatch|chain|churn)/poll/"))
    assert {"dispatch/poll/fds:512/active:1", "dispatch/poll/fds:2048/active:1",
            "chain/poll/fds:5000/active:1", "churn/poll/fds:64", "churn/poll/fds:4096"} <= grid


@needs_bench
def test_events_per_iteration_equal_active(small_run):
    rows = [b for b in iteration_rows(small_run)
            if b["name"].startswith(("dispatch/", "raw/")) and not b.get("error_occurred")]
    assert len(rows) >= 2 * 9
    for b in rows:
        p = params(b["name"])
        assert b["events_per_iter"] == p["active"], b["name"]
        assert b["waits_per_iter"] >= 1, b["name"]
        assert b["ns_per_event"] > 0, b["name"]
        # ns_per_event is wall time per event, timed around the same loop as real_time (so
        # never below it, whatever the machine's load) and divided by A, not per iteration.
        # Only this direction is structural: a descheduling between the two clock reads
        # may make it larger, so no upper bound is asserted.
        assert b["ns_per_event"] >= 0.75 * b["real_time"] / p["active"], b["name"]


@needs_bench
def test_chain_counts_writes_plus_active(small_run):
    rows = [b for b in iteration_rows(small_run) if b["name"].startswith("chain/")]
    assert rows
    for b in rows:
        assert not b.get("error_occurred"), b.get("error_message")
        assert b["writes"] == 1000
        assert b["events_per_iter"] == b["writes"] + params(b["name"])["active"]
        assert b["ns_per_event"] > 0


@needs_bench
def test_churn_and_sentinel_counters(small_run):
    rows = iteration_rows(small_run)
    churn = [b for b in rows if b["name"].startswith("churn/")]
    assert churn and all(b["ns_per_add"] > 0 and b["ns_per_remove"] > 0 for b in churn)
    sentinel = [b for b in rows if b["name"].startswith("sentinel/")]
    assert sentinel and all(b["ns_per_roundtrip"] > 0 for b in sentinel)


@needs_bench
def test_select_beyond_fd_setsize_is_skipped_with_reason(small_run):
    skipped = [b for b in small_run["benchmarks"] if "/select/fds:1024/" in b["name"]]
    assert skipped, "the select rows at 1,024 fds did not run"
    for b in skipped:
        assert b.get("error_occurred") is True
        message = b.get("error_message", "")
        assert "select" in message and "1023" in message and "\n" not in message


@needs_bench
def test_aggregates_and_metadata(small_run):
    aggregates = {b["aggregate_name"] for b in small_run["benchmarks"]
                  if b["run_type"] == "aggregate"}
    assert {"mean", "median", "stddev", "cv"} <= aggregates
    context = small_run["context"]
    for key in CONTEXT_KEYS:
        assert isinstance(context.get(key), str) and context[key], key
    assert context["pollbench_fd_kind"] == "socketpair"
    assert int(context["pollbench_max_pairs"]) > 0
    assert int(context["pollbench_cores"]) >= 1


# --- the front door -------------------------------------------------------------------------

def pollbench(*args, timeout=300):
    return subprocess.run([POLLBENCH, *args], capture_output=True, text=True, timeout=timeout)


@needs_bench
def test_bench_stdout_is_only_json():
    out = pollbench("bench", "--benchmark_filter=^sentinel/roundtrip/at:0$", *FAST,
                    "--benchmark_format=json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["benchmarks"][0]["run_name"] == "sentinel/roundtrip/at:0"


@needs_bench
def test_run_writes_a_complete_results_directory(tmp_path):
    names = ["sentinel/roundtrip/at:0", "raw/epoll/fds:16/active:1"]
    out = pollbench("run", "--quick", "--filter", "^(sentinel/roundtrip/at:0|raw/epoll/fds:16/active:1)$",
                    "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (run_dir,) = list(tmp_path.iterdir())
    assert re.match(r"^\d{8}-\d{6}-[A-Za-z0-9._-]+$", run_dir.name)
    files = {p.name for p in run_dir.iterdir()}
    assert "results.json" in files and "summary.txt" in files and "summary.md" in files
    assert not [f for f in files if "partial" in f]
    doc = json.loads((run_dir / "results.json").read_text())
    for key in CONTEXT_KEYS + ["pollbench_sentinel_ns_per_roundtrip", "pollbench_sentinel_drift"]:
        assert key in doc["context"], key
    assert doc["context"]["pollbench_sweep"] == "quick"
    # P processes of R interleaved repetitions each, merged: every row says its process
    plan = pipeline.sweep_plan(benchbin.BENCH, pipeline.parse_args(["--quick"]))
    processes, repetitions = plan.processes, plan.repetitions
    assert doc["context"]["pollbench_processes"] == str(processes)
    assert doc["context"]["pollbench_repetitions_per_process"] == str(repetitions)
    assert doc["context"]["pollbench_interleaving"] == "random"
    assert "--benchmark_enable_random_interleaving=true" in \
        doc["context"]["pollbench_benchmark_flags"]
    rows = doc["benchmarks"]
    assert all(r["run_type"] == "iteration" for r in rows)
    for name in names:
        mine = [r["pollbench_process"] for r in rows if r["name"] == name]
        assert sorted(mine) == [p for p in range(processes) for _ in range(repetitions)], name
    assert f"{processes} processes × {repetitions} repetitions, interleaved" in out.stderr
    assert f"results written to {run_dir}/results.json" in out.stdout


@needs_bench
def test_run_takes_the_number_of_processes(tmp_path):
    out = pollbench("run", "--quick", "--processes", "2", "--cpu", "none", "--filter",
                    "^sentinel/roundtrip/at:0$", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (results,) = tmp_path.glob("*/results.json")
    doc = json.loads(results.read_text())
    assert doc["context"]["pollbench_processes"] == "2"
    assert {r["pollbench_process"] for r in doc["benchmarks"]} == {0, 1}
    assert "2 processes" in out.stderr and "not pinned" in out.stderr


@needs_bench
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_run_counts_the_syscalls_over_its_fd_kind(tmp_path):
    # The syscall counts of a --fd-kind pipe run are made over pipes, as its rows are.
    out = pollbench("run", "--quick", "--fd-kind", "pipe", "--processes", "1", "--filter",
                    "^chain/(epoll_lt|libevent_epoll)/fds:100/active:1$", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    (results,) = tmp_path.glob("*/results.json")
    context = json.loads(results.read_text())["context"]
    assert context["pollbench_fd_kind"] == "pipe"
    counted = json.loads(context["pollbench_syscalls"])
    assert counted["fd_kind"] == "pipe"
    assert set(counted["rows"]) | set(counted["skipped"]) == {"epoll_lt", "libevent_epoll"}


@needs_bench
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
@pytest.mark.parametrize("kind, made", [("pipe", "pipe2"), ("socketpair", "socketpair")])
def test_the_syscall_tool_polls_the_fd_kind_it_is_given(tmp_path, kind, made):
    tool = os.path.join(os.path.dirname(benchbin.BENCH), "pollbench-syscalls")
    log = tmp_path / "trace"
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), tool, f"--fd-kind={kind}", "poll",
                    "16", "1", "20"], check=True, capture_output=True, timeout=60)
    calls = re.findall(r"^\d*\s*([a-z0-9_]+)\(", log.read_text(), re.M)
    # its 16 pairs (the harness may make a pipe or two of its own besides)
    assert calls.count(made) >= 16
    if kind == "pipe":
        assert "socketpair" not in calls


@pytest.mark.parametrize("args, message", [
    (["run", "--bogus"], "unknown argument '--bogus'"),
    (["run", "--filter", "no-such-benchmark"], "matches no benchmark"),
    (["run", "--filter", "("], "matches no benchmark"),
    (["run", "--filter", "sentinel", "--out", "/proc/pollbench-cannot-write"], "results directory"),
    (["run", "--processes", "0"], "--processes: '0' is not a positive whole number"),
    (["run", "--processes"], "--processes needs a number of processes"),
    (["run", "--cpu", ""], "--cpu needs a CPU list"),
])
@needs_bench
def test_run_bad_input_is_one_line_and_exit_2(args, message):
    out = pollbench(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("sig, code, name, process", [(signal.SIGINT, 130, "SIGINT", 0),
                                                      (signal.SIGTERM, 143, "SIGTERM", 0),
                                                      (signal.SIGTERM, 143, "SIGTERM", 1)])
@needs_bench
def test_interrupted_run_leaves_no_results(tmp_path, sig, code, name, process):
    # Its own process group, like a terminal's foreground job: Ctrl-C reaches the whole group.
    # SIGINT back to its default first: a shell started in the background (as CI or a
    # chroot may start this test) ignores SIGINT, and bash cannot trap a signal ignored on entry.
    # In the second process, the first one's complete output must go too.
    args = ["--filter", "^(dispatch|raw)/(poll|epoll_lt|epoll)/"] if process else []
    proc = subprocess.Popen([POLLBENCH, "run", "--quick", *args, "--out", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.name == f".process-{process}.json.partial" for p in tmp_path.glob("*/*")):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"the run never started process {process + 1}")
    time.sleep(0.5)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"interrupted by {name}" in err
    # nothing left: no results.json, no partial file, not even the run's directory
    assert not list(tmp_path.iterdir())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@needs_bench
def test_a_filter_for_one_scenario_keeps_the_noise_sentinel():
    # `./pollbench run --filter '^churn/'` measures churn's rows between the sentinel's, whose
    # readings summary.md's noise warning needs.
    names = pipeline.list_benchmarks(benchbin.BENCH, pipeline.Options(filter="^churn/"))
    assert {n.split("/")[0] for n in names} == {"churn", "sentinel"}
    assert names[0].startswith("sentinel/") and names[-1].startswith("sentinel/")
    # Google Benchmark's negative filter is passed as given (it keeps the sentinel itself).
    assert pipeline.Options(filter="-^server/").bench_filter() == "-^server/"
    # A filter that matches nothing but the sentinel still matches nothing.
    with pytest.raises(pipeline.RunError, match="matches no benchmark"):
        pipeline.list_benchmarks(benchbin.BENCH, pipeline.Options(filter="^nothing/"))
