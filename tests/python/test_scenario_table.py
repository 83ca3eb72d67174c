"""The scenario table (bench/scenario_table.cpp) as the binary writes it into the results
(pollbench_scenario_table): every registered row belongs to a scenario of the table and is
timed as its row says, and plots/scenarios.py's descriptors agree with it on the names, the
order, the name grammar (slot) and the metrics. Stdlib + pytest."""

import json
import subprocess

from benchbin import BENCH, list_names, needs_bench
import scenarios

SUFFIX = {"cpu": None, "real": "real_time", "manual": "manual_time"}


def table():
    out = subprocess.run([BENCH, "--benchmark_filter=^sentinel/roundtrip/at:0$",
                          "--benchmark_min_time=0.001", "--benchmark_repetitions=1",
                          "--benchmark_format=json"], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(json.loads(out.stdout)["context"]["pollbench_scenario_table"])


@needs_bench
def test_every_row_belongs_to_a_scenario_of_the_table_and_is_timed_as_it_says():
    rows = {s["name"]: s for s in table()}
    for args in ([], ["--pollbench_quick"], ["--benchmark_filter=^server/"]):
        for name in list_names(*args):
            parts = name.split("/")
            assert parts[0] in rows, name
            last = parts[-1] if parts[-1].endswith("_time") else None
            assert last == SUFFIX[rows[parts[0]]["timing"]], name


@needs_bench
def test_the_python_descriptors_agree_with_the_table():
    mine = table()
    assert [s["name"] for s in mine] == [s.name for s in scenarios.SCENARIOS]
    for row in mine:
        descriptor = scenarios.get(row["name"])
        assert descriptor.slot == row["slot"], row["name"]
        assert list(descriptor.metrics) == row["metrics"], row["name"]
        registered_by = row["registered_by"]
        assert registered_by is None or registered_by in [s["name"] for s in mine]
