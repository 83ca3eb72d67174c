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


def _row(name, idx, rep, reps, counters, index):
    real = counters.get("ns_per_event", counters.get("ns_per_roundtrip", 100.0))
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
        real = counters.get("ns_per_event", counters.get("ns_per_roundtrip", 100.0))
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

    def add(self, name, counters, noise=None, aggregates=True):
        noise = self.noise if noise is None else noise
        samples = []
        for rep in range(self.reps):
            f = math.exp(self.rng.gauss(0, noise)) if noise else 1.0
            s = {k: (v * f if k.startswith("ns_") else v) for k, v in counters.items()}
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
    per_event_fixed = {"select": 350, "poll": 330, "epoll_lt": 420, "epoll_et": 410}
    per_fd = {"select": 2.0, "poll": 1.6, "epoll_lt": 0.0, "epoll_et": 0.0}
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
            if backend == "select" and n > 1024:
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
    for mech, backend in (("select", "select"), ("poll", "poll"), ("epoll", "epoll_lt")):
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
