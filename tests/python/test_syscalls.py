"""Syscalls per event, checked: every available registry row makes exactly its expected set
of system calls per chain event (plots/syscalls.py says which and why), counted with strace
over build/release/pollbench-syscalls. A row that gains a call per event (libevent's epoll
backend with a precise timer: a timerfd_settime per dispatch) fails here, with the set it
makes. Needs strace (a package of `./pollbench test`) and ptrace of a child."""

import json
import subprocess

import pytest

import syscalls
from benchbin import BENCH, needs_bench

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


def test_a_library_row_is_held_to_its_mechanisms_set_unless_listed():
    assert syscalls.expected("libevent_epoll", "epoll_lt") == syscalls.EXPECTED["epoll_lt"]
    assert syscalls.expected("asio_epoll", "epoll_lt") == syscalls.EXPECTED["asio_epoll"]
    assert syscalls.expected("a_new_mechanism", None) is None


def test_an_extra_call_per_event_differs_from_the_expected_set():
    per_event = {k: v / 2 for k, v in syscalls.parse(TRACE).items()}
    assert syscalls.per_event_set(per_event) != syscalls.expected("libevent_epoll", "epoll_lt")
    assert "timerfd_settime 1" in syscalls.describe(per_event)


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
        want = syscalls.expected(row, r.get("wraps"))
        if want is None:
            wrong.append(f"{row}: no expected set in plots/syscalls.py EXPECTED; it makes "
                         f"{syscalls.describe(per_event)}")
        elif got != want:
            wrong.append(f"{row}: {syscalls.describe(per_event)} per chain event, expected "
                         f"{', '.join(f'{k} {v:g}' for k, v in sorted(want.items()))}")
    assert not wrong, "syscalls per event differ:\n" + "\n".join(wrong)
