"""Rows whose processes disagree (plots/stability.py): named in summary.md with their spread
and their process medians, flagged in their table cells and in `compare`, while rows that
spread like the others are not. Synthetic runs of three processes with chosen process
factors, no repetition noise: every spread is known. No timing of this machine."""

import compare
import gbfake
import stability
import summary
from conftest import write_json
from pbresults import load

QUIET = (1.0, 1.02, 0.99)  # a spread of 3.0%: (1.02 - 0.99) / 1.0


def _run(tmp_path, factors, name="r.json", churn=None):
    """dispatch rows of poll and epoll_lt at five N, every process's repetitions at 1,000 ns
    × the process's factor: `factors` {row: (f0, f1, f2)}, QUIET otherwise; `churn`: the
    same for churn rows of five backends at N = 16 (every one at that factor)."""
    d = gbfake.Doc(reps=3, processes=3, noise=0.0)
    for bk in ("poll", "epoll_lt"):
        for n in (16, 64, 256, 1024, 4096):
            key = f"dispatch/{bk}/fds:{n}/active:1"
            f = factors.get(key, QUIET)
            d.add(key, {"ns_per_event": 1000.0}, scale=lambda p, f=f: f[p])
    for bk in ("poll", "epoll_lt", "epoll_et", "epoll_oneshot", "uring_oneshot", "select"):
        if churn:
            key = f"churn/{bk}/fds:16"
            f = churn.get(key, churn["*"])
            d.add(key, gbfake.churn_counters(16, 10.0, 1600.0, 8.0, 1600.0),
                  scale=lambda p, f=f: f[p])
    return load(write_json(tmp_path / name, d.json()))


UNSTABLE = {"dispatch/poll/fds:4096/active:1": (1.0, 2.0, 1.05),    # 95.2%: named
            "dispatch/poll/fds:1024/active:1": (1.0, 1.12, 1.0),    # 12%: above the 10% floor
            "dispatch/epoll_lt/fds:1024/active:1": (1.0, 1.08, 1.0)}  # 8%: 3 × 3.0% = 9%


def test_a_row_far_beyond_the_others_is_named_with_its_spread_and_process_medians(tmp_path):
    run = _run(tmp_path, UNSTABLE)
    named = [u.key for u in stability.unstable_rows(run)]
    assert named == ["dispatch/poll/fds:4096/active:1", "dispatch/poll/fds:1024/active:1"]
    text = "\n".join(summary.unstable_section(run))
    assert text.startswith(f"## {summary.UNSTABLE_TITLE}\n\n2 of 10 rows")
    assert ("| `dispatch/poll/fds:4096/active:1` | ns_per_event | 95.2% | 10.0% (3.0%) | "
            "1,000, 2,000, 1,050 |") in text
    assert "| `dispatch/poll/fds:1024/active:1` | ns_per_event | 12.0% |" in text
    # 8% is more than twice the others' 3%, but under both 3 × 3% and the 10% floor.
    assert "epoll_lt/fds:1024" not in text and "fds:16/" not in text


def test_the_section_follows_the_warnings_and_the_cell_is_flagged(tmp_path):
    run = _run(tmp_path, UNSTABLE)
    text = summary.render(run, [])
    assert text.index("Between processes") < text.index(f"## {summary.UNSTABLE_TITLE}") \
        < text.index("## Machine")
    rows = {line.split(" |")[0]: line for line in summary.dispatch_section(run)
            if line.startswith("| 4,096 |") or line.startswith("| 16 |")}
    # Columns: the registry's order, epoll_lt before poll.
    assert rows["| 4,096"] == "| 4,096 | 1,000 (0.0%; 3.0%) | 1,050 (0.0%; 95.2% ⚠) |"
    assert "⚠" not in rows["| 16"]


def test_a_noisy_scenario_is_judged_against_its_own_rows(tmp_path):
    # churn rows spread 30% as a rule; one at 50% is within 3 × 30%: not named. The dispatch
    # rows keep their own, quiet, limit.
    churn = {"*": (1.0, 1.3, 1.0), "churn/select/fds:16": (1.0, 1.5, 1.0)}
    run = _run(tmp_path, UNSTABLE, churn=churn)
    named = {u.key: u for u in stability.unstable_rows(run)}
    assert "churn/select/fds:16" not in named
    assert named["dispatch/poll/fds:1024/active:1"].limit == 0.10
    # Against the dispatch rows' 3% it would have been named.
    run = _run(tmp_path, {**UNSTABLE, "dispatch/epoll_lt/fds:16/active:1": (1.0, 1.5, 1.0)},
               name="b.json", churn=churn)
    assert "dispatch/epoll_lt/fds:16/active:1" in stability.unstable_keys(run)


def test_a_single_process_run_names_nothing(tmp_path):
    run = load(write_json(tmp_path / "r.json", gbfake.full_run()))
    assert stability.unstable_rows(run) == [] and summary.unstable_section(run) == []
    assert summary.UNSTABLE_TITLE not in summary.render(run, [])


def test_compare_marks_a_row_unstable_in_either_run(tmp_path):
    a = _run(tmp_path, UNSTABLE, "a.json")
    b = _run(tmp_path, {"dispatch/epoll_lt/fds:64/active:1": (1.0, 1.0, 1.6)}, "b.json")
    c = compare.Comparison(a, b)
    marks = {r.key: r.unstable for r in c.rows}
    assert marks["dispatch/poll/fds:4096/active:1"] == "A"
    assert marks["dispatch/epoll_lt/fds:64/active:1"] == "B"
    assert marks["dispatch/poll/fds:16/active:1"] == ""
    md = compare.markdown(c, None)
    line = next(x for x in md.splitlines() if "`dispatch/poll/fds:4096/active:1`" in x)
    assert line.endswith("processes disagree in A |")
    assert "processes disagree" not in next(
        x for x in md.splitlines() if "`dispatch/poll/fds:16/active:1`" in x)
    text = "\n".join(compare.table_lines(c))
    assert "processes disagree in B" in text


def test_two_processes_need_a_larger_multiple_of_the_typical_spread():
    # m = 4%: 3 × m = 12% names a row at P = 3; at P = 2 the limit is 4.6 × m = 18.4%.
    assert stability.limit_of(0.04, 3) == 3.0 * 0.04
    assert abs(stability.limit_of(0.04, 2) - 0.184) < 1e-12
    assert stability.limit_of(0.01, 2) == stability.FLOOR
