"""summary.md's "What to use when, on this machine" section (plots/advice.py): each sentence
follows the run's numbers and their noise, cites rows the run has, and absent data gives no
sentence. Synthetic runs from gbfake; no test asserts a timing of this machine."""

import fnmatch
import os
import re

import pytest

import advice
import gbfake
import scenarios
import summary
from conftest import ROOT, run_report, write_json
from pbresults import load


def _run(tmp_path, doc, name="r.json"):
    return load(write_json(tmp_path / name, doc))


def _items(lines):
    """{bold title: text of the item and its sub-bullets}."""
    out, title = {}, None
    for line in lines:
        m = re.match(r'- (?:<a id="[^"]+"></a>)?\*\*(.+?)\.\*\*(.*)', line)
        if m:
            title = m.group(1)
            out[title] = m.group(2)
        elif title and line.startswith("  - "):
            out[title] += "\n" + line[4:]
    return out


def test_the_section_opens_summary_md(tmp_path):
    run = _run(tmp_path, gbfake.everything_run())
    text = summary.render(run, [])
    assert text.index(f"## {advice.TITLE}") < text.index("## Machine")


def test_registered_per_ready_names_where_epoll_wins_and_where_poll_does(tmp_path):
    # Noise-free model (gbfake.model_cost): poll 330 + 1.6 N, epoll_lt 420 ns per event. At
    # N = 16 poll is cheaper (356 < 420), from N = 64 on epoll_lt is (432 > 420).
    run = _run(tmp_path, gbfake.full_run(noise=0.0, backends=("poll", "epoll_lt")))
    (sentence,) = advice.registered_per_ready(run)
    assert sentence.startswith("epoll_lt is cheaper per event than poll beyond the noise "
                               "from N = 64 registered fds per ready fd")
    assert "at N = 16 0.85× [0.85, 0.85], poll cheaper" in sentence
    assert "at N = 8,192" in sentence
    assert sentence.endswith("Rows: `dispatch/{poll,epoll_lt}/fds:*/active:1`.")


def test_equal_rows_are_within_the_noise_not_a_difference(tmp_path):
    d = gbfake.Doc(reps=3, seed=3, noise=0.05, processes=3, context=gbfake.CONTEXT)
    for n in (16, 256, 4096):
        for bk in ("epoll_lt", "epoll_et"):
            d.add(f"dispatch/{bk}/fds:{n}/active:1", {"ns_per_event": 2000.0})
    (sentence,) = advice.ready_family(_run(tmp_path, d.json()))
    assert "within the noise of epoll_lt at every N: epoll_et" in sentence
    assert "beyond the noise at" not in sentence


def test_a_real_difference_is_beyond_the_noise_with_its_size(tmp_path):
    d = gbfake.Doc(reps=3, seed=3, noise=0.02, processes=3, context=gbfake.CONTEXT)
    for n in (16, 256, 4096):
        d.add(f"dispatch/epoll_lt/fds:{n}/active:1", {"ns_per_event": 2000.0})
        d.add(f"dispatch/libevent_epoll/fds:{n}/active:1", {"ns_per_event": 2800.0})
    (sentence,) = advice.libraries(_run(tmp_path, d.json()))
    assert sentence.startswith("libevent_epoll over epoll_lt (the mechanism it runs on): +")
    assert "beyond the noise at 3 of 3 N" in sentence
    added = [int(v) for v in re.findall(r"\+(\d+)%", sentence)]
    assert added and all(30 <= v <= 50 for v in added)


def test_poll_catching_up_as_the_active_share_grows(tmp_path):
    # Noise-free: poll 330 + 1.6 * 4096 / A against epoll_lt's 420 at N = 4,096.
    run = _run(tmp_path, gbfake.full_run(noise=0.0, backends=("poll", "epoll_lt")))
    (sentence,) = advice.active_share(run)
    assert sentence.startswith("At N = 4,096, poll/epoll_lt = ")
    # 330 + 1.6 * 4096 / 64 = 432 > 420; at A = 256: 355.6 < 420 (cheaper beyond the noise).
    assert "poll catches up from A = 256 (16 registered fds per ready fd)" in sentence
    assert "poll cheaper beyond the noise" in sentence


def test_herd_advice_follows_who_woke_one(tmp_path):
    run = _run(tmp_path, gbfake.everything_run())
    (sentence,) = advice.herd(run)
    w = max(b.name.get("waiters") for b in run.select("herd"))
    assert sentence.startswith(f"{w} threads waiting on one fd")
    assert "epoll_exclusive and one epoll_et set shared by all woke about one" in sentence
    assert "epoll_lt, poll and select woke all 8" in sentence
    assert "avoid the herd" in sentence


def test_timeouts_name_the_rows_rounded_to_a_millisecond(tmp_path):
    run = _run(tmp_path, gbfake.everything_run())
    lines = advice.timeouts(run)
    t50 = next(s for s in lines if "T = 50 µs" in s)
    rounded = t50.split("became a whole millisecond with ", 1)[1].split(" (", 1)[0]
    assert "poll" in rounded and "uring_multishot" not in rounded


def test_every_cited_row_exists_and_every_item_cites(tmp_path):
    run = _run(tmp_path, gbfake.everything_run())
    lines = advice.section(run)
    items = _items(lines)
    assert items
    keys = list(run.benches)
    for title, text in items.items():
        for sentence in text.strip().split("\n"):
            cites = re.findall(r"`([^`]+)`", sentence.split(" Rows: ")[-1])
            assert " Rows: " in sentence and cites, (title, sentence)
            for pattern in cites:
                m = re.match(r"([^/]+)/\{([^}]+)\}(.*)", pattern)
                expanded = ([f"{m.group(1)}/{b}{m.group(3)}" for b in m.group(2).split(",")]
                            if m else [pattern])
                for p in expanded:
                    assert fnmatch.filter(keys, p), (title, p)


def test_absent_data_gives_no_sentence(tmp_path):
    # epoll_lt alone: nothing to compare it with, no herd, no timeout — no section at all.
    d = gbfake.Doc(reps=3)
    for n in (16, 256):
        d.add(f"dispatch/epoll_lt/fds:{n}/active:1", {"ns_per_event": 2000.0})
    run = _run(tmp_path, d.json())
    assert advice.section(run) == []
    assert advice.TITLE not in summary.render(run, [])
    # poll and epoll_lt but no herd, wakeup or timeout rows: only the dispatch items.
    run = _run(tmp_path, gbfake.full_run(backends=("poll", "epoll_lt")), "b.json")
    titles = set(_items(advice.section(run)))
    assert "Many idle fds, few ready" in titles
    assert not titles & {"Several threads on one fd", "Timeouts", "Waking a blocked waiter"}


def test_a_new_scenario_gets_the_generic_sentence(tmp_path, monkeypatch):
    d = gbfake.Doc(reps=3, seed=2, noise=0.02, processes=3, context=gbfake.CONTEXT)
    for bk, v in (("epoll_lt", 900.0), ("poll", 905.0), ("select", 2000.0)):
        d.add(f"wake/{bk}/kind:eventfd", {"ns_per_wake": v})
    new = scenarios.Scenario("wake", ("ns_per_wake",))
    monkeypatch.setattr(scenarios, "SCENARIOS", scenarios.SCENARIOS + [new])
    monkeypatch.setitem(scenarios.BY_NAME, "wake", new)
    items = _items(advice.section(_run(tmp_path, d.json())))
    text = items["wake"]
    assert text.strip().startswith("At kind:eventfd, epoll_lt has the lowest ns_per_wake")
    assert "above it beyond the noise: select 2.2" in text
    assert "Rows: `wake/{epoll_lt,poll,select}/kind:eventfd`." in text


def test_a_noisy_run_says_so_in_the_section(tmp_path):
    run = _run(tmp_path, gbfake.full_run(sentinel=(300.0, 420.0, 300.0),
                                         backends=("poll", "epoll_lt")))
    assert re.search(r"\*\*The noise sentinel drifted (3\d|4\d)% during this run\*\*",
                     "\n".join(advice.section(run)))


def test_readme_block_is_replaced_between_the_markers_only(tmp_path):
    results = write_json(tmp_path / "run" / "results.json", gbfake.everything_run())
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nbefore\n<!-- what-to-use: begin (generated) -->\nold text\n"
                      "<!-- what-to-use: end -->\nafter\n")
    p = run_report("readme", results, readme)
    assert p.returncode == 0, p.stderr
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- what-to-use: begin (generated) -->\n"
                           f"### {advice.TABLE_TITLE}\n")
    assert f"\n### {advice.TITLE}\n" in text
    assert "old text" not in text and text.endswith("<!-- what-to-use: end -->\nafter\n")
    # Twice gives the same file.
    assert run_report("readme", results, readme).returncode == 0
    assert readme.read_text() == text


def test_readme_without_markers_is_refused_and_untouched(tmp_path):
    results = write_json(tmp_path / "run" / "results.json", gbfake.everything_run())
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    p = run_report("readme", results, readme)
    assert p.returncode == 1 and "markers" in p.stderr and len(p.stderr.splitlines()) == 1
    assert readme.read_text() == "# no markers\n"


def test_the_repository_readme_block_is_the_reference_runs():
    # The README shows the reference run's section: regenerating it changes nothing (after a
    # new reference run: plots/report.py readme results/reference/results.json README.md).
    path = os.path.join(ROOT, "results", "reference", "results.json")
    if not os.path.exists(path):
        pytest.skip("no reference run")
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("<!-- what-to-use: begin", 1)[1].split("\n", 1)[1].split(
        "<!-- what-to-use: end -->", 1)[0]
    assert block == "\n".join(advice.section(load(path), heading="###")) + "\n", \
        "README's what-to-use block is stale: run plots/report.py readme " \
        "results/reference/results.json README.md"


def test_a_timeout_kept_on_a_coarse_clock_is_not_called_millisecond_rounding(tmp_path):
    doc = gbfake.everything_run()
    late = [b for b in doc["benchmarks"]
            if b["name"].startswith("timeout/poll/us:50") and "late_p50_ns" in b]
    assert late
    for b in late:
        b["late_p50_ns"] = 4.1e6  # a 4 ms tick
    t50 = next(s for s in advice.timeouts(_run(tmp_path, doc)) if "T = 50 µs" in s)
    rounded = t50.split("became a whole millisecond with ", 1)[1].split(" (", 1)[0]
    assert "poll" not in rounded.split(", ")
    coarse = t50.split("; ")[-1]
    assert "coarse clock" in coarse and coarse.startswith("poll ")


def test_loop_descriptor_sentences_cite_their_rows_and_their_noise(tmp_path):
    run = load(os.path.join(ROOT, "tests", "data", "loopfds-small.json"))
    lines = advice.loop_descriptors(run)
    assert lines
    for s in lines:
        assert " Rows: `" in s, s
    signals = [s for s in lines if s.startswith("Signals on ")]
    wakes = [s for s in lines if s.startswith("Cross-thread wake-ups")]
    assert signals and wakes
    for s in signals:
        assert re.search(r"self-pipe/signalfd \d[\d.,]*× \[", s), s
        assert ("within the noise" in s) != ("beyond the noise" in s), s
    for s in wakes:
        assert s.count("×") == len(re.findall(r"; \w+ [\d.,]+ µs \(", s)), s


# --- the decision table above the sentences ----------------------------------------------------

def _table(lines):
    """{question: (answer, ratio, rows)} of the decision table's lines."""
    out = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] != "question":
            out[cells[0]] = tuple(cells[1:])
    return out


def test_the_table_opens_summary_md_and_links_every_row_to_its_sentence(tmp_path):
    doc = gbfake.everything_run()
    run = _run(tmp_path, doc)
    text = summary.render(run, [])
    assert text.index(f"## {advice.TABLE_TITLE}") < text.index(f"## {advice.TITLE}") \
        < text.index("## Machine")
    lines = advice.section(run)
    table = _table(lines[:lines.index(f"## {advice.TITLE}")])
    assert 5 <= len(table) <= 12
    ids = set(re.findall(r'<a id="([^"]+)"></a>', "\n".join(lines)))
    keys = list(run.benches)
    for question, (answer, ratio, rows) in table.items():
        assert answer and re.search(r"\d× \[\d[\d.,]*, \d[\d.,]*\]", ratio), (question, ratio)
        link = re.fullmatch(r"\[(`[^]]+`)\]\(#([a-z0-9-]+)\)", rows)
        assert link and link.group(2) in ids, (question, rows)
        for pattern in re.findall(r"`([^`]+)`", link.group(1)):
            m = re.match(r"([^/]+)/\{([^}]+)\}(.*)", pattern)
            for p in ([f"{m.group(1)}/{b}{m.group(3)}" for b in m.group(2).split(",")]
                      if m else [pattern]):
                assert fnmatch.filter(keys, p), (question, p)


def test_table_answers_follow_a_noise_free_model(tmp_path):
    # gbfake.model_cost: poll 330 + 1.6 N / A, epoll_lt 420 ns per event. From N = 64 (432 >
    # 420) epoll_lt is cheaper at every N; at N = A = 4,096 poll is (331.6 < 420).
    run = _run(tmp_path, gbfake.full_run(noise=0.0, backends=("poll", "epoll_lt")))
    table = _table(advice.decision_table(run))
    assert table["Many idle fds, few ready"][0] == "epoll_lt, from N = 64"
    assert table["Many idle fds, few ready"][1].startswith("poll/epoll_lt = 32.")
    assert "at N = 8,192, 1 ready" in table["Many idle fds, few ready"][1]
    assert table["Most fds ready"][0] == "poll is cheaper"
    assert table["Most fds ready"][1].startswith("poll/epoll_lt = 0.79×")
    # No herd, timeout, server, signal or wake rows in this run: no line for them.
    assert set(table) == {"Many idle fds, few ready", "Most fds ready"}


def test_within_the_noise_is_an_answer_of_the_table(tmp_path):
    d = gbfake.Doc(reps=3, seed=3, noise=0.05, processes=3, context=gbfake.CONTEXT)
    for n in (16, 256, 4096):
        for bk in ("epoll_lt", "epoll_et"):
            d.add(f"dispatch/{bk}/fds:{n}/active:1", {"ns_per_event": 2000.0,
                                                      "events_per_iter": 1.0})
    table = _table(advice.decision_table(_run(tmp_path, d.json())))
    answer, ratio, rows = table["epoll against io_uring, one loop's readiness"]
    assert answer == "any: all within the noise of epoll_lt"
    assert ratio.startswith("epoll_et/epoll_lt = ") and ratio.endswith(", within the noise")
    assert rows == "`dispatch/{epoll_et,epoll_lt}/fds:4096/active:1`"


def test_a_library_line_names_the_least_and_the_most(tmp_path):
    d = gbfake.Doc(reps=3, seed=3, noise=0.02, processes=3, context=gbfake.CONTEXT)
    for n in (16, 256, 4096):
        for bk, v in (("epoll_lt", 2000.0), ("libevent_epoll", 2800.0), ("libuv", 2100.0)):
            d.add(f"dispatch/{bk}/fds:{n}/active:1", {"ns_per_event": v,
                                                      "events_per_iter": 1.0})
    answer, ratio, _ = _table(advice.decision_table(_run(tmp_path, d.json())))[
        "Which event library costs what over its mechanism"]
    assert re.fullmatch(r"least libuv \(\+[3-7]%\), most libevent_epoll \(\+[34]\d%\)", answer)
    assert ratio.startswith("libevent_epoll/epoll_lt = 1.")


def test_the_server_line_comes_from_c10k_data(tmp_path):
    # gbfake's CPU per request: uring_recv_multishot_defer 0.8 × epoll_lt's, the least.
    run = _run(tmp_path, gbfake.server_run(engines=True))
    table = _table(advice.decision_table(run))
    answer, ratio, rows = table["epoll against io_uring, as a server"]
    assert answer == "uring_recv_multishot_defer: less CPU per request"
    assert ratio.startswith("uring_recv_multishot_defer/epoll_lt CPU per request = 0.8")
    # The point with the most idle connections that the engine measured.
    idle = max(b.name.get("idle") for b in run.select("server", "uring_recv_multishot_defer"))
    assert ratio.endswith(f" at I = {idle:,}, C = 32")
    assert rows == f"`server/{{uring_recv_multishot_defer,epoll_lt}}/idle:{idle}/conns:32`"


def test_no_data_no_table(tmp_path):
    d = gbfake.Doc(reps=3)
    for n in (16, 256):
        d.add(f"dispatch/epoll_lt/fds:{n}/active:1", {"ns_per_event": 2000.0,
                                                      "events_per_iter": 1.0})
    run = _run(tmp_path, d.json())
    assert advice.decision_table(run) == []
    assert advice.TABLE_TITLE not in summary.render(run, [])


def test_the_table_follows_registry_facts_not_names(tmp_path):
    # The reference row renamed everywhere (rows and registry): the same table, renamed.
    import json
    doc = gbfake.everything_run()
    renamed = json.loads(json.dumps(doc).replace("epoll_lt", "level_list"))
    before = advice.decision_table(_run(tmp_path, doc))
    after = advice.decision_table(_run(tmp_path, renamed, "renamed.json"))
    assert "epoll_lt" in "\n".join(before)
    assert after == [line.replace("epoll_lt", "level_list") for line in before]


def _churn_doc(split=True):
    """poll (a few ns in add(), the scan at the wait), epoll_lt (a syscall in add()) and
    uring_oneshot (an SQE in add(), submitted by the wait) at three N, noise-free."""
    d = gbfake.Doc(reps=3, noise=0.0)
    for n in (16, 1024, 8192):
        for bk, counters in (("poll", gbfake.churn_counters(n, 5.0, 15.0 * n, 4.0, 300.0)),
                             ("epoll_lt", gbfake.churn_counters(n, 3000.0, 900.0, 2500.0,
                                                                900.0)),
                             ("uring_oneshot", gbfake.churn_counters(n, 12.0, 2000.0 * n, 11.0,
                                                                     400.0 * n))):
            if not split:
                counters = {k: counters[k] - counters[f"ns_per_wait_after_{k[7:]}s"] / n
                            for k in ("ns_per_add", "ns_per_remove")}
            d.add(f"churn/{bk}/fds:{n}", counters)
    return d.json()


def test_churn_sentences_charge_the_wait_and_say_where_an_add_is_paid(tmp_path):
    run = _run(tmp_path, _churn_doc())
    text = _items(advice.section(run))["Registration churn"]
    first, second, where = text.strip().split("\n")
    # poll: 5 + 15 = 20 ns per add, the lowest; uring_oneshot's add() alone (12 ns) would
    # have been, but its wait carries 2,000 ns per add.
    assert first.startswith("At fds:16, poll has the lowest ns_per_add — an add() with its "
                            "share of the wait(0) after the batch")
    assert second.startswith("At fds:8192, poll has the lowest ns_per_add (20.0, median)")
    assert where.startswith("At fds:1024, where an add's cost is paid")
    assert "mostly at the wait for uring_oneshot (12.0 + 2,000), poll (5.00 + 15.0)" in where
    assert "mostly in add() for epoll_lt (3,000 + 0.88)" in where
    assert where.endswith("Rows: `churn/{poll,epoll_lt,uring_oneshot}/fds:1024`.")
    churn = "\n".join(summary.churn_section(run))
    assert "waits once (timeout 0, nothing ready)" in churn
    assert "| 1,024 | 3,000 + 0.88 | 12.0 + 2,000 | 5.00 + 15.0 |" in churn


def test_churn_rows_of_a_file_without_the_waits_keep_their_old_meaning(tmp_path):
    # A results file written before the waits were timed: ns_per_add is the call alone, so
    # no sentence or table may say that it counts a wait.
    run = _run(tmp_path, _churn_doc(split=False))
    text = _items(advice.section(run))["Registration churn"]
    assert "wait" not in text and "where an add's cost is paid" not in text
    assert text.strip().startswith("At fds:16, poll has the lowest ns_per_add (5.00, median)")
    churn = "\n".join(summary.churn_section(run))
    assert "wait" not in churn and " + " not in churn
