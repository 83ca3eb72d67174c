"""Chart plumbing: backend styles from the registry and atomic writes."""

import os

import pytest

charts = pytest.importorskip("charts")  # needs matplotlib; ./pollbench test provides it

import analysis as an  # noqa: E402
import gbfake  # noqa: E402
from pbresults import Registry  # noqa: E402


def _registry(names):
    return Registry([dict(name=n, raw_floor=f) for n, f in names])


def test_styles_follow_the_registry_order_and_stay_fixed():
    reg = _registry([("b_row", "b_raw"), ("a_row", ""), ("c_row", "")])
    st = charts.Styles(reg, extra={"b_raw", "path_z", "path_y"})
    rows = [st(n) for n in ("b_row", "a_row", "c_row")]
    assert rows == charts.PALETTE[:3]  # preference order, not name order
    assert st("b_raw") == st("b_row")  # a raw mechanism looks like its row
    # Other names (raw timeout paths) take the next entries, in name order.
    assert (st("path_y"), st("path_z")) == (charts.PALETTE[3], charts.PALETTE[4])
    # The same registry gives the same styles, whatever the order the charts ask in.
    again = charts.Styles(reg, extra={"path_z", "b_raw", "path_y"})
    assert [again(n) for n in ("path_z", "c_row", "b_raw")] == \
        [st("path_z"), st("c_row"), st("b_raw")]


def test_every_row_of_the_real_registry_gets_a_distinct_style():
    # The raw timeout paths are drawn under their labels ("raw ppoll"), so a registry row may
    # share a path's name and still look different.
    paths = [an.RAW_TIMEOUT_LABEL.format(p) for p in ("ppoll", "epoll_pwait2")]
    registry = gbfake.REGISTRY + [dict(gbfake.REGISTRY[0], name="ppoll", raw_floor="")]
    st = charts.Styles(Registry(registry), extra=set(paths))
    names = [r["name"] for r in registry] + paths
    assert len({st(n) for n in names}) == len(names)


def test_a_row_named_like_a_raw_timeout_path_keeps_each_in_its_own_order():
    registry = Registry(gbfake.REGISTRY + [dict(gbfake.REGISTRY[0], name="ppoll", raw_floor="")])
    assert registry.order(["ppoll", "epoll_pwait2"], "path") == ["epoll_pwait2", "ppoll"]
    assert registry.order(["ppoll", "poll"], "row") == ["poll", "ppoll"]


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "chart.png"

    def half_write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"\x89PNG half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        charts.atomic_write(str(target), half_write)
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_an_old_file_whole(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("old")

    def write(tmp):
        with open(tmp, "w") as f:
            f.write("new")

    charts.atomic_write(str(target), write)
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["summary.md"]


def test_every_scenario_descriptor_names_functions_that_exist():
    import scenarios
    import summary
    for desc in scenarios.SCENARIOS:
        for spec in desc.charts:
            assert callable(getattr(charts, spec.draw, None)), (desc.name, spec.draw)
        for name in desc.sections:
            assert callable(getattr(summary, name, None)), (desc.name, name)
        assert desc.metrics, desc.name
        assert desc.part_of is None or desc.part_of in scenarios.BY_NAME, desc.name
    stems = [c.stem for c in scenarios.all_charts()]
    assert len(stems) == len(set(stems))


def test_a_new_scenario_is_one_descriptor(monkeypatch, tmp_path):
    # A scenario the reports did not know: one descriptor gives it its metrics (so compare
    # and the summary's table know them) — no other list to edit.
    import analysis as an
    import scenarios
    import summary
    from conftest import write_json
    from pbresults import load
    d = gbfake.Doc(reps=3)
    d.add("wakeup/epoll_lt/fds:16/cpu:same/manual_time", {"p50_ns": 1.0, "p99_ns": 2.0})
    d.add("splice/epoll_lt/bytes:4096", {"ns_per_byte": 0.5, "ns_per_event": 900.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    assert an.metrics_of("splice", run.benches["splice/epoll_lt/bytes:4096"]) == ["ns_per_event"]
    new = scenarios.Scenario("splice", ("ns_per_byte",))
    monkeypatch.setattr(scenarios, "SCENARIOS", scenarios.SCENARIOS + [new])
    monkeypatch.setitem(scenarios.BY_NAME, "splice", new)
    assert an.metrics_of("splice") == ["ns_per_byte"]
    other = "\n".join(summary.other_section(run, summary.scenario_sections(run)[1]))
    assert "| `splice/epoll_lt/bytes:4096` | ns_per_byte |" in other
