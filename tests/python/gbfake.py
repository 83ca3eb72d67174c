"""Build Google Benchmark 1.7.1 JSON documents in its exact shape, for tests.

The real files in tests/data/ come from the suite; these synthetic ones let a test choose the
numbers (e.g. a cost that is exactly linear in N) and the defects (errors, missing parts).
The row layout (field order, aggregate rows after the repetitions, error rows without
aggregates) was copied from the output of libbenchmark 1.7.1; the context carries the
registry of tests/data/registry.json (checked against the binary's by test_fakes.py), and
every name the builders below make is one the real binary registers (test_fakes.py checks
them against `pollbench-bench --benchmark_list_tests`). A document of several processes is
shaped like the pipeline's merged results.json: every repetition row carries
`pollbench_process`, no aggregate rows.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics

REGISTRY_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "data", "registry.json")
with open(REGISTRY_PATH, encoding="utf-8") as _f:
    REGISTRY = json.load(_f)
REGISTRY_TEXT = json.dumps(REGISTRY, separators=(",", ":"))
REGISTRY_NAMES = [r["name"] for r in REGISTRY]


def skip_message(backend, n, slack=7):
    """The message the suite gives when a backend's fd limit refuses the N-th fd (bench/
    common.cpp); the fds of a pool start a few numbers above 0."""
    return (f"{backend}: highest polled fd {n + slack} is above the largest fd it accepts "
            "(1023)")


def refuses(backend, n, slack=7):
    """Would the real suite skip `backend` at N fds (its max_fd from the registry)?"""
    row = next((r for r in REGISTRY if r["name"] == backend), None)
    return row is not None and n + slack > row["max_fd"]

CONTEXT = {
    "date": "2026-11-27T16:36:57+00:00",
    "host_name": "vm",
    "executable": "./build/release/pollbench-bench",
    "num_cpus": 2,
    "mhz_per_cpu": 2100,
    "cpu_scaling_enabled": False,
    "caches": [],
    "load_avg": [0.1, 0.14, 0.07],
    "library_build_type": "release",
    "pollbench_kernel": "6.1.0-test",
    "pollbench_cpu_model": "Test CPU @ 2.10GHz",
    "pollbench_cores": "2",
    "pollbench_hostname": "vm",
    "pollbench_fd_kind": "socketpair",
    "pollbench_registry": REGISTRY_TEXT,
}


def _real_time(counters):
    """real_time of a row: the given one (e.g. wakeup's manual time = mean latency), else the
    cost counter."""
    if "_real_time" in counters:
        return counters["_real_time"]
    return counters.get("ns_per_event", counters.get("ns_per_roundtrip", 100.0))


def _row(name, idx, rep, reps, counters, index, process=None, cpu=None):
    real = _real_time(counters)
    counters = {k: v for k, v in counters.items() if k != "_real_time"}
    row = {"name": name, "family_index": idx, "per_family_instance_index": index,
           "run_name": name, "run_type": "iteration", "repetitions": reps,
           "repetition_index": rep, "threads": 1, "iterations": 1000,
           "real_time": real, "cpu_time": real, "time_unit": "ns"}
    row.update(counters)
    if cpu is not None:
        start, end = cpu
        row.update({"cpu": float(start), "cpu_end": float(end),
                    "cpu_migrated": float(start != end)})
    if process is not None:
        row["pollbench_process"] = process
    return row


def _aggregates(name, idx, reps, samples, index):
    out = []
    keys = samples[0].keys()
    for agg in ("mean", "median", "stddev", "cv"):
        counters = {}
        for k in keys:
            vals = [s[k] for s in samples]
            mean = statistics.fmean(vals)
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            counters[k] = {"mean": mean, "median": statistics.median(vals), "stddev": sd,
                           "cv": sd / mean if mean else 0.0}[agg]
        real = _real_time(counters)
        counters = {k: v for k, v in counters.items() if k != "_real_time"}
        row = {"name": f"{name}_{agg}", "family_index": idx,
               "per_family_instance_index": index, "run_name": name,
               "run_type": "aggregate", "repetitions": reps, "threads": 1,
               "aggregate_name": agg,
               "aggregate_unit": "percentage" if agg == "cv" else "time",
               "iterations": reps, "real_time": real, "cpu_time": real, "time_unit": "ns"}
        row.update(counters)
        out.append(row)
    return out


class Doc:
    """Accumulates benchmarks; .json() is the document.

    processes > 1 makes a merged multi-process document: each benchmark gets `reps`
    repetitions in each process, every row carries pollbench_process and the cpu counters,
    and a process effect (a factor exp(N(0, process_noise)) per process and benchmark) moves
    all the repetitions of one process together, as a CPU or a neighbour does.
    """

    def __init__(self, reps=3, seed=1, noise=0.02, context=None, processes=1,
                 process_noise=0.0):
        self.reps, self.noise = reps, noise
        self.processes, self.process_noise = processes, process_noise
        self.rng = random.Random(seed)
        self.context = dict(CONTEXT if context is None else context)
        if processes > 1:
            self.context["pollbench_processes"] = str(processes)
            self.context["pollbench_repetitions_per_process"] = str(reps)
        self.rows = []
        self.family = 0

    def add(self, name, counters, noise=None, aggregates=True, real_time=None, scale=None,
            migrated=()):
        """One benchmark, self.reps repetitions (per process). Time counters (ns_*, *_ns) and
        `real_time` (the row's own time, e.g. a manual time; default: the cost counter) get
        the same noise factor per repetition, so quantiles stay ordered. scale(process) ->
        a factor on the times of that process; `migrated`: (process, repetition) pairs that
        moved to another CPU."""
        noise = self.noise if noise is None else noise
        if real_time is not None:
            counters = dict(counters, _real_time=real_time)
        samples = []
        multi = self.processes > 1
        for proc in range(self.processes):
            pf = math.exp(self.rng.gauss(0, self.process_noise)) if self.process_noise else 1.0
            if scale is not None:
                pf *= scale(proc)
            for rep in range(self.reps):
                f = pf * (math.exp(self.rng.gauss(0, noise)) if noise else 1.0)
                s = {k: (v * f if k.startswith("ns_") or k.endswith("_ns") or k == "_real_time"
                         else v) for k, v in counters.items()}
                samples.append(s)
                cpu = (proc % 2, (proc + 1) % 2 if (proc, rep) in migrated else proc % 2)
                self.rows.append(_row(name, self.family, rep, self.reps, s, 0,
                                      process=proc if multi else None,
                                      cpu=cpu if multi or migrated else None))
        if aggregates and self.reps > 1 and not multi:
            self.rows += _aggregates(name, self.family, self.reps, samples, 0)
        self.family += 1
        return self

    def error(self, name, message):
        for proc in range(self.processes):
            for rep in range(self.reps):
                row = {"name": name, "family_index": self.family,
                       "per_family_instance_index": 0, "run_name": name,
                       "run_type": "iteration", "repetitions": self.reps,
                       "repetition_index": rep, "threads": 1,
                       "error_occurred": True, "error_message": message,
                       "iterations": 0, "real_time": 0.0, "cpu_time": 0.0,
                       "time_unit": "ns"}
                if self.processes > 1:
                    row["pollbench_process"] = proc
                self.rows.append(row)
        self.family += 1
        return self

    def json(self):
        return {"context": self.context, "benchmarks": self.rows}


# Cost models (ns per event) shaped like Linux: select/poll scan all N, epoll does not.
def model_cost(backend, n, a=1):
    per_event_fixed = {"select": 350, "poll": 330, "epoll_lt": 420, "epoll_et": 410,
                       "uring_multishot": 1500, "libevent_select": 520, "libevent_poll": 500,
                       "libevent_epoll": 610, "libuv": 700}
    per_fd = {"select": 2.0, "poll": 1.6, "epoll_lt": 0.0, "epoll_et": 0.0,
              "libevent_select": 2.1, "libevent_poll": 1.7}
    base = per_event_fixed.get(backend, 400)
    return base + per_fd.get(backend, 0.0) * n / a


SIZES = [16, 64, 256, 1024, 4096, 8192]  # a subset of the real sweep's N
ACTIVES = [4, 16, 64, 256, 1024, 4096]    # the active sweep at N = 4,096
LIMITED_N, LIMITED_ACTIVES = 1000, [4, 16, 64, 256, 1000]  # ... at N = 1,000 with an fd limit


LIBRARY_CHURN = [16, 1024, max(SIZES)]  # a library row's churn sizes (bench/sweep.cpp)


def _is_library(backend):
    return any(r["name"] == backend and r["wraps"] for r in REGISTRY)


def _raw_floors(backends):
    return [(r["raw_floor"], r["name"]) for r in REGISTRY
            if r["raw_floor"] and r["name"] in backends]


def churn_counters(n, add_call, wait_after_adds, remove_call, wait_after_removes):
    """A churn row's counters as bench/churn.cpp computes them: the calls per operation, one
    wait after each batch of n, and the main metrics, each call plus its share of the wait."""
    return {"ns_per_add": add_call + wait_after_adds / n,
            "ns_per_remove": remove_call + wait_after_removes / n,
            "ns_per_add_call": add_call, "ns_per_remove_call": remove_call,
            "ns_per_wait_after_adds": wait_after_adds,
            "ns_per_wait_after_removes": wait_after_removes}


def time_split(backend, n, cost):
    """The time split counters of a dispatch/raw/chain row (bench/common.cpp) whose wall time
    per event is `cost`: 30% of it user, 50% kernel (more of it in the kernel for a row that
    walks every fd), and almost no context switch."""
    user = 0.3 * cost if not dict((r["name"], r["wait_cost"]) for r in REGISTRY).get(backend) \
        == "per_registered" or n <= 16 else 0.05 * cost
    return {"user_ns_per_event": user, "sys_ns_per_event": 0.8 * cost - user,
            "vcsw_per_event": 0.0, "ivcsw_per_event": 0.002}


def full_run(reps=3, seed=1, noise=0.02, scale=1.0, backends=("select", "poll", "epoll_lt",
                                                                  "epoll_et"),
             sentinel=(300.0, 305.0, 302.0), context=None, processes=1, process_noise=0.0,
             with_split=False):
    """A complete sweep: dispatch, raw, chain, churn and the sentinel. with_split: the rows
    carry the time split counters, as the binary's have since it records them."""
    def split(backend, n, cost):
        return time_split(backend, n, cost) if with_split else {}

    d = Doc(reps=reps, seed=seed, noise=noise, context=context, processes=processes,
            process_noise=process_noise)
    d.add("sentinel/roundtrip/at:0", {"ns_per_roundtrip": sentinel[0]}, noise=0.01)
    for backend in backends:
        for n in SIZES:
            name = f"dispatch/{backend}/fds:{n}/active:1"
            if refuses(backend, n):
                d.error(name, skip_message(backend, n))
                continue
            c = model_cost(backend, n) * scale
            d.add(name, {"events_per_iter": 1.0, "ns_per_event": c, "waits_per_iter": 1.0,
                         **split(backend, n, c)})
        limited = refuses(backend, max(SIZES))
        fixed_n = LIMITED_N if limited else 4096
        # A library row runs dispatch at A = 1 only (bench/sweep.hpp).
        actives = [] if _is_library(backend) else LIMITED_ACTIVES if limited else ACTIVES
        for a in ([1] if limited else []) + actives:
            c = model_cost(backend, fixed_n, a) * scale
            d.add(f"dispatch/{backend}/fds:{fixed_n}/active:{a}",
                  {"events_per_iter": float(a), "ns_per_event": c, "waits_per_iter": 1.0,
                   **split(backend, fixed_n, c)})
    d.add("sentinel/roundtrip/at:1", {"ns_per_roundtrip": sentinel[1]}, noise=0.01)
    for mech, backend in _raw_floors(backends):
        for n in SIZES:
            name = f"raw/{mech}/fds:{n}/active:1"
            if refuses(backend, n):
                d.error(name, skip_message(mech, n))
                continue
            c = model_cost(backend, n) * 0.97 * scale
            d.add(name, {"events_per_iter": 1.0, "ns_per_event": c, "waits_per_iter": 1.0,
                         **split(backend, n, c)})
    for backend in backends:
        for n in (100, 1000):
            c = (model_cost(backend, n) * 0.5 + 500) * scale
            d.add(f"chain/{backend}/fds:{n}/active:1",
                  {"events_per_iter": 1001.0, "writes": 1000.0, "ns_per_event": c,
                   **split(backend, n, c)})
        for n in LIBRARY_CHURN if _is_library(backend) else SIZES:
            name = f"churn/{backend}/fds:{n}"
            if refuses(backend, n):
                d.error(name, skip_message(backend, n))
                continue
            # O(registered): a few ns in add(), the scan of the N at the wait; O(ready): a
            # syscall in add(), one empty wait.
            if dict((r["name"], r["wait_cost"]) for r in REGISTRY).get(backend) \
                    == "per_registered":
                counters = churn_counters(n, 5.0, 15.0 * n, 4.0, 12.0 * n)
            else:
                counters = churn_counters(n, 300.0, 400.0, 240.0, 400.0)
            d.add(name, {k: v * scale for k, v in counters.items()})
    d.add("sentinel/roundtrip/at:2", {"ns_per_roundtrip": sentinel[2]}, noise=0.01)
    return d.json()


# --- wakeup, herd, timeout ------------------------------------------------------------------

LATENCY_CONTEXT = dict(CONTEXT, pollbench_clock="CLOCK_MONOTONIC",
                       pollbench_timer_slack_ns="50000")
WAKEUP_BACKENDS = ("select", "poll", "epoll_lt", "epoll_et", "uring_multishot", "libuv")
# The real sweep: both placements at N = 16, cpu:other at 1,000 and 8,192 (select stops at
# 1,000).
WAKEUP_POINTS = [(16, "same"), (16, "other"), (1000, "other"), (8192, "other")]
HERD_BACKENDS = ("select", "poll", "epoll_lt", "epoll_exclusive")
HERD_SHARED_BACKENDS = ("epoll_lt", "epoll_et")
TIMEOUT_BACKENDS = ("select", "poll", "epoll_lt", "uring_multishot", "libuv")
RAW_TIMEOUT_PATHS = ("ppoll", "epoll_pwait2")
TIMEOUT_US = (50, 1000, 10000)
# Quantile / median of a wakeup latency distribution with a long tail.
WAKEUP_SHAPE = {"min_ns": 0.6, "p10_ns": 0.75, "p25_ns": 0.88, "p50_ns": 1.0, "p75_ns": 1.15,
                "p90_ns": 1.4, "p99_ns": 2.5, "p999_ns": 6.0, "max_ns": 20.0}
# ms: the wait takes whole milliseconds and rounds a shorter timeout up.
TIMEOUT_RESOLUTION = {"select": "us", "ppoll": "ns", "epoll_pwait2": "ns",
                      "uring_oneshot": "ns", "uring_multishot": "ns"}


def wakeup_p50(backend, n, cpu):
    base = {"same": 3000.0, "other": 8000.0}.get(cpu, 5000.0)
    if backend.startswith("lib"):
        base += 600
    per_fd = {"select": 20.0, "poll": 18.0}.get(backend, 0.0)
    return base + per_fd * n


def herd_woken(scenario, backend, w):
    if scenario == "herd_shared":
        return 1.0 if backend == "epoll_et" else 1.0 + 0.4 * (w - 1)
    return 1.0 if backend == "epoll_exclusive" else float(w)


def timeout_late_ns(backend, t_us):
    res = TIMEOUT_RESOLUTION.get(backend, "ms")
    slack = 55_000.0
    if res == "ms":
        return (math.ceil(t_us / 1000) * 1000 - t_us) * 1000 + slack
    return slack


# The event loop's other descriptors (plots/loopfds.py): the rows the binary registers for them.
TIMERFD_BACKENDS = ("epoll_lt", "uring_multishot", "poll")
SIGNAL_BACKENDS = ("epoll_lt", "uring_multishot", "poll")
WAKE_KINDS = {"eventfd": 9000.0, "pipe": 9500.0, "socketpair": 10500.0}  # p50 ns


def add_loop_descriptors(d, timerfd_backends=TIMERFD_BACKENDS, signal_backends=SIGNAL_BACKENDS,
                         wake_kinds=WAKE_KINDS):
    """timerfd/<row>/us:50, signal/<row>/via:<signalfd|selfpipe> and
    wakeup/epoll_lt/fds:16/cpu:other/wake:<kind> rows: a timerfd ~12 µs late whatever the
    wait's own resolution, arming 450 ns per wait; a self-pipe 40% slower than a signalfd."""
    for bk in timerfd_backends:
        late = 12_000.0
        wait0 = 40.0 if bk.startswith("uring") else 200.0
        d.add(f"timerfd/{bk}/us:50/manual_time",
              {"late_p50_ns": late, "late_p99_ns": 3 * late, "late_max_ns": 60 * late,
               "late_mean_ns": 1.2 * late, "interrupted": 0.0, "wait0_ns": wait0,
               "armed_wait0_ns": wait0 + 450.0, "arm_ns": 450.0},
              real_time=50_000 + 1.2 * late)
    for bk in signal_backends:
        for via, p50 in (("signalfd", 12_000.0), ("selfpipe", 16_800.0)):
            counters = {k: p50 * f for k, f in WAKEUP_SHAPE.items()}
            counters["samples"] = 2048.0
            d.add(f"signal/{bk}/via:{via}/manual_time", counters, real_time=1.3 * p50)
    for kind, p50 in wake_kinds.items():
        counters = {k: p50 * f for k, f in WAKEUP_SHAPE.items()}
        counters["samples"] = 2048.0
        d.add(f"wakeup/epoll_lt/fds:16/cpu:other/wake:{kind}/manual_time", counters,
              real_time=1.3 * p50)
    return d


def add_latency(d, wakeup_backends=WAKEUP_BACKENDS, points=WAKEUP_POINTS, herd=True,
                timeout=True, loop_fds=True):
    """wakeup/herd/herd_shared/timeout/raw_timeout rows in the bench's format
    (results/README.md), and (loop_fds) the timerfd, signal and wake-descriptor rows."""
    for n, cpu in points:
        for bk in wakeup_backends:
            name = f"wakeup/{bk}/fds:{n}/cpu:{cpu}/manual_time"
            if refuses(bk, n):
                d.error(name, skip_message(bk, n))
                continue
            p50 = wakeup_p50(bk, n, cpu)
            counters = {k: p50 * f for k, f in WAKEUP_SHAPE.items()}
            counters["samples"] = 4096.0
            d.add(name, counters, real_time=1.3 * p50)
    if herd:
        for scen, backends in (("herd", HERD_BACKENDS), ("herd_shared", HERD_SHARED_BACKENDS)):
            for bk in backends:
                for w in (1, 2, 4, 8):
                    d.add(f"{scen}/{bk}/waiters:{w}/real_time",
                          {"woken_per_event": herd_woken(scen, bk, w),
                           "first_return_ns": 6000.0 + 300.0 * w},
                          real_time=6000.0 + 300.0 * w)
    if timeout:
        slots = [("timeout", bk) for bk in TIMEOUT_BACKENDS] + \
            [("raw_timeout", p) for p in RAW_TIMEOUT_PATHS]
        for scen, bk in slots:
            for t in TIMEOUT_US:
                late = timeout_late_ns(bk, t)
                d.add(f"{scen}/{bk}/us:{t}/manual_time",
                      {"late_p50_ns": late, "late_p99_ns": 1.3 * late + 20_000,
                       "late_max_ns": 2.0 * late + 40_000, "late_mean_ns": 1.05 * late},
                      real_time=t * 1000 + 1.05 * late)
    if loop_fds:
        add_loop_descriptors(d)
    return d


def latency_run(reps=3, seed=5, noise=0.02, **kw):
    """Only the wakeup, herd and timeout scenarios, with the context keys they add."""
    return add_latency(Doc(reps=reps, seed=seed, noise=noise, context=LATENCY_CONTEXT),
                       **kw).json()


LIBRARY_BACKENDS = ("select", "poll", "epoll_lt", "epoll_et", "uring_multishot",
                    "libevent_select", "libevent_poll", "libevent_epoll", "libuv")


def everything_run(reps=3, seed=7, noise=0.02):
    """A full sweep with the library backends, raw/uring_poll and the wakeup, herd and
    timeout scenarios: the shape of a `./pollbench run`."""
    doc = full_run(reps=reps, seed=seed, noise=noise, backends=LIBRARY_BACKENDS,
                   context=LATENCY_CONTEXT)
    extra = add_latency(Doc(reps=reps, seed=seed + 1, noise=noise)).json()["benchmarks"]
    doc["benchmarks"] += extra
    return doc


# The C10K experiment (server/<loop>/idle:<I>/conns:<C>): the O(registered) rows (select, poll)
# lose requests/s with every idle connection, the others stay flat. Points of the full grid
# that every machine registers (the largest I depends on the fd limit). The loops are registry
# rows and the io_uring completion engines (harness/server_loop.hpp's table).
SERVER_BACKENDS = ("epoll_lt", "uring_multishot", "poll", "select", "libevent_epoll")
SERVER_ENGINES = ("uring_recv_send", "uring_recv_multishot", "uring_recv_multishot_defer")
SERVER_IDLE = (0, 1000, 4000)
SERVER_CONNS = (1, 32)
SERVER_BASE_FDS = 8  # bench/server.cpp, kServerBaseFds
# The server's CPU per request of each loop over epoll_lt's (a loop not listed: 1).
SERVER_CPU_FACTOR = {"uring_multishot": 2.5, "uring_recv_send": 1.2, "uring_recv_multishot": 0.9,
                     "uring_recv_multishot_defer": 0.8, "libevent_epoll": 1.1}
SERVER_RATES = (10_000, 25_000, 50_000, 75_000, 100_000)
SERVER_RATE_IDLE = (0,)
RATE_CONNS = 32  # bench/server.cpp, kRateConns


def server_rate(backend, idle, conns):
    """The rate wrk's load allows (the server's own limit aside: server_capacity)."""
    base = 40_000.0 if conns == 1 else 140_000.0
    row = next((r for r in REGISTRY if r["name"] == backend), {})
    if row.get("wait_cost") == "per_registered":
        return base / (1 + idle * 200e-9 * base)   # one walk of the idle fds per wait
    return base


def server_cpu_ns(backend, idle):
    """The server's CPU per request: 5 µs on epoll_lt, times the loop's factor, plus a walk of
    the idle fds on an O(registered) row."""
    row = next((r for r in REGISTRY if r["name"] == backend), {})
    walk = idle * 200.0 if row.get("wait_cost") == "per_registered" else 0.0
    return 5000.0 * SERVER_CPU_FACTOR.get(backend, 1.0) + walk


def _server_counters(backend, idle, rate, client_busy):
    cpu = server_cpu_ns(backend, idle)
    return {"requests_per_s": rate, "ns_per_request": 1e9 / rate, "cpu_ns_per_request": cpu,
            "user_ns_per_request": 0.4 * cpu, "sys_ns_per_request": 0.6 * cpu,
            "server_busy": min(1.0, cpu * rate / 1e9), "client_busy": client_busy,
            "client_cpu_ns_per_request": client_busy * 1e9 / rate, "requests": rate * 0.1}


def add_server(d, backends=SERVER_BACKENDS, idles=SERVER_IDLE, conns=SERVER_CONNS):
    """closed-loop server rows as bench/server.cpp writes them; select's beyond FD_SETSIZE
    skipped with its message. With 32 connections wrk uses its whole CPU (client-bound)."""
    for c in conns:
        for i in idles:
            for bk in backends:
                name = f"server/{bk}/idle:{i}/conns:{c}/manual_time"
                row = next((r for r in REGISTRY if r["name"] == bk), {})
                highest = SERVER_BASE_FDS + i + c - 1
                if highest > row.get("max_fd", 2 ** 31 - 1):
                    d.error(name, f"{bk}: {i} idle + {c} loaded connections take server fds "
                                  f"up to about {highest}, above the largest fd it accepts "
                                  f"({row['max_fd']})")
                    continue
                # wrk's pace, or the server's, whichever is lower (one CPU each)
                rate = min(server_rate(bk, i, c), server_capacity(bk, i))
                p50 = 1e9 / rate * c
                counters = _server_counters(bk, i, rate, 0.97 if c > 1 else 0.5)
                counters.update({"wrk_requests_per_s": rate * 0.99, "p50_ns": p50,
                                 "p75_ns": 1.1 * p50, "p90_ns": 1.3 * p50, "p99_ns": 2.5 * p50,
                                 "idle": float(i), "errors": 0.0})
                d.add(name, counters, real_time=1e8)
    return d


def server_capacity(backend, idle):
    """The offered rate a loop serves on one CPU: 1 / its CPU per request."""
    return 1e9 / server_cpu_ns(backend, idle)


def add_server_rates(d, loops=SERVER_BACKENDS[:4] + SERVER_ENGINES, idles=SERVER_RATE_IDLE,
                     rates=SERVER_RATES):
    """open-loop rows (pollbench-load's counters): p99 at its floor below the loop's capacity,
    far above it beyond, and the replies short of the offered rate there."""
    for i in idles:
        for bk in loops:
            cap = server_capacity(bk, i)
            for r in rates:
                name = f"server/{bk}/idle:{i}/rate:{r}/manual_time"
                over = r > cap
                replies = min(r, cap)
                p99 = 200e3 if not over else 200e6
                counters = _server_counters(bk, i, replies, 0.3)
                counters.update({"offered_rps": float(r), "reply_rps": replies,
                                 "sent": r * 1.0, "replies": replies * 1.0, "errors": 0.0,
                                 "unanswered": r - replies, "late_sends": 0.0 if not over else r / 2,
                                 "client_late_sends": 0.0,
                                 "p50_ns": p99 / 4, "p90_ns": p99 / 2, "p99_ns": p99,
                                 "p999_ns": 1.5 * p99, "max_ns": 2 * p99,
                                 "idle": float(i)})
                d.add(name, counters, real_time=2.5e8)
    return d


def server_run(reps=3, seed=11, noise=0.02, processes=1, engines=False, rates=False, **kw):
    """Only server rows, with the context of a run that registered the full grid; with
    `engines` the completion engines' closed-loop rows too, with `rates` the open-loop rows."""
    context = dict(CONTEXT)
    loops = list(SERVER_BACKENDS) + (list(SERVER_ENGINES) if engines else [])
    context["pollbench_scenarios"] = json.dumps(
        {"sweep": "full", "server": {"backends": list(SERVER_BACKENDS), "loops": loops,
                                     "engines": list(SERVER_ENGINES) if engines else [],
                                     "grid": True, "window_s": 0.5, "rate_window_s": 0.25,
                                     "rate_windows": 4, "rate_conns": RATE_CONNS,
                                     "largest_idle": 19000}})
    d = Doc(reps=reps, seed=seed, noise=noise, context=context, processes=processes)
    add_server(d, backends=tuple(loops), **kw)
    if rates:
        add_server_rates(d, loops=SERVER_BACKENDS[:4] + (SERVER_ENGINES if engines else ()))
    return d.json()
