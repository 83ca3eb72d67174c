"""The C10K experiment (server/<row>/idle:<I>/conns:<C>): the reports (plots/c10k.py) on
synthetic numbers with a known answer and on one real file, and the scenario's processes —
no child process and no descriptor left behind, also when the server dies mid-row or the
benchmark is interrupted. No test asserts a timing of this machine."""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import c10k
import charts
import gbfake
import summary
from benchbin import BENCH, list_names, needs_bench
from conftest import DATA, run_report, write_json
from pbresults import load


def _load(tmp_path, doc, name="results.json"):
    return load(write_json(tmp_path / "20260101-000000-vm" / name, doc))


@pytest.fixture
def run(tmp_path):
    return _load(tmp_path, gbfake.server_run(noise=0.0))


# --- data and words --------------------------------------------------------------------------

def test_the_table_has_every_measured_point_by_load_and_backend(run):
    table = c10k.server_table(run)
    assert list(table) == [1, 32]
    assert list(table[1]) == list(gbfake.SERVER_BACKENDS)  # registry order
    assert [i for i, _ in table[1]["poll"]] == [0, 1000, 4000]
    # select beyond FD_SETSIZE is skipped, not measured: 1,000 idle fit with 1 load, not 32
    assert [i for i, _ in table[1]["select"]] == [0, 1000]
    assert [i for i, _ in table[32]["select"]] == [0]


def test_the_o_registered_rows_fall_behind_from_the_first_idle_count_and_say_how_much(run):
    got = {(c, bk): (first, point) for c, bk, first, point, _, _ in c10k.fall_behind(run)}
    assert set(got) == {(1, "poll"), (1, "select"), (32, "poll"), (32, "select")}
    first, (rate, best, best_bk) = got[(1, "poll")]
    assert first == 1000
    assert rate == pytest.approx(gbfake.server_rate("poll", 1000, 1))
    assert best == pytest.approx(40_000) and best_bk in ("epoll_lt", "uring_multishot")
    assert got[(32, "select")][0] is None  # it only ran at 0 idle connections
    text = " ".join(c10k.fall_behind_sentences(run))
    assert "poll falls behind the O(ready) rows from 1,000 idle connections on" in text
    assert "select ran at 0 idle connections only" in text
    assert "FD_SETSIZE" not in text or "1023" in text  # the skip's own reason, if any


def test_a_row_within_the_threshold_is_said_to_stay(tmp_path):
    d = gbfake.Doc(reps=3, seed=2, noise=0.0, context=gbfake.CONTEXT)
    gbfake.add_server(d, backends=("epoll_lt", "poll"), idles=(0, 1000), conns=(1,))
    doc = d.json()
    for row in doc["benchmarks"]:       # poll only 5% behind at 1,000
        if row["name"].startswith("server/poll/idle:1000"):
            row["requests_per_s"] = 0.95 * 40_000
    text = " ".join(c10k.fall_behind_sentences(_load(tmp_path, doc)))
    assert "poll stays within 10% of the O(ready) rows up to 1,000 idle connections" in text


def test_one_noisy_point_behind_is_not_where_a_row_falls_behind(tmp_path):
    # poll 27% behind at 0 idle (one noisy point), level at 1,000, far behind from 4,000 on:
    # it falls behind "from 4,000", where it stays behind, not from 0.
    d = gbfake.Doc(reps=3, seed=3, noise=0.02, context=gbfake.CONTEXT)
    gbfake.add_server(d, backends=("epoll_lt", "poll"), idles=(0, 1000, 4000), conns=(1,))
    doc = d.json()
    for row in doc["benchmarks"]:
        if row["name"].startswith("server/poll/idle:0/"):
            row["requests_per_s"] = 0.73 * row["requests_per_s"]
        if row["name"].startswith("server/poll/idle:1000/"):
            row["requests_per_s"] = 40_000.0
    text = " ".join(c10k.fall_behind_sentences(_load(tmp_path, doc)))
    assert "poll falls behind the O(ready) rows from 4,000 idle connections on" in text


def test_the_section_tabulates_rate_p99_and_cpu_per_request(run):
    lines = c10k.server_section(run)
    text = "\n".join(lines)
    assert lines[0].startswith("## The C10K experiment")
    assert "C = 1:" in text and "C = 32:" in text
    assert "| epoll_lt | 40,000 · " in text
    assert "The largest I that fits one server process here: 19,000." in text
    assert "With no idle connections and C = 1 the backends served 40,000–40,000" in text


def test_a_run_without_server_rows_has_no_section_and_no_chart(tmp_path):
    run = _load(tmp_path, gbfake.latency_run())
    assert c10k.server_section(run) == []
    assert c10k.chart_server_requests(run) is None
    assert c10k.chart_server_p99(run) is None


# --- charts ----------------------------------------------------------------------------------

def test_both_charts_draw_one_line_per_backend_per_load(run):
    for draw in (c10k.chart_server_requests, c10k.chart_server_p99):
        fig = draw(run)
        assert fig is not None
        axes = fig.get_axes()
        assert len(axes) == 2  # C = 1, C = 32
        labels = [line.get_label() for line in axes[0].get_lines()]
        assert labels == list(gbfake.SERVER_BACKENDS)
        assert "socketpair fds" in fig._suptitle.get_text()  # the run's fd kind


def test_plot_writes_both_charts_and_the_section(tmp_path):
    path = write_json(tmp_path / "20260101-000000-vm" / "results.json", gbfake.server_run())
    out = run_report("plot", path)
    assert out.returncode == 0, out.stderr
    d = os.path.dirname(path)
    for stem in ("server_requests", "server_p99"):
        assert os.path.exists(os.path.join(d, f"{stem}.png"))
    md = open(os.path.join(d, "summary.md")).read()
    assert "## The C10K experiment" in md and "server_requests.png" in md


def test_compare_reads_twice_the_requests_per_second_as_faster(tmp_path):
    a = write_json(tmp_path / "a" / "results.json", gbfake.server_run(seed=1))
    doc = gbfake.server_run(seed=2)
    for row in doc["benchmarks"]:
        if row["name"].startswith("server/poll/idle:1000/conns:1/"):
            row["requests_per_s"] *= 2
            row["ns_per_request"] /= 2
    b = write_json(tmp_path / "b" / "results.json", doc)
    out = run_report("compare", a, b, "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines()
                if "server/poll/idle:1000/conns:1" in l and "ns_per_request" in l)
    assert "faster" in line and "SLOWER" not in line, line
    other = next(l for l in out.stdout.splitlines()
                 if "server/epoll_lt/idle:1000/conns:1" in l and "ns_per_request" in l)
    assert "faster" not in other and "SLOWER" not in other, other


def test_the_real_file_loads_and_draws(tmp_path):
    run = load(os.path.join(DATA, "server-small.json"))
    assert c10k.server_table(run)
    assert c10k.server_section(run)
    assert c10k.chart_server_requests(run) is not None
    assert "server_section" in [f for s in summary.scenarios.SCENARIOS for f in s.sections]
    assert hasattr(charts, "chart_server_p99")


# --- the benchmark's processes ---------------------------------------------------------------

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
PR_SET_CHILD_SUBREAPER = 36
ROW = "^server/epoll_lt/idle:1000/conns:1/"


@pytest.fixture
def subreaper():
    """This process adopts the orphans of its descendants, so a left-over server, holder or
    wrk shows up as a child of ours after the benchmark has exited."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _children():
    me = str(os.getpid())
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            out.append(f"{pid} {cmd}")
    return out


def _reap_adopted():
    """Reap every exited child (adopted orphans included); the living ones stay listed."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _bench(*args, **kw):
    return subprocess.Popen([BENCH, "--benchmark_format=json", "--benchmark_repetitions=1",
                             "--benchmark_min_warmup_time=0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _descendant(pid, name):
    """The pid of a process called `name` whose parent is `pid`, or None."""
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = text.rsplit(")", 1)[1].split()[1]
        if ppid == str(pid) and comm == name:
            return int(p)
    return None


@needs_bench
@needs_wrk
def test_a_server_row_leaves_no_process_and_no_descriptor(subreaper):
    bench = _bench(f"--benchmark_filter={ROW}")
    out, err = bench.communicate(timeout=120)
    # exit 3 is the binary's own check: a descriptor open at the end that was not at the start
    assert bench.returncode == 0, err
    row = json.loads(out)["benchmarks"][0]
    assert not row.get("error_occurred"), row.get("error_message")
    assert row["requests_per_s"] > 0 and row["p99_ns"] >= row["p50_ns"] > 0
    assert row["idle"] == 1000
    time.sleep(0.2)  # an orphan's exit takes a moment to reach us
    _reap_adopted()
    assert _children() == []


@needs_bench
@needs_wrk
def test_a_server_that_dies_mid_row_fails_that_row_with_its_status(subreaper):
    # A long window, so the row is still running when the server is killed.
    bench = _bench(f"--benchmark_filter={ROW}|^sentinel/roundtrip/at:0$",
                   "--benchmark_enable_random_interleaving=false", "--benchmark_min_time=3")
    server = None
    deadline = time.monotonic() + 30
    while server is None and time.monotonic() < deadline:
        server = _descendant(bench.pid, "pollbench-serve")  # comm is cut at 15 characters
        time.sleep(0.02)
    assert server is not None, "the server process never appeared"
    time.sleep(0.3)
    os.kill(server, signal.SIGKILL)
    out, err = bench.communicate(timeout=120)
    assert bench.returncode == 0, err
    rows = {r["name"]: r for r in json.loads(out)["benchmarks"]}
    failed = rows["server/epoll_lt/idle:1000/conns:1/manual_time"]
    assert failed.get("error_occurred")
    assert "the server was killed by signal 9" in failed["error_message"]
    assert not rows["sentinel/roundtrip/at:0"].get("error_occurred")  # the run went on
    time.sleep(0.2)
    _reap_adopted()
    assert _children() == []


@needs_bench
@needs_wrk
@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_run_leaves_no_process_behind(subreaper, signo):
    # Its own session: SIGINT reaches the benchmark alone, not (as a terminal's would) every
    # process of the group — the children must go because their parent did.
    bench = _bench(f"--benchmark_filter={ROW}", "--benchmark_min_time=5",
                   start_new_session=True)
    deadline = time.monotonic() + 30
    while _descendant(bench.pid, "wrk") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _descendant(bench.pid, "wrk") is not None, "wrk never started"
    bench.send_signal(signo)
    bench.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _reap_adopted()
        if not _children():
            break
        time.sleep(0.05)
    assert _children() == []


@needs_bench
def test_the_default_and_quick_sweeps_hold_the_subset_and_a_filter_the_grid():
    default = [n for n in list_names() if n.startswith("server/")]
    quick = [n for n in list_names("--pollbench_quick") if n.startswith("server/")]
    grid = list_names("--benchmark_filter=^server/")
    assert default and quick and len(grid) > len(default)
    assert {n.split("/")[1] for n in default} >= {"epoll_lt", "poll", "select",
                                                   "uring_multishot", "libevent_epoll"}
    idles = {int(n.split("/")[2].split(":")[1]) for n in grid}
    assert {0, 1000, 4000} < idles  # and the largest that fits
    assert {n.split("/")[3] for n in grid} == {"conns:1", "conns:32"}
