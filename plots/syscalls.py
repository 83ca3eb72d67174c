"""Syscalls per event: what one event of the chain scenario costs each registry row in system
calls, counted with strace over build/release/pollbench-syscalls (tools/syscalls.cpp), and the
set each row is expected to make (its registry row's `syscalls_per_event`, read from the run's
`pollbench_registry`).

Why: at a few microseconds per event nearly all of a row's cost is its syscalls, so one more
syscall per event (libevent 2.1's epoll backend calls timerfd_settime on every dispatch when
its base asks for a precise timer) is a 25-30% slower row that no chart explains. The test
(tests/python/test_syscalls.py) asserts every available row's set; `./pollbench run` records
the counts of the library rows and the mechanisms they wrap in the results (context key
`pollbench_syscalls`), and the summary shows them beside ns per event.

Counting: pollbench-syscalls runs the chain for one row (N pairs, A active, non-blocking
waits) and brackets EVENTS events with two marker write(2) calls on fd -1; strace -f logs
every call, and the calls between the markers, divided by the events, are the row's set.
Calls that happen less than once per 20 events (a library growing a buffer) are left out.

The server rows get the same count per HTTP request (`record_server`, context key
`pollbench_server_syscalls`): pollbench-server serves each loop of the run's server rows under
strace while pollbench-load offers SERVER_RATE requests/s on SERVER_CONNS connections; the two
"stats" lines the server reads on its stdin bracket the counted part, and its own request
counts in the replies divide it. A light fixed rate, so each request mostly wakes the server by
itself: the count is what one request costs when nothing is batched.

Stdlib only. `python3 plots/syscalls.py ROW... [--fds N] [--active A] [--events E]` prints
the counts; `--server LOOP...` the per-request counts of server loops.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "build", "release", "pollbench-syscalls")
CONTEXT_KEY = "pollbench_syscalls"
BEGIN, END = "pollbench-syscalls:begin", "pollbench-syscalls:end"
EVENTS = 400          # enough that a call made once per 20 events shows (20 of them)
RARE = 0.05           # below this many per event, a call is not part of the set


def expected(registry_row: dict) -> dict | None:
    """The set a row must make per chain event, {syscall: calls}: its registry row's
    `syscalls_per_event` (backends/registry.cpp states it, with the reasons; a library row
    that states none carries the set of the row it wraps), or None if the row has none."""
    want = registry_row.get("syscalls_per_event")
    return dict(want) if isinstance(want, dict) and want else None


_CALL = re.compile(r"^(?:\[pid\s+)?\d*\]?\s*([a-z_0-9]+)\(")
_RESUMED = re.compile(r"<\.\.\. [a-z_0-9]+ resumed>")


class Unavailable(Exception):
    """The row does not run here (the tool's reason), or strace is missing."""


class CountError(Exception):
    """The count could not be made (the tool failed or the markers were not seen)."""


def strace() -> str | None:
    return shutil.which("strace")


def parse(log: str) -> dict:
    """{syscall: calls} between the markers of an `strace -f -o` log."""
    counts, inside, seen = {}, False, 0
    for line in log.splitlines():
        if BEGIN in line:
            inside, seen = True, seen + 1
            continue
        if END in line:
            inside, seen = False, seen + 1
            continue
        if not inside or _RESUMED.search(line) or line.lstrip().startswith(("+++", "---")):
            continue
        m = _CALL.match(line.split(None, 1)[1] if line[:1].isdigit() else line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if seen != 2:
        raise CountError("the markers were not both seen in the trace")
    return counts


def count(row: str, n: int = 100, a: int = 1, events: int = EVENTS, tool: str = TOOL,
          timeout: float = 120, fd_kind: str = "socketpair") -> dict:
    """{syscall: calls per event} for one row's chain events over pairs of `fd_kind`;
    raises Unavailable/CountError."""
    tracer = strace()
    if tracer is None:
        raise Unavailable("strace not installed (Debian: strace)")
    if not os.access(tool, os.X_OK):
        raise Unavailable(f"{tool} not built")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "trace")
        proc = subprocess.run([tracer, "-f", "-qq", "-e", "signal=none", "-o", log_path, tool,
                               f"--fd-kind={fd_kind}", row, str(n), str(a), str(events)],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 3:
            raise Unavailable(proc.stderr.strip())
        if proc.returncode != 0:
            why = proc.stderr.strip().splitlines()
            raise CountError(f"{row}: pollbench-syscalls failed (status {proc.returncode}): "
                             + (why[-1] if why else "no message"))
        with open(log_path, encoding="utf-8", errors="replace") as f:
            calls = parse(f.read())
    return {name: c / events for name, c in sorted(calls.items())}


SERVER_CONTEXT_KEY = "pollbench_server_syscalls"
SERVER_RATE = 2000    # requests/s offered while the server is traced
SERVER_CONNS = 32
SERVER_SECONDS = 0.5  # between the two markers: 1,000 requests
_STATS_MARK = re.compile(r'read\(0, "stats\\n"')


def parse_server(log: str) -> dict:
    """{syscall: calls} between the server's first two reads of a "stats" line."""
    counts, seen = {}, 0
    for line in log.splitlines():
        if _STATS_MARK.search(line):
            seen += 1
            if seen == 2:
                break
            continue
        if seen != 1 or _RESUMED.search(line) or line.lstrip().startswith(("+++", "---")):
            continue
        m = _CALL.match(line.split(None, 1)[1] if line[:1].isdigit() else line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if seen < 2:
        raise CountError("the server's two stats reads were not both seen in the trace")
    return counts


def _read_line(stream, proc, timeout: float) -> str:
    """One line of a child's stdout within `timeout` seconds, or CountError."""
    import select as _select
    ready, _, _ = _select.select([stream], [], [], timeout)
    line = stream.readline() if ready else ""
    if not line:
        raise CountError(f"no answer from {os.path.basename(proc.args[0])} within {timeout:g} s")
    return line.strip()


def count_server(loop: str, server: str, load: str, rate: int = SERVER_RATE,
                 seconds: float = SERVER_SECONDS) -> dict:
    """{syscall: calls per request} of one server loop under a fixed-rate load; raises
    Unavailable/CountError. Every process it starts is ended."""
    tracer = strace()
    if tracer is None:
        raise Unavailable("strace not installed (Debian: strace)")
    for tool in (server, load):
        if not os.access(tool, os.X_OK):
            raise Unavailable(f"{tool} not built")
    import time
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "trace")
        srv = subprocess.Popen([tracer, "-f", "-qq", "-e", "signal=none", "-o", log_path, server,
                                "serve", loop], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
        gen = None
        try:
            hello = _read_line(srv.stdout, srv, 20)
            if not hello.startswith("listening "):
                raise CountError(f"{loop}: the server said {hello!r}")
            port = hello.split()[1]
            gen = subprocess.Popen([load, "--port", port, "--rate", str(rate), "--conns",
                                    str(SERVER_CONNS), "--warmup", "0.3", "--duration",
                                    str(seconds + 0.3), "--drain", "1"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            time.sleep(0.4)  # its connections up and its schedule running

            def stats() -> int:
                srv.stdin.write("stats\n")
                srv.stdin.flush()
                reply = _read_line(srv.stdout, srv, 20).split()
                if not reply or reply[0] != "stats":
                    raise CountError(f"{loop}: the server answered {' '.join(reply)!r}")
                return int(reply[1])

            first = stats()
            time.sleep(seconds)
            last = stats()
            gen.wait(timeout=30)
        finally:
            for p in (gen, srv):
                if p is None:
                    continue
                if p is srv and p.stdin:
                    p.stdin.close()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if srv.returncode != 0:
            why = srv.stderr.read().strip().splitlines()
            raise CountError(f"{loop}: the server failed (status {srv.returncode}): "
                             + (why[-1] if why else "no message"))
        with open(log_path, encoding="utf-8", errors="replace") as f:
            calls = parse_server(f.read())
    requests = last - first
    if requests <= 0:
        raise CountError(f"{loop}: no request served while traced")
    # The second marker's own read and the first's reply write are in the count: one each.
    return {name: c / requests for name, c in sorted(calls.items())}


def record_server(doc: dict, bin_dir: str) -> None:
    """Adds SERVER_CONTEXT_KEY to the merged results of a run of the server grid, for every loop
    of its server rows:
    JSON {"rate", "conns", "loops": {loop: {syscall: per request}}, "skipped": {loop: reason}}.
    Never fails the run: a loop that cannot be counted is skipped with its reason."""
    context = doc.get("context", {})
    loops = list(dict.fromkeys(b.get("name", "").split("/")[1] for b in doc.get("benchmarks", [])
                               if b.get("name", "").startswith("server/")
                               and not b.get("error_occurred")))
    # Only a run of the server grid (a filter chose its rows): at about 1.3 s a loop the count
    # would add 10 s to the default and quick sweeps, which measure the loops' CPU already.
    try:
        grid = json.loads(context.get("pollbench_scenarios", "{}")).get("server", {}).get("grid")
    except (TypeError, ValueError, AttributeError):
        grid = False
    if not loops or not grid:
        return
    out = {"rate": SERVER_RATE, "conns": SERVER_CONNS, "loops": {}, "skipped": {}}
    for loop in loops:
        try:
            out["loops"][loop] = count_server(loop, os.path.join(bin_dir, "pollbench-server"),
                                              os.path.join(bin_dir, "pollbench-load"))
        except (Unavailable, CountError, subprocess.TimeoutExpired, OSError, ValueError) as e:
            out["skipped"][loop] = str(e)
    context[SERVER_CONTEXT_KEY] = json.dumps(out, sort_keys=True)


def per_event_set(per_event: dict) -> dict:
    """The calls made at least once per 20 events, rounded to tenths."""
    return {k: round(v, 1) for k, v in per_event.items() if v >= RARE}


def total(per_event: dict) -> float:
    return sum(per_event.values())


def describe(per_event: dict) -> str:
    """'epoll_wait 1, read 1, write 1' (tenths where not whole)."""
    parts = []
    for name, v in sorted(per_event_set(per_event).items(), key=lambda kv: (-kv[1], kv[0])):
        parts.append(f"{name} {v:g}")
    return ", ".join(parts) or "none"


# --- in a run's results ----------------------------------------------------------------------

def rows_to_count(registry_rows: list) -> list:
    """The library rows and the mechanism rows they wrap, in registry order."""
    libs = {r["name"] for r in registry_rows if r.get("wraps")}
    mechs = {r["wraps"] for r in registry_rows if r.get("wraps")}
    return [r["name"] for r in registry_rows
            if (r["name"] in libs or r["name"] in mechs) and r.get("available", True)]


def record(doc: dict, tool: str = TOOL, n: int = 100, a: int = 1) -> None:
    """Adds CONTEXT_KEY to a run's merged results: JSON {"fds", "active", "events", "fd_kind",
    "rows": {row: {syscall: per event}}, "skipped": {row: reason}} for the library rows and
    their mechanisms ("skipped" only, with the reason, when strace is missing), counted over
    the run's fd kind (its pollbench_fd_kind). Never fails the run: a row that cannot be
    counted is skipped with its reason."""
    context = doc.get("context", {})
    try:
        registry_rows = json.loads(context.get("pollbench_registry", "[]"))
    except (TypeError, ValueError):
        return
    measured = {b.get("name", "").split("/")[1] for b in doc.get("benchmarks", [])
                if b.get("name", "").startswith("chain/")}
    rows = [r for r in rows_to_count(registry_rows) if r in measured]
    if not rows:
        return
    fd_kind = context.get("pollbench_fd_kind", "socketpair")
    out = {"fds": n, "active": a, "events": EVENTS, "fd_kind": fd_kind, "rows": {},
           "skipped": {}}
    for row in rows:
        try:
            out["rows"][row] = count(row, n, a, tool=tool, fd_kind=fd_kind)
        except (Unavailable, CountError, subprocess.TimeoutExpired, OSError) as e:
            out["skipped"][row] = str(e)
    context[CONTEXT_KEY] = json.dumps(out, sort_keys=True)


def summary_section(run) -> list:
    """Markdown lines: syscalls per chain event beside ns per chain event for the library rows
    and their mechanisms, from the run's CONTEXT_KEY; [] when the run has none."""
    raw = run.context.get(CONTEXT_KEY)
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return []
    n, a = data.get("fds"), data.get("active")
    rows = data.get("rows", {})
    out = ["## Syscalls per event", "",
           f"System calls per `chain` event, counted with strace at N = {n}, A = {a} "
           f"({data.get('events')} events after a warm-up; calls made less than once per "
           "20 events left out), beside the median ns per chain event at that N and the "
           "largest N of the run. At a few µs per event the syscalls are nearly all of the "
           "cost: a row with one more than its mechanism pays for it.", ""]
    table = []
    order = {name: i for i, name in enumerate(run.registry.names)} if run.registry else {}
    for row, per_event in sorted(rows.items(), key=lambda kv: order.get(kv[0], len(order))):
        calls = describe(per_event)
        want = expected(run.registry.by_name.get(row, {}))
        if want is not None and per_event_set(per_event) != want:
            calls += " (its registry row expects " + describe(want) + ")"
        cells = [f"`{row}`", run.registry.wraps(row) or "–", f"{total(per_event):.2f}", calls]
        cells += [_chain_ns(run, row, n, a), _chain_ns(run, row, _largest_n(run, row, a), a)]
        table.append(cells)
    for row, why in data.get("skipped", {}).items():
        table.append([f"`{row}`", run.registry.wraps(row) or "–", "–", f"not counted: {why}",
                      "–", "–"])
    if not table:
        return []
    out.append("| row | wraps | syscalls / event | calls | ns / event (N small) "
               "| ns / event (N largest) |")
    out.append("|" + "---|" * 6)
    out += ["| " + " | ".join(c) + " |" for c in table]
    return out + [""]


def _largest_n(run, row, a):
    ns = [b.name.get("fds") for b in run.select("chain", row, active=a)]
    return max(ns) if ns else None


def _chain_ns(run, row, n, a) -> str:
    for b in run.select("chain", row, fds=n, active=a):
        if b.has("ns_per_event"):
            return f"{b.median('ns_per_event'):,.0f} (N {n:,})"
    return "–"


def main(argv: list) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="syscalls.py", description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="+")
    p.add_argument("--fds", type=int, default=100)
    p.add_argument("--active", type=int, default=1)
    p.add_argument("--events", type=int, default=EVENTS)
    p.add_argument("--server", action="store_true",
                   help="the ROWs are server loops: count syscalls per HTTP request")
    opts = p.parse_args(argv)
    status = 0
    if opts.server:
        bin_dir = os.path.dirname(TOOL)
        for loop in opts.rows:
            try:
                per = count_server(loop, os.path.join(bin_dir, "pollbench-server"),
                                   os.path.join(bin_dir, "pollbench-load"))
                print(f"{loop}: {total(per):.2f} per request: {describe(per)}")
            except (Unavailable, CountError) as e:
                print(f"{loop}: not counted: {e}")
                status = 1
        return status
    for row in opts.rows:
        try:
            per_event = count(row, opts.fds, opts.active, opts.events)
            print(f"{row}: {total(per_event):.2f} per event: {describe(per_event)}")
        except (Unavailable, CountError) as e:
            print(f"{row}: not counted: {e}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
