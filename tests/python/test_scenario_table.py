"""The scenario table (bench/scenario_table.cpp) as the binary writes it into the results
(pollbench_scenario_table): every registered row belongs to a scenario of the table and is
timed as its row says, and plots/scenarios.py's descriptors agree with it on the names, the
order, the name grammar (slot) and the metrics. Stdlib + pytest."""

from benchbin import list_names, needs_bench, scenario_table as table
import scenarios

SUFFIX = {"cpu": None, "real": "real_time", "manual": "manual_time"}


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
    # A scenario of the table needs no descriptor (plots/ reads its slot and metrics from the
    # run); every descriptor is of a scenario of the table, in the table's order.
    mine = table()
    names = [s["name"] for s in mine]
    described = [s.name for s in scenarios.SCENARIOS]
    assert [n for n in names if n in described] == described
    for row in mine:
        descriptor = scenarios.get(row["name"])
        if descriptor is None:
            continue
        assert descriptor.slot == row["slot"], row["name"]
        assert list(descriptor.metrics) == row["metrics"], row["name"]
        registered_by = row["registered_by"]
        assert registered_by is None or registered_by in [s["name"] for s in mine]
