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
    import summary  # noqa: F401  it imports every module that presents a scenario
    for desc in scenarios.SCENARIOS:
        for spec in desc.charts:
            assert callable(spec.draw), (desc.name, spec.draw)
        for section in desc.sections:
            assert callable(section), (desc.name, section)
        assert desc.metrics, desc.name
    # Every scenario described in scenarios.py is presented: a chart or a section, or shown by
    # another's (part_of), or no table of its own (the sentinel). A scenario of a module of
    # its own (plots/scenario_<name>.py) may have neither: it gets a table and the generic chart.
    own = {d.name for d in scenarios.discovered()}
    for desc in scenarios.SCENARIOS:
        if desc.name not in own:
            assert desc.charts or desc.sections or desc.part_of or not desc.table, desc.name


def test_a_scenario_is_presented_once_by_the_module_that_draws_it():
    import c10k
    import scenarios
    import summary  # noqa: F401
    server = scenarios.get("server")
    assert [c.draw for c in server.charts][:1] == [c10k.chart_server_requests]
    assert server.sections == (c10k.server_section, c10k.uring_section)
    with pytest.raises(KeyError):
        scenarios.present("no_such_scenario", sections=(c10k.server_section,))
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


def test_a_scenario_of_the_runs_table_gets_its_metrics_a_table_and_a_chart(monkeypatch,
                                                                           tmp_path):
    # A scenario plots/ has no descriptor of, named in the run's scenario table: its metrics
    # come from the table, summary.md gets a table of its rows and a chart of its main metric
    # against its first numeric parameter, one line per slot.
    import json
    import scenarios
    import summary
    from conftest import write_json
    from pbresults import load
    monkeypatch.setattr(scenarios, "SCENARIOS", list(scenarios.SCENARIOS))
    monkeypatch.setattr(scenarios, "BY_NAME", dict(scenarios.BY_NAME))
    table = [{"name": "splice", "slot": "row", "timing": "cpu", "metrics": ["ns_per_byte"],
              "registered_by": None}]
    d = gbfake.Doc(reps=3, context=dict(gbfake.CONTEXT, pollbench_scenario_table=json.dumps(
        table)))
    for bk, scale in (("epoll_lt", 1.0), ("poll", 3.0)):
        for n in (16, 256, 4096):
            d.add(f"splice/{bk}/bytes:{n}", {"ns_per_byte": scale * n, "ns_per_event": 900.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    assert an.metrics_of("splice") == ["ns_per_byte"]
    assert [s.name for s in scenarios.SCENARIOS][-2:] == ["splice", "sentinel"]
    fig = charts.chart_generic(run, "splice")
    ax = fig.axes[0]
    assert sorted(line.get_label() for line in ax.get_lines()) == ["epoll_lt", "poll"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    written = summary.write_all(run, str(tmp_path))
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## splice" in text and "| `splice/poll/bytes:4096` | ns_per_byte |" in text
    assert "](splice.png)" in text and str(tmp_path / "splice.png") in written


def test_a_scenario_module_is_found_without_a_list(monkeypatch, tmp_path):
    # plots/scenario_<name>.py holds a new scenario's descriptor (and its presentation as
    # function objects); scenarios.py finds it by its file name.
    import scenarios
    (tmp_path / "scenario_zz_probe.py").write_text(
        "from scenarios import ChartSpec, Scenario\n"
        "def chart_probe(run):\n    return None\n"
        "def probe_section(run):\n    return ['probe']\n"
        "SCENARIO = Scenario('zz_probe', ('ns_per_probe',), sections=(probe_section,),\n"
        "                    charts=(ChartSpec('probe', 'Probe', chart_probe),))\n",
        encoding="utf-8")
    (tmp_path / "not_a_scenario.py").write_text("SCENARIO = None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = scenarios.discovered(str(tmp_path))
    assert [d.name for d in found] == ["zz_probe"]
    assert found[0].sections[0](None) == ["probe"]
    assert found[0].charts[0].draw(None) is None


def test_a_scenario_with_a_chart_of_its_own_gets_no_generic_chart(tmp_path):
    from conftest import write_json
    from pbresults import load
    d = gbfake.Doc(reps=3)
    d.add("churn/epoll_lt/fds:16", {"ns_per_add": 100.0, "ns_per_remove": 90.0})
    d.add("churn/epoll_lt/fds:64", {"ns_per_add": 110.0, "ns_per_remove": 95.0})
    run = load(write_json(tmp_path / "r.json", d.json()))
    assert charts.generic_specs(run) == []


# --- what a newcomer sees: quick runs, limits, the flat family -------------------------------

def _quick_latency_run(tmp_path, monkeypatch):
    """The latency scenarios as a quick run has them: one timeout T, one wakeup N, one W."""
    from conftest import write_json
    from pbresults import load
    monkeypatch.setattr(gbfake, "TIMEOUT_US", (50,))
    d = gbfake.add_latency(gbfake.Doc(reps=2, context=gbfake.LATENCY_CONTEXT),
                           points=[(16, "other")], herd=False)
    for bk in gbfake.HERD_BACKENDS:
        d.add(f"herd/{bk}/waiters:4/real_time",
              {"woken_per_event": gbfake.herd_woken("herd", bk, 4), "first_return_ns": 9e3},
              real_time=9e3)
    return load(write_json(tmp_path / "quick.json", d.json()))


def _inside_the_figure(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    box = fig._suptitle.get_window_extent(renderer)
    return box.x0 >= 0 and box.x1 <= fig.bbox.x1


def test_headings_of_a_quick_runs_charts_fit_their_figure(tmp_path, monkeypatch):
    run = _quick_latency_run(tmp_path, monkeypatch)
    for draw in (charts.chart_timeout, charts.chart_wakeup_percentiles, charts.chart_herd):
        fig = draw(run)
        assert fig is not None and _inside_the_figure(fig), draw.__name__


def test_herd_of_one_w_is_columns_on_a_count_axis(tmp_path, monkeypatch):
    run = _quick_latency_run(tmp_path, monkeypatch)
    ax = charts.chart_herd(run).get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == run.registry.order(gbfake.HERD_BACKENDS)
    # Woken per event is a count: a linear axis with a tick at every count up to W.
    assert ax.get_yscale() == "linear"
    assert [t for t in ax.get_yticks() if 0 <= t <= 4] == [0, 1, 2, 3, 4]


def test_herd_axis_has_a_tick_per_count_in_a_full_run(tmp_path):
    from conftest import write_json
    from pbresults import load
    run = load(write_json(tmp_path / "r.json", gbfake.everything_run()))
    ax = charts.chart_herd(run).get_axes()[0]
    assert ax.get_yscale() == "linear"
    assert [t for t in ax.get_yticks() if 0 <= t <= 8] == list(range(9))


def test_the_fd_limit_line_stands_at_the_limit_not_at_the_last_point(tmp_path):
    from conftest import write_json
    from pbresults import load
    run = load(write_json(tmp_path / "r.json", gbfake.full_run()))
    limit = run.registry.max_fd("select") + 1           # FD_SETSIZE
    last = an.series_over_fds(run, "churn", "select", "ns_per_add", active=None)[-1][0]
    assert last < limit                                  # select's last churn point: 256
    fig = charts.chart_churn(run)
    for ax in fig.get_axes():
        vertical = [ln.get_xdata()[0] for ln in ax.get_lines()
                    if len(set(ln.get_xdata())) == 1 and len(ln.get_xdata()) == 2]
        assert vertical == [limit], vertical
        assert any("fds ≤ 1,023" in t.get_text() for t in ax.texts)


def test_cost_vs_fds_sets_the_libraries_apart_and_the_flat_family_against_raw_epoll(tmp_path):
    from conftest import write_json
    from pbresults import load
    run = load(write_json(tmp_path / "r.json", gbfake.everything_run()))
    fig = charts.chart_cost_vs_fds(run)
    mech, lib, rel = fig.get_axes()
    libs = {name for name, _ in run.registry.libraries()}
    labels = lambda ax: [ln.get_label() for ln in ax.get_lines()]  # noqa: E731
    assert not any(l.split(" ")[0] in libs for l in labels(mech))
    assert {l.split(" ")[0] for l in labels(lib)} >= libs & set(run.backends("dispatch"))
    # Every O(ready) row, library or not, as a ratio to the bare epoll loop.
    flat = [bk for bk in run.backends("dispatch")
            if run.registry.fact(bk, "wait_cost") == "per_ready"]
    assert [l for l in labels(rel) if "/" in l] == [f"{bk} / raw epoll" for bk in flat]
    assert rel.get_yscale() == "linear" and rel.get_xscale() == "log"


def test_a_backend_keeps_its_colour_in_every_chart(tmp_path):
    from conftest import write_json
    from pbresults import load
    run = load(write_json(tmp_path / "r.json", gbfake.everything_run()))
    want = charts.style(run, "epoll_lt")[0]
    seen = []
    for draw in (charts.chart_cost_vs_fds, charts.chart_cost_vs_active, charts.chart_churn,
                 charts.chart_chain, charts.chart_wakeup_percentiles):
        for ax in draw(run).get_axes():
            seen += [ln.get_color() for ln in ax.get_lines()
                     if ln.get_label().split(" ")[0] == "epoll_lt"]
    assert seen and set(seen) == {want}


def test_the_first_eight_colours_are_not_shades_of_blue_and_purple():
    # The first rows of the registry (the epoll and io_uring family) cluster at one cost per
    # event: at most two of their colours may come from the blue-to-purple hues.
    import colorsys
    from matplotlib.colors import to_rgb
    bluish = []
    for c in charts.COLORS[:8]:
        h, s, _ = colorsys.rgb_to_hsv(*to_rgb(c))
        if s > 0.25 and 180 <= h * 360 < 320:
            bluish.append(c)
    assert len(bluish) <= 2, bluish
