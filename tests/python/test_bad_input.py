"""The bad-input matrix: runs every row of docs/bad-input.md as written and checks the exit
status, that stderr's pollbench line contains the documented text, and what the row leaves
behind. The table is parsed, not copied, so documentation and behaviour cannot drift apart."""

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "bad-input.md")
DATA = os.path.join(ROOT, "tests", "data")
ROW = re.compile(r"^\| (\d+) \| (.+?) \| `(.+?)` \| (\d) \| `(.+?)` \| (nothing|reasons|untouched) \|$")


# Google Benchmark 1.7.1 JSON as another project writes it: a memcpy benchmark at two sizes,
# aggregates included; valid output, but no pollbench registry in the context.
OTHER_PROJECT = {
    "context": {"date": "2026-11-28T07:00:00+00:00", "host_name": "box",
                "executable": "./memcpy_bench", "num_cpus": 2, "mhz_per_cpu": 2000,
                "cpu_scaling_enabled": False, "caches": [], "load_avg": [0.1, 0.1, 0.1],
                "library_build_type": "release"},
    "benchmarks": [
        dict({"name": f"BM_memcpy/{n}{agg}", "family_index": 0,
              "per_family_instance_index": i, "run_name": f"BM_memcpy/{n}",
              "run_type": "aggregate" if agg else "iteration", "repetitions": 2,
              "threads": 1, "iterations": 1000000, "real_time": t, "cpu_time": t,
              "time_unit": "ns", "bytes_per_second": n / t * 1e9},
             **({"aggregate_name": agg[1:]} if agg else {"repetition_index": 0}))
        for i, (n, t) in enumerate(((8, 2.1), (64, 5.1))) for agg in ("", "_mean")
    ],
}


# Copies of {RUN} with one value no run can produce (docs/bad-input.md): placeholder ->
# (row's run name, its repetition, field, value; None removes the field).
IMPOSSIBLE = {
    "NEGATIVE_TIME": ("dispatch/poll/fds:256/active:1", 1, "real_time", -812.0),
    "NO_UNIT": ("dispatch/epoll_lt/fds:64/active:1", 0, "time_unit", None),
    "WRONG_EVENTS": ("dispatch/poll/fds:4096/active:1", 2, "events_per_iter", 16.0),
    "NAN_COUNTER": ("dispatch/epoll_lt/fds:1024/active:1", 0, "ns_per_event", float("nan")),
    "NEGATIVE_COUNTER": ("churn/poll/fds:64", 0, "ns_per_add", -3.0),
}


def impossible(doc: dict, run_name: str, repetition: int, field: str, value) -> dict:
    rows = [dict(r) for r in doc["benchmarks"]]
    (row,) = [r for r in rows if r.get("run_name") == run_name
              and r.get("run_type") == "iteration" and r.get("repetition_index") == repetition]
    if value is None:
        del row[field]
    else:
        row[field] = value
    return dict(doc, benchmarks=rows)


def matrix_rows():
    with open(DOC, encoding="utf-8") as f:
        rows = [ROW.match(line.rstrip("\n")) for line in f]
    return [m.groups() for m in rows if m]


def test_the_matrix_has_at_least_15_rows_numbered_in_order():
    numbers = [int(r[0]) for r in matrix_rows()]
    assert len(numbers) >= 15
    assert numbers == list(range(1, len(numbers) + 1))


def snapshot(*dirs):
    state = {}
    for top in dirs:
        for base, _, files in os.walk(top):
            for name in files:
                path = os.path.join(base, name)
                with open(path, "rb") as f:
                    state[path] = hashlib.sha256(f.read()).hexdigest()
    return state


@pytest.fixture
def sandbox(tmp_path):
    """The placeholders of the table, made fresh for each row."""
    with open(os.path.join(DATA, "sweep-small.json")) as f:
        doc = json.load(f)
    inputs = tmp_path / "inputs"
    run_dir = inputs / "run"
    run_dir.mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    files = {"RUN": run_dir / "results.json", "EMPTY": inputs / "empty.json",
             "TRUNCATED": inputs / "truncated.json", "NOT_BENCH": inputs / "not-bench.json",
             "ALL_SKIPPED": inputs / "all-skipped.json", "DISJOINT_A": inputs / "a.json",
             "DISJOINT_B": inputs / "b.json", "FILE": inputs / "a-file",
             "OTHER_GB": inputs / "memcpy-bench.json"}
    shutil.copy(os.path.join(DATA, "sweep-small.json"), files["RUN"])
    shutil.copy(os.path.join(DATA, "all-skipped.json"), files["ALL_SKIPPED"])
    files["EMPTY"].write_text("")
    files["TRUNCATED"].write_bytes(files["RUN"].read_bytes()[:500])
    files["NOT_BENCH"].write_text('{"name": "not a benchmark run", "rows": []}\n')
    files["FILE"].write_text("not a directory\n")
    files["OTHER_GB"].write_text(json.dumps(OTHER_PROJECT))
    for key, prefix in (("DISJOINT_A", "dispatch/"), ("DISJOINT_B", "churn/")):
        part = dict(doc, benchmarks=[r for r in doc["benchmarks"]
                                     if r["run_name"].startswith(prefix)])
        files[key].write_text(json.dumps(part))
    for key, change in IMPOSSIBLE.items():
        files[key] = inputs / f"{key.lower()}.json"
        files[key].write_text(json.dumps(impossible(doc, *change)))
    no_mpl = tmp_path / "no-mpl"
    (no_mpl / "matplotlib").mkdir(parents=True)
    (no_mpl / "matplotlib" / "__init__.py").write_text(
        "raise ImportError('simulated: matplotlib is not installed')\n")
    values = {k: str(v) for k, v in files.items()}
    values.update(TMP=str(out), NO_MPL=str(no_mpl))
    return tmp_path, inputs, out, values


@pytest.mark.parametrize("number, what, command, code, message, leaves", matrix_rows(),
                         ids=lambda v: None)
def test_bad_input(sandbox, number, what, command, code, message, leaves):
    tmp_path, inputs, out, values = sandbox
    for key, value in values.items():
        command = command.replace("{" + key + "}", value)
    words = shlex.split(command)
    env = dict(os.environ)
    while words and "=" in words[0] and not words[0].startswith("./"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    # `taskset -c 0 ./pollbench ...`: only CPU 0 allowed, while CPU 1 is online (so that
    # CPU 1 is refused as not allowed, not as offline).
    prefix = []
    if words[0] == "taskset":
        prefix, words = words[:3], words[3:]
        if not {0, 1} <= os.sched_getaffinity(0):
            pytest.skip(f"row {number} needs CPUs 0 and 1")
    assert words[0] == "./pollbench", command
    results_before = snapshot(os.path.join(ROOT, "results"))
    # The inputs and the output directory; not no-mpl/, where Python may cache bytecode.
    before = snapshot(inputs, out)
    proc = subprocess.run([*prefix, os.path.join(ROOT, "pollbench"), *words[1:]], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    label = f"row {number} ({what}): {command}"
    assert proc.returncode == int(code), f"{label}\n{proc.stderr[-1500:]}"
    # The line that explains: from pollbench or from the benchmark binary it runs.
    lines = [l for l in proc.stderr.splitlines() if "pollbench" in l.split(":")[0]]
    assert any(message in l for l in lines), \
        f"{label}: expected a pollbench line with '{message}' in\n{proc.stderr[-1500:]}"
    # The explaining line is one line: no traceback follows it.
    assert "Traceback" not in proc.stderr, label

    after = snapshot(inputs, out)
    assert snapshot(os.path.join(ROOT, "results")) == results_before, f"{label}: wrote into results/"
    changed = {p for p in before if after.get(p) != before[p]}
    assert not changed, f"{label}: changed {sorted(changed)}"
    new = sorted(set(after) - set(before))
    stray = [p for p in new if ".partial" in p or p.endswith(".tmp")]
    assert not stray, f"{label}: half-written files left: {stray}"
    if leaves == "reasons":
        assert len(new) == 1 and new[0].endswith("/results.json"), f"{label}: {new}"
        with open(new[0]) as f:
            rows = json.load(f)["benchmarks"]
        # Beside the noise sentinel's rows, which every run keeps.
        rows = [r for r in rows if not r["name"].startswith("sentinel/")]
        assert rows and all(r.get("error_occurred") and r.get("error_message") for r in rows)
    else:
        assert not new, f"{label}: created {new}"


def test_every_run_option_has_a_bad_value_row():
    import pipeline
    commands = [r[2] for r in matrix_rows()]
    for option in pipeline.OPTIONS:
        assert any(re.search(rf"run .*{re.escape(option.flag)}[ =]", c) for c in commands), \
            option.flag
