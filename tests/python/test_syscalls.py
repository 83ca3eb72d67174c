"""Syscalls per event, checked: every available registry row makes exactly its expected set
of system calls per chain event (its registry row's syscalls_per_event, which
backends/registry.cpp states with the reasons), counted with strace
over build/release/pollbench-syscalls. A row that gains a call per event (libevent's epoll
backend with a precise timer: a timerfd_settime per dispatch) fails here, with the set it
makes. Needs strace (a package of `./pollbench test`) and ptrace of a child."""

import json
import os
import subprocess

import pytest

import syscalls
from benchbin import BENCH, needs_bench

REGISTRY = os.path.join(os.path.dirname(__file__), "..", "data", "registry.json")
SYSCALLS_TOOL = syscalls.TOOL

TRACE = """\
100 write(-1, "x", 1) = 1
100 write(-1, "pollbench-syscalls:begin", 24) = -1 EBADF (Bad file descriptor)
100 epoll_wait(5, [{events=EPOLLIN, data={u32=3, u64=3}}], 32, 0) = 1
100 timerfd_settime(7, 0, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=0, tv_nsec=0}}, NULL) = 0
100 read(3, "x", 256) = 1
100 write(10000, "x", 1) = 1
100 epoll_wait(5, [{events=EPOLLIN, data={u32=4, u64=4}}], 32, 0 <unfinished ...>
101 futex(0x1, FUTEX_WAKE, 1) = 0
100 <... epoll_wait resumed>) = 1
100 timerfd_settime(7, 0, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=0, tv_nsec=0}}, NULL) = 0
100 read(4, "x", 256) = 1
100 write(10001, "x", 1) = 1
100 write(-1, "pollbench-syscalls:end", 22) = -1 EBADF (Bad file descriptor)
100 close(3) = 0
"""


def test_the_trace_is_counted_between_the_markers_only():
    calls = syscalls.parse(TRACE)
    assert calls == {"epoll_wait": 2, "timerfd_settime": 2, "read": 2, "write": 2, "futex": 1}


def _registry_row(name):
    with open(REGISTRY, encoding="utf-8") as f:
        return next(r for r in json.load(f) if r["name"] == name)


def test_the_expected_set_is_the_registry_rows():
    # A library row carries its mechanism's set unless its row states its own (Asio's re-arm).
    lt, lib, asio = (_registry_row(n) for n in ("epoll_lt", "libevent_epoll", "asio_epoll"))
    assert syscalls.expected(lt) == {"epoll_wait": 1, "read": 1, "write": 1}
    assert syscalls.expected(lib) == syscalls.expected(lt)
    assert syscalls.expected(asio) == {"epoll_wait": 2, "epoll_ctl": 1, "read": 1, "write": 1}
    assert syscalls.expected({"name": "a_row_of_an_older_binary"}) is None


def test_an_extra_call_per_event_differs_from_the_expected_set():
    per_event = {k: v / 2 for k, v in syscalls.parse(TRACE).items()}
    assert syscalls.per_event_set(per_event) != syscalls.expected(_registry_row("libevent_epoll"))
    assert "timerfd_settime 1" in syscalls.describe(per_event)


@needs_bench
def test_the_tool_prints_the_rows_expected_set():
    out = subprocess.run([SYSCALLS_TOOL, "epoll_lt", "4", "1", "10"], capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    assert "expected epoll_wait read write" in out, out


def test_a_trace_without_both_markers_is_refused():
    with pytest.raises(syscalls.CountError):
        syscalls.parse(TRACE.split("pollbench-syscalls:end")[0])


@needs_bench
def test_every_available_row_makes_its_expected_syscalls_per_event():
    if syscalls.strace() is None:
        pytest.fail("strace is not installed (./pollbench test installs it: Debian strace)")
    out = subprocess.run([BENCH, "--benchmark_filter=sentinel", "--benchmark_format=json",
                          "--benchmark_min_time=0.001", "--benchmark_repetitions=1"],
                         capture_output=True, text=True, timeout=120, check=True)
    registry = json.loads(json.loads(out.stdout)["context"]["pollbench_registry"])
    rows = [r for r in registry if r["available"]]
    assert rows, "the binary's registry has no available row"
    wrong = []
    for r in rows:
        row = r["name"]
        per_event = syscalls.count(row, n=100, a=1)
        got = syscalls.per_event_set(per_event)
        want = syscalls.expected(r)
        if want is None:
            wrong.append(f"{row}: its registry row states no syscalls_per_event; it makes "
                         f"{syscalls.describe(per_event)}")
        elif got != want:
            wrong.append(f"{row}: {syscalls.describe(per_event)} per chain event, expected "
                         f"{', '.join(f'{k} {v:g}' for k, v in sorted(want.items()))}")
    assert not wrong, "syscalls per event differ:\n" + "\n".join(wrong)
