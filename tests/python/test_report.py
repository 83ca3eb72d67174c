"""report.py end to end: table, plot, compare, and every bad input of issue 4."""

import os
import subprocess

import pytest

import gbfake
from conftest import ROOT, run_report, write_json


def files_in(d):
    return sorted(os.listdir(d))


def assert_one_error_line(proc, path, problem, code=1):
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"pollbench: {path}: "), lines[0]
    assert problem in lines[0]


# --- table ----------------------------------------------------------------------------------

def test_table_lists_every_backend_with_ratio_to_raw(fake_run):
    p = run_report("table", fake_run)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip()}
    for backend in ("select", "poll", "epoll_lt", "epoll_et", "raw/poll"):
        assert backend in rows, p.stdout
    # poll: smallest N 16, largest 8,192; the model puts the backend 3% above its raw floor.
    poll = rows["poll"].split()
    assert poll[1] == "16" and poll[5] == "8,192"
    assert 0.95 < float(poll[4]) < 1.12 and 0.95 < float(poll[8]) < 1.12
    # select's largest N is its active sweep's 1,000: the sweep's 1,024 is above its fd limit.
    assert rows["select"].split()[5] == "1,000"
    assert "skipped: 9 benchmark(s)" in p.stdout  # select's dispatch, raw and churn at >= 1,024


def test_table_warns_about_sentinel_drift(tmp_path):
    path = write_json(tmp_path / "r.json", gbfake.full_run(sentinel=(300, 400, 300)))
    p = run_report("table", path)
    assert p.returncode == 0 and "WARNING: the noise sentinel drifted" in p.stdout


# --- plot -----------------------------------------------------------------------------------

CHART_STEMS = ["cost_vs_fds", "cost_vs_active", "overhead", "chain", "churn"]


def test_plot_writes_every_chart_and_the_summary(fake_run):
    out = os.path.dirname(fake_run)
    p = run_report("plot", fake_run)
    assert p.returncode == 0, p.stderr
    for stem in CHART_STEMS:
        png, svg = os.path.join(out, stem + ".png"), os.path.join(out, stem + ".svg")
        with open(png, "rb") as f:
            head = f.read(8)
        assert head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 10_000, stem
        with open(svg, encoding="utf-8") as f:
            assert "<svg" in f.read(2000), stem
    summary = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
    for stem in CHART_STEMS:
        assert f"]({stem}.png)" in summary
    assert "## Machine" in summary and "Test CPU @ 2.10GHz" in summary
    assert "## Measured complexity" in summary
    # The synthetic costs are a + b*N for poll and constant for epoll.
    fits = {line.split("|")[1].strip(): line for line in summary.splitlines()
            if line.startswith("| dispatch/")}
    # a + b*N over this N has a log-log slope below 1 with an interval that excludes 1: the
    # words say so and the fitted line explains it.
    assert "below linear" in fits["dispatch/poll"] and "O(N) plus a fixed cost" in \
        fits["dispatch/poll"]
    assert "`dispatch/poll` ≈ " in summary and "ns × N, whose log-log slope is" in summary
    assert "O(1): flat" in fits["dispatch/epoll_lt"]
    assert "## Interface overhead" in summary
    # Nothing temporary left behind.
    assert not [f for f in files_in(out) if f.endswith(".tmp")]


def test_plot_out_dir_and_several_inputs(tmp_path):
    a = write_json(tmp_path / "a" / "part1.json", gbfake.full_run(seed=1))
    b = write_json(tmp_path / "b" / "part2.json", gbfake.full_run(seed=2))
    out = tmp_path / "charts"
    p = run_report("plot", a, b, "--out", out)
    assert p.returncode == 0, p.stderr
    assert "summary.md" in files_in(out) and "cost_vs_fds.svg" in files_in(out)
    assert files_in(tmp_path / "a") == ["part1.json"]  # --out means nothing goes elsewhere
    assert "`part1.json`, `part2.json`" in (out / "summary.md").read_text()


def test_plot_draws_only_charts_with_data(tmp_path):
    d = gbfake.Doc(reps=3)
    for n in (16, 256, 4096):
        d.add(f"churn/poll/fds:{n}", {"ns_per_add": 10.0, "ns_per_remove": 8.0})
    path = write_json(tmp_path / "r" / "results.json", d.json())
    p = run_report("plot", path)
    assert p.returncode == 0, p.stderr
    written = files_in(tmp_path / "r")
    assert "churn.png" in written and "cost_vs_fds.png" not in written  # no empty charts
    assert "cost_vs_fds.png" not in (tmp_path / "r" / "summary.md").read_text()


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("", "empty file"),
    ("<html>", "not JSON"),
    ('{"some": "json"}', "not Google Benchmark output"),
])
@pytest.mark.parametrize("command", ["plot", "table"])
def test_bad_files_fail_with_one_line_and_write_nothing(tmp_path, content, problem, command):
    d = tmp_path / "run"
    d.mkdir()
    path = d / "results.json"
    if content is not None:
        path.write_text(content)
    before = files_in(d)
    p = run_report(command, path)
    assert_one_error_line(p, path, problem)
    assert files_in(d) == before


def test_run_with_every_row_errored(tmp_path):
    d = gbfake.Doc(reps=2)
    d.error("dispatch/select/fds:4096/active:1", "select: highest polled fd 8199 is above 1023")
    d.error("raw/select/fds:4096/active:1", "select: highest polled fd 8199 is above 1023")
    path = write_json(tmp_path / "r" / "results.json", d.json())
    p = run_report("plot", path)
    assert_one_error_line(p, path, "every benchmark was skipped or errored")
    assert files_in(tmp_path / "r") == ["results.json"]


def test_a_bad_second_file_stops_before_anything_is_written(fake_run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    p = run_report("plot", fake_run, bad)
    assert_one_error_line(p, bad, "not JSON")
    assert files_in(os.path.dirname(fake_run)) == ["results.json"]


def test_no_matplotlib(fake_run, tmp_path):
    # A matplotlib that cannot be imported, shadowing the real one.
    fake = tmp_path / "shadow" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    env = {"PYTHONPATH": str(tmp_path / "shadow")}
    p = run_report("plot", fake_run, env=env)
    assert_one_error_line(p, "matplotlib", "install python3-matplotlib")
    assert files_in(os.path.dirname(fake_run)) == ["results.json"]
    assert run_report("table", fake_run, env=env).returncode == 0  # table needs no matplotlib


@pytest.mark.parametrize("args", [[], ["plot"], ["compare", "a.json"], ["frobnicate"],
                                  ["plot", "x.json", "--bogus"]])
def test_usage_errors_exit_2(args):
    p = run_report(*args)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("pollbench: usage:")


def test_out_that_is_a_file(fake_run, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    p = run_report("plot", fake_run, "--out", f)
    assert_one_error_line(p, f, "not a directory")


# --- compare --------------------------------------------------------------------------------

def test_compare_flags_real_differences_and_lists_unshared_rows(tmp_path):
    # Three processes of three repetitions each, as `./pollbench run` makes them.
    a_doc = gbfake.full_run(seed=1, processes=3, process_noise=0.02)
    b_doc = gbfake.full_run(seed=2, scale=1.3, processes=3, process_noise=0.02)  # 30% slower
    b_doc["benchmarks"] = [r for r in b_doc["benchmarks"]
                           if not r["name"].startswith("chain/poll/fds:100/")]
    b_doc["benchmarks"] += gbfake.Doc(reps=3).add("dispatch/libuv/fds:16/active:1",
                                                  {"ns_per_event": 500.0}).json()["benchmarks"]
    a = write_json(tmp_path / "runA" / "results.json", a_doc)
    b = write_json(tmp_path / "runB" / "results.json", b_doc)
    p = run_report("compare", a, b)
    assert p.returncode == 0, p.stderr
    assert "Student's t on the log of each process's median" in p.stdout
    lines = p.stdout.splitlines()
    row = next(line for line in lines if line.startswith("dispatch/poll/fds:8192/active:1 "))
    assert 1.2 < float(row.split()[4]) < 1.4 and row.rstrip().endswith("SLOWER")
    assert any(line.startswith("only in A (1): chain/poll/fds:100/active:1") for line in lines)
    assert any(line.startswith("only in B (1): dispatch/libuv/fds:16/active:1") for line in lines)
    out = files_in(tmp_path / "runB")
    assert {"compare-runA.md", "compare-runA.png", "compare-runA.svg"} <= set(out)
    md = (tmp_path / "runB" / "compare-runA.md").read_text()
    assert "## Only in A" in md and "`dispatch/libuv/fds:16/active:1`" in md


def test_compare_same_run_flags_nothing(fake_run, tmp_path):
    p = run_report("compare", fake_run, fake_run, "--out", tmp_path / "cmp")
    assert p.returncode == 0, p.stderr
    assert "0 differ beyond noise" in p.stdout


def test_compare_of_single_process_runs_says_so(tmp_path):
    a = write_json(tmp_path / "a.json", gbfake.full_run(seed=1))
    b = write_json(tmp_path / "b.json", gbfake.full_run(seed=2, scale=1.3))
    p = run_report("compare", a, b, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    row = next(line for line in p.stdout.splitlines()
               if line.startswith("dispatch/poll/fds:8192/active:1 "))
    assert row.rstrip().endswith("SLOWER (1 process)")


def test_compare_single_repetition_is_never_flagged(tmp_path):
    a = write_json(tmp_path / "a.json", gbfake.full_run(reps=1))
    b = write_json(tmp_path / "b.json", gbfake.full_run(reps=1, scale=2.0))
    p = run_report("compare", a, b, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "0 differ beyond noise" in p.stdout and "? (1 repetition)" in p.stdout


def test_compare_runs_with_nothing_in_common(tmp_path):
    a = write_json(tmp_path / "a.json",
                   gbfake.Doc().add("dispatch/poll/fds:16/active:1", {"ns_per_event": 1.0}).json())
    b = write_json(tmp_path / "b.json",
                   gbfake.Doc().add("dispatch/epoll_lt/fds:16/active:1",
                                    {"ns_per_event": 1.0}).json())
    p = run_report("compare", a, b)
    assert_one_error_line(p, b, "nothing in common")
    assert files_in(tmp_path) == ["a.json", "b.json"]


# --- the front door ---------------------------------------------------------------------------

def test_pollbench_plot_and_compare_commands(fake_run, tmp_path):
    script = os.path.join(ROOT, "pollbench")
    p = subprocess.run([script, "plot", fake_run], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(os.path.join(os.path.dirname(fake_run), "summary.md"))
    missing = tmp_path / "missing.json"
    p = subprocess.run([script, "compare", fake_run, missing], capture_output=True, text=True,
                       timeout=300)
    assert_one_error_line(p, missing, "no such file")
    p = subprocess.run([script, "help"], capture_output=True, text=True, timeout=60)
    assert "plot RESULTS.json" in p.stdout and "compare A.json B.json" in p.stdout


# --- real data --------------------------------------------------------------------------------

def test_plot_real_sweep(tmp_path):
    from conftest import DATA
    p = run_report("plot", os.path.join(DATA, "sweep-small.json"), "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    for stem in CHART_STEMS:
        for ext in ("png", "svg"):
            assert os.path.getsize(tmp_path / f"{stem}.{ext}") > 1000, (stem, ext)
    summary = (tmp_path / "summary.md").read_text()
    import json
    with open(os.path.join(DATA, "sweep-small.json")) as f:
        cpu = json.load(f)["context"]["pollbench_cpu_model"]
    assert f"| CPU | {cpu} |" in summary
    assert "| dispatch/epoll_lt |" in summary and "| dispatch/poll |" in summary


def test_compare_real_sweep_against_itself_with_aggregates_only_run(tmp_path):
    from conftest import DATA
    p = run_report("compare", os.path.join(DATA, "sweep-small.json"),
                   os.path.join(DATA, "aggregates-only.json"), "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "dispatch/poll/fds:16/active:1" in p.stdout
    assert "only in A" in p.stdout and "only in B" in p.stdout


def test_select_limit_note_and_sentinel_warning_reach_the_outputs(tmp_path):
    path = write_json(tmp_path / "r" / "results.json", gbfake.full_run(sentinel=(300, 420, 300)))
    p = run_report("plot", path)
    assert p.returncode == 0, p.stderr
    svg = (tmp_path / "r" / "cost_vs_fds.svg").read_text()  # SVG text is kept as text
    # The footnote comes from the data: the registry's max_fd and description, the skip reason.
    assert "select has no point beyond N = 1,000: it accepts fds up to 1023 only" in svg
    assert "fds &lt; FD_SETSIZE" in svg and "highest polled fd 1031" in svg
    summary = (tmp_path / "r" / "summary.md").read_text()
    import re
    m = re.search(r"\*\*Warning: the noise sentinel drifted (\d+)%\*\*", summary)
    assert m and 35 <= int(m.group(1)) <= 45  # 300 -> 420 ns, with 1% noise


def test_unknown_scenarios_get_a_table_and_no_empty_chart(tmp_path):
    d = gbfake.Doc(reps=3)
    for n in (16, 4096):
        d.add(f"wakeup/epoll_lt/fds:{n}/cpu:same", {"p50": 1000.0, "p99": 4000.0})
    path = write_json(tmp_path / "r" / "results.json", d.json())
    p = run_report("plot", path)
    assert p.returncode == 0, p.stderr
    assert "no chart applies" in p.stderr
    assert files_in(tmp_path / "r") == ["results.json", "summary.md"]
    assert "`wakeup/epoll_lt/fds:4096/cpu:same`" in (tmp_path / "r" / "summary.md").read_text()
