"""Build Google Benchmark 1.7.1 JSON documents in its exact shape, for tests.

The real files in tests/data/ come from the suite; these synthetic ones let a test choose the
numbers (e.g. a cost that is exactly linear in N) and the defects (errors, missing parts).
The row layout (field order, aggregate rows after the repetitions, error rows without
aggregates) was copied from the output of libbenchmark 1.7.1.
"""

from __future__ import annotations

import math
import random
import statistics

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
}


def _real_time(counters):
    """real_time of a row: the given one (e.g. wakeup's manual time = mean latency), else the
    cost counter."""
    if "_real_time" in counters:
        return counters["_real_time"]
    return counters.get("ns_per_event", counters.get("ns_per_roundtrip", 100.0))


def _row(name, idx, rep, reps, counters, index):
    real = _real_time(counters)
    counters = {k: v for k, v in counters.items() if k != "_real_time"}
    row = {"name": name, "family_index": idx, "per_family_instance_index": index,
           "run_name": name, "run_type": "iteration", "repetitions": reps,
           "repetition_index": rep, "threads": 1, "iterations": 1000,
           "real_time": real, "cpu_time": real, "time_unit": "ns"}
    row.update(counters)
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
    """Accumulates benchmarks; .json() is the document."""

    def __init__(self, reps=3, seed=1, noise=0.02, context=None):
        self.reps, self.noise = reps, noise
        self.rng = random.Random(seed)
        self.context = dict(CONTEXT if context is None else context)
        self.rows = []
        self.family = 0

    def add(self, name, counters, noise=None, aggregates=True, real_time=None):
        """One benchmark, self.reps repetitions. Time counters (ns_*, *_ns) and `real_time`
        (the row's own time, e.g. a manual time; default: the cost counter) get the same
        noise factor per repetition, so quantiles stay ordered."""
        noise = self.noise if noise is None else noise
        if real_time is not None:
            counters = dict(counters, _real_time=real_time)
        samples = []
        for rep in range(self.reps):
            f = math.exp(self.rng.gauss(0, noise)) if noise else 1.0
            s = {k: (v * f if k.startswith("ns_") or k.endswith("_ns") or k == "_real_time"
                     else v) for k, v in counters.items()}
            samples.append(s)
            self.rows.append(_row(name, self.family, rep, self.reps, s, 0))
        if aggregates and self.reps > 1:
            self.rows += _aggregates(name, self.family, self.reps, samples, 0)
        self.family += 1
        return self

    def error(self, name, message):
        for rep in range(self.reps):
            self.rows.append({"name": name, "family_index": self.family,
                              "per_family_instance_index": 0, "run_name": name,
                              "run_type": "iteration", "repetitions": self.reps,
                              "repetition_index": rep, "threads": 1,
                              "error_occurred": True, "error_message": message,
                              "iterations": 0, "real_time": 0.0, "cpu_time": 0.0,
                              "time_unit": "ns"})
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


SIZES = [16, 64, 256, 1024, 4096, 8192]
ACTIVES = [1, 4, 16, 64, 256, 1024, 4096]


def full_run(reps=3, seed=1, noise=0.02, scale=1.0, backends=("select", "poll", "epoll_lt",
                                                                  "epoll_et"),
             sentinel=(300.0, 305.0, 302.0), context=None):
    """A complete sweep: dispatch, raw, chain, churn and the sentinel."""
    d = Doc(reps=reps, seed=seed, noise=noise, context=context)
    d.add("sentinel/roundtrip/at:0", {"ns_per_roundtrip": sentinel[0]}, noise=0.01)
    for backend in backends:
        for n in SIZES:
            name = f"dispatch/{backend}/fds:{n}/active:1"
            if backend.endswith("select") and n > 1024:
                d.error(name, "select: 4096 fds exceed FD_SETSIZE (1024)")
                continue
            c = model_cost(backend, n) * scale
            d.add(name, {"events_per_iter": 1.0, "ns_per_event": c, "waits_per_iter": 1.0})
        fixed_n = 1024 if backend == "select" else 4096
        for a in ACTIVES:
            if a == 1 or a > fixed_n:
                continue
            c = model_cost(backend, fixed_n, a) * scale
            d.add(f"dispatch/{backend}/fds:{fixed_n}/active:{a}",
                  {"events_per_iter": float(a), "ns_per_event": c, "waits_per_iter": 1.0})
    d.add("sentinel/roundtrip/at:1", {"ns_per_roundtrip": sentinel[1]}, noise=0.01)
    for mech, backend in (("select", "select"), ("poll", "poll"), ("epoll", "epoll_lt"),
                          ("uring_poll", "uring_multishot")):
        if backend not in backends:
            continue
        for n in SIZES:
            name = f"raw/{mech}/fds:{n}/active:1"
            if mech == "select" and n > 1024:
                d.error(name, "select: 4096 fds exceed FD_SETSIZE (1024)")
                continue
            d.add(name, {"events_per_iter": 1.0,
                         "ns_per_event": model_cost(backend, n) * 0.97 * scale,
                         "waits_per_iter": 1.0})
    for backend in backends:
        for n in (100, 1000):
            if backend == "select" and n > 1000:
                continue
            d.add(f"chain/{backend}/fds:{n}/active:1",
                  {"events_per_iter": 1001.0, "writes": 1000.0,
                   "ns_per_event": (model_cost(backend, n) * 0.5 + 500) * scale})
        for n in SIZES:
            name = f"churn/{backend}/fds:{n}"
            if backend == "select" and n > 1024:
                d.error(name, "select: 4096 fds exceed FD_SETSIZE (1024)")
                continue
            add = 300.0 if backend.startswith("epoll") else 20.0
            d.add(name, {"ns_per_add": add * scale, "ns_per_remove": add * 0.8 * scale})
    d.add("sentinel/roundtrip/at:2", {"ns_per_roundtrip": sentinel[2]}, noise=0.01)
    return d.json()


# --- issue 5: wakeup, herd, timeout ---------------------------------------------------------

ISSUE5_CONTEXT = dict(CONTEXT, pollbench_clock="CLOCK_MONOTONIC",
                      pollbench_timer_slack_ns="50000")
WAKEUP_BACKENDS = ("select", "poll", "epoll_lt", "epoll_et", "uring_multishot", "libuv")
WAKEUP_SIZES = [16, 1000, 8192]  # the sweep of results/README.md; select stops at 1,000
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


def add_issue5(d, wakeup_backends=WAKEUP_BACKENDS, cpus=("same", "other"), sizes=WAKEUP_SIZES,
               herd=True, timeout=True):
    """wakeup/herd/herd_shared/timeout rows in the bench's format (results/README.md)."""
    for cpu in cpus:
        for bk in wakeup_backends:
            for n in sizes:
                name = f"wakeup/{bk}/fds:{n}/cpu:{cpu}/manual_time"
                if bk == "select" and n > 1000:
                    d.error(name, f"select: highest polled fd {n + 7} is above the largest fd "
                                  "it accepts (1023)")
                    continue
                p50 = wakeup_p50(bk, n, cpu)
                counters = {k: p50 * f for k, f in WAKEUP_SHAPE.items()}
                counters["samples"] = 4096.0
                d.add(name, counters, real_time=1.3 * p50)
    if herd:
        for scen, backends in (("herd", ("select", "poll", "epoll_lt", "epoll_exclusive")),
                               ("herd_shared", ("epoll_lt", "epoll_et"))):
            for bk in backends:
                for w in (1, 2, 4, 8):
                    d.add(f"{scen}/{bk}/waiters:{w}/manual_time",
                          {"woken_per_event": herd_woken(scen, bk, w),
                           "first_return_ns": 6000.0 + 300.0 * w},
                          real_time=6000.0 + 300.0 * w)
    if timeout:
        for bk in ("select", "poll", "ppoll", "epoll_lt", "epoll_pwait2", "uring_multishot",
                   "libuv"):
            for t in (50, 1000, 10000):
                late = timeout_late_ns(bk, t)
                d.add(f"timeout/{bk}/us:{t}/manual_time",
                      {"late_p50_ns": late, "late_p99_ns": 1.3 * late + 20_000,
                       "late_max_ns": 2.0 * late + 40_000, "late_mean_ns": 1.05 * late},
                      real_time=t * 1000 + 1.05 * late)
    return d


def issue5_run(reps=3, seed=5, noise=0.02, **kw):
    """Only the issue-5 scenarios, with the context keys they add."""
    return add_issue5(Doc(reps=reps, seed=seed, noise=noise, context=ISSUE5_CONTEXT),
                      **kw).json()


LIBRARY_BACKENDS = ("select", "poll", "epoll_lt", "epoll_et", "uring_multishot",
                    "libevent_select", "libevent_poll", "libevent_epoll", "libuv")


def everything_run(reps=3, seed=7, noise=0.02):
    """A full sweep with the issue-6 backends (libraries, raw/uring_poll) and every issue-5
    scenario: what `./pollbench run` gives once both issues are in."""
    doc = full_run(reps=reps, seed=seed, noise=noise, backends=LIBRARY_BACKENDS,
                   context=ISSUE5_CONTEXT)
    extra = add_issue5(Doc(reps=reps, seed=seed + 1, noise=noise)).json()["benchmarks"]
    doc["benchmarks"] += extra
    return doc
