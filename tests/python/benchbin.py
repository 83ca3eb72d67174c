"""What the tests of the benchmark binary share: where the built programs are, running
pollbench-bench, and reading the backend table that `pollbench list` prints. Stdlib + pytest.
"""

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "build", "release", "pollbench-bench")
LIST = os.path.join(ROOT, "build", "release", "pollbench-list")
POLLBENCH = os.path.join(ROOT, "pollbench")

needs_bench = pytest.mark.skipif(not os.access(BENCH, os.X_OK),
                                 reason="build/release/pollbench-bench not built")


def bench_json(fast, *args, timeout):
    """pollbench-bench's JSON for these flags (fast: the caller's short-run flags)."""
    out = subprocess.run([BENCH, *fast, "--benchmark_format=json", *args],
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout)


def list_names(*args):
    out = subprocess.run([BENCH, "--benchmark_list_tests", *args],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def scenario_table():
    """The scenario table (bench/scenario_table.cpp) as the binary writes it into its results
    (pollbench_scenario_table): [{"name", "slot", "timing", "metrics", "registered_by"}, ...]
    in registration order."""
    doc = bench_json(["--benchmark_min_time=0.001", "--benchmark_repetitions=1"],
                     "--benchmark_filter=^sentinel/roundtrip/at:0$", timeout=120)
    return json.loads(doc["context"]["pollbench_scenario_table"])


def backend_table(text):
    """{backend: "yes" | "no"} from `pollbench list`'s output (caveat lines are skipped)."""
    rows = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) > 2 and not line.startswith(" ") and words[1] in ("yes", "no"):
            rows[words[0]] = words[1]
    return rows


def registry_backends():
    """Every registry row, as pollbench-list prints it."""
    out = subprocess.run([LIST], capture_output=True, text=True, timeout=60, check=True)
    return backend_table(out.stdout)
