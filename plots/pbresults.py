"""Load and validate pollbench results (Google Benchmark 1.7.1 JSON). Standard library only.

A results file holds `context` (machine metadata) and `benchmarks` (one row per repetition,
run_type "iteration", plus aggregate rows "<name>_mean", "_median", "_stddev", "_cv"). This
module turns it into `Run` objects holding one `Bench` per benchmark: its parsed name, the
per-repetition samples of every counter, GB's own aggregates and any error message.

Medians and CVs are computed from the repetition samples when the file has them (so the
spread can be drawn), and taken from GB's aggregates only when a run was made with
--benchmark_report_aggregates_only.

What the suite knows about its backends travels in the file: the context value
`pollbench_registry` is the registry (preference order, capabilities, raw floor, wrapped
mechanism), so nothing here keeps a list of backend names. A merged run of several processes
marks every repetition with `pollbench_process`; medians and CVs pool all of them, and the
per-process medians give the between-process spread.
"""

from __future__ import annotations

import errno
import json
import math
import os
import statistics
import tempfile
from dataclasses import dataclass, field

import scenarios

# Segments Google Benchmark itself appends to a name (e.g. ->Repetitions(3) adds
# "/repeats:3"); they are not benchmark parameters and must not split one benchmark in two.
GB_NAME_SUFFIXES = {"repeats", "min_time", "min_warmup_time", "iterations", "threads"}
GB_NAME_FLAGS = {"real_time", "manual_time", "process_time"}

# Counters every benchmark row carries that are not measurements: where the repetition ran
# (sched_getcpu() at its start and end, and whether they differ), its place in the
# execution order (exec_order: Google Benchmark writes rows grouped, not in the order they ran)
# and, on the rigs' rows, how many CPUs their threads were placed on (cpus_used).
# They are never a metric.
CPU_COUNTERS = ("cpu", "cpu_end", "cpu_migrated", "exec_order", "row_wall_s", "cpus_used")
# The noise sentinel's two gauges (bench/sentinel.cpp), by their path: a round trip on one CPU
# (the machine's noise, whose drift the reports give) and one between two CPUs (the cost of one
# CPU waking another, which the host of a VM changes for minutes at a time; compare reads it
# for the rows whose threads were on two CPUs).
SENTINEL_GAUGE = "roundtrip"
CROSS_CPU_GAUGE = "cross_cpu"
# Row fields of the merged results.json that say which process made a repetition.
PROCESS_FIELD = "pollbench_process"
REGISTRY_KEY = "pollbench_registry"
SCENARIOS_KEY = "pollbench_scenarios"
DRIFT_KEY = "pollbench_sentinel_drift"
READINGS_KEY = "pollbench_sentinel_ns_per_roundtrip"
# Above this sentinel drift the reports warn that the machine was not quiet.
DRIFT_WARNING = 0.10

TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

UNKNOWN = "unknown"


class ResultsError(Exception):
    """A results file that cannot be used; str() is the one-line problem, .path the file."""

    def __init__(self, path: str, problem: str):
        super().__init__(problem)
        self.path = path
        self.problem = problem

    def line(self) -> str:
        return f"pollbench: {self.path}: {self.problem}"


def _number(text: str):
    """'8192' -> 8192, '0.5' -> 0.5, anything else stays a string (e.g. cpu:same)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


class Registry:
    """The backend registry of a run, read from its `pollbench_registry` context value (a JSON
    array of rows in preference order, results/README.md). Every backend fact the reports
    use comes from here: order, raw floor, the mechanism a library wraps, the fd limit."""

    def __init__(self, rows: list):
        self.rows = rows
        self.by_name = {r["name"]: r for r in rows}
        self.names = [r["name"] for r in rows]

    @classmethod
    def from_context(cls, path: str, context: dict) -> "Registry":
        text = context.get(REGISTRY_KEY)
        if text is None:
            raise ResultsError(path, f"no '{REGISTRY_KEY}' in the context: not a pollbench run "
                               "(plain Google Benchmark output has no backend registry)")
        try:
            rows = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError:
            raise ResultsError(path, f"'{REGISTRY_KEY}' in the context is not JSON") from None
        if not isinstance(rows, list) or not rows or not all(
                isinstance(r, dict) and isinstance(r.get("name"), str) and r["name"]
                for r in rows):
            raise ResultsError(path, f"'{REGISTRY_KEY}' in the context is not a list of "
                               "rows with a name")
        names = [r["name"] for r in rows]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ResultsError(path, f"'{REGISTRY_KEY}' names the backend {dup!r} twice")
        return cls(rows)

    def fact(self, backend: str, key: str, default=None):
        return self.by_name.get(backend, {}).get(key, default)

    def raw_floor(self, backend: str) -> str | None:
        """The raw mechanism whose bare loop `backend` wraps (raw/<it>), or None."""
        return self.fact(backend, "raw_floor") or None

    def row_of_raw(self, mechanism: str) -> str | None:
        """The first row (in preference order) whose raw floor is `mechanism`."""
        return next((r["name"] for r in self.rows if r.get("raw_floor") == mechanism), None)

    def wraps(self, backend: str) -> str | None:
        """For a library row: the registry row of the mechanism it runs on, else None."""
        return self.fact(backend, "wraps") or None

    def libraries(self) -> list:
        """[(library, mechanism row)] in preference order."""
        return [(r["name"], r["wraps"]) for r in self.rows if r.get("wraps")]

    def baseline_row(self, have) -> str | None:
        """The readiness loop every other row is set against: the first row in preference
        order, among the names in `have`, that is a level-triggered mechanism (no `wraps`)
        waiting at a cost per ready fd (epoll_lt in today's registry), or None."""
        return next((r["name"] for r in self.rows if r["name"] in have
                     and r.get("wait_cost") == "per_ready" and not r.get("edge_triggered")
                     and not r.get("wraps")), None)

    def max_fd(self, backend: str):
        """The largest fd number the row accepts, or None when it has no limit of note."""
        v = self.fact(backend, "max_fd")
        limited = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 31 - 1
        return v if limited else None

    def rank(self, name: str, slot: str = "row"):
        """Sort key of a name of the namespace `slot` (scenarios.Scenario.slot): registry rows
        (a "loop" may be one) in preference order, each raw mechanism right after the first row it is the floor of,
        then any other name (e.g. a raw timeout path) by name."""
        if slot in ("row", "loop") and name in self.by_name:
            return (self.names.index(name), 0, "")
        row = self.row_of_raw(name) if slot == "raw" else None
        if row is not None:
            return (self.names.index(row), 1, "")
        return (len(self.names), 0, name)

    def order(self, names, slot: str = "row") -> list:
        return sorted(names, key=lambda name: self.rank(name, slot))

    def style_order(self) -> list:
        """Every name that gets a colour: the rows in preference order (raw mechanisms share
        their row's colour)."""
        return list(self.names)


@dataclass(frozen=True)
class Name:
    """A parsed benchmark name: scenario/backend/key:value/..."""

    scenario: str
    backend: str
    params: tuple  # ((key, value), ...) in name order

    @property
    def key(self) -> str:
        """The canonical name without GB's own suffixes: the identity used across runs."""
        parts = [self.scenario] + ([self.backend] if self.backend else [])
        parts += [f"{k}:{v}" for k, v in self.params]
        return "/".join(parts)

    def get(self, param: str, default=None):
        for k, v in self.params:
            if k == param:
                return v
        return default


def parse_name(name: str) -> Name:
    """Split 'dispatch/epoll_lt/fds:512/active:1' (or its aggregate/GB-suffixed forms)."""
    segments = [s for s in name.split("/") if s]
    scenario = segments[0] if segments else name
    rest = segments[1:]
    backend = ""
    if rest and ":" not in rest[0] and rest[0] not in GB_NAME_FLAGS:
        backend, rest = rest[0], rest[1:]
    params = []
    for seg in rest:
        if seg in GB_NAME_FLAGS:
            continue
        key, sep, value = seg.partition(":")
        if not sep:
            params.append((seg, ""))
        elif key not in GB_NAME_SUFFIXES:
            params.append((key, _number(value)))
    return Name(scenario, backend, tuple(params))


@dataclass
class Bench:
    """One benchmark (one name) of a run: its samples, aggregates and error, if any."""

    name: Name
    samples: dict = field(default_factory=dict)      # counter -> [value per repetition]
    processes: dict = field(default_factory=dict)    # counter -> [process of each value]
    aggregates: dict = field(default_factory=dict)   # "median"/"cv"/... -> {counter: value}
    errors: list = field(default_factory=list)       # error messages of failed repetitions
    sources: set = field(default_factory=set)        # files the rows came from
    migrated: int = 0                                # repetitions with cpu_migrated = 1
    cpus: dict = field(default_factory=dict)         # CPU a repetition started on -> count
    cpus_used: int = 0   # the most CPUs its threads were placed on (0: the row does not say)
    unstable: object = None  # stability.Unstable when its processes disagree (set there)

    @property
    def scenario(self) -> str:
        return self.name.scenario

    @property
    def backend(self) -> str:
        return self.name.backend

    @property
    def ok(self) -> bool:
        return bool(self.samples) or bool(self.aggregates.get("median") or
                                          self.aggregates.get("mean"))

    @property
    def error(self) -> str | None:
        """The reason this benchmark has no data (skipped/errored), or None."""
        if self.ok:
            return None
        return self.errors[0] if self.errors else "no data"

    def has(self, counter: str) -> bool:
        return self.values(counter) is not None or self._aggregate("median", counter) is not None

    def values(self, counter: str):
        """Every repetition of every process (pooled), or None."""
        vals = self.samples.get(counter)
        return vals if vals else None

    def by_process(self, counter: str) -> dict:
        """{process: [values]} in the order the processes appear."""
        out = {}
        for p, v in zip(self.processes.get(counter, []), self.samples.get(counter, [])):
            out.setdefault(p, []).append(v)
        return out

    def process_count(self, counter: str) -> int:
        return len(self.by_process(counter))

    def process_medians(self, counter: str) -> list:
        return [statistics.median(v) for v in self.by_process(counter).values()]

    def _aggregate(self, agg: str, counter: str):
        return self.aggregates.get(agg, {}).get(counter)

    def median(self, counter: str):
        vals = self.values(counter)
        if vals:
            return statistics.median(vals)
        return self._aggregate("median", counter) or self._aggregate("mean", counter)

    def cv(self, counter: str):
        """Coefficient of variation over all repetitions of all processes (0.05 = 5%), or
        None if unknown."""
        vals = self.values(counter)
        if vals and len(vals) >= 2:
            mean = statistics.fmean(vals)
            return statistics.stdev(vals) / mean if mean else None
        return self._aggregate("cv", counter)

    def within_cv(self, counter: str):
        """The CV inside one process: the pooled within-process standard deviation over the
        mean. Equal to cv() for a single-process run."""
        groups = [g for g in self.by_process(counter).values()]
        n = sum(len(g) for g in groups)
        if not groups or n - len(groups) < 1:
            return self.cv(counter) if len(groups) <= 1 else None
        ss = sum(sum((x - statistics.fmean(g)) ** 2 for x in g) for g in groups)
        mean = statistics.fmean(self.values(counter))
        return math.sqrt(ss / (n - len(groups))) / mean if mean else None

    def between_spread(self, counter: str):
        """(max - min) / median of the per-process medians: how far apart separate processes
        measured this row. None with fewer than two processes."""
        meds = self.process_medians(counter)
        if len(meds) < 2:
            return None
        mid = statistics.median(meds)
        return (max(meds) - min(meds)) / mid if mid else None

    def spread(self, counter: str):
        """(low, high) across repetitions — min/max of the samples, else median ± stddev."""
        vals = self.values(counter)
        if vals:
            return min(vals), max(vals)
        med, sd = self.median(counter), self._aggregate("stddev", counter)
        if med is None:
            return None
        sd = sd or 0.0
        return max(med - sd, med * 1e-3), med + sd

    def repetitions(self, counter: str) -> int:
        vals = self.values(counter)
        return len(vals) if vals else (1 if self.median(counter) is not None else 0)


class Run:
    """One results set: context + benchmarks (possibly merged from several files)."""

    def __init__(self, paths: list, context: dict, benches: dict, registry: Registry):
        self.paths = paths
        self.context = context
        self.benches = benches  # key -> Bench, in file order
        self.registry = registry

    @property
    def path(self) -> str:
        return self.paths[0]

    @property
    def label(self) -> str:
        """results/<timestamp>-<host>/results.json -> '<timestamp>-<host>'; else the stem."""
        base = os.path.basename(self.path)
        parent = os.path.basename(os.path.dirname(os.path.abspath(self.path)))
        if base == "results.json" and parent:
            return parent
        return os.path.splitext(base)[0]

    def meta(self, key: str) -> str:
        value = self.context.get(key)
        if value is None or value == "":
            return UNKNOWN
        return str(value)

    def machine(self) -> str:
        cpu = self.meta("pollbench_cpu_model")
        kernel = self.meta("pollbench_kernel")
        return f"{cpu}, Linux {kernel}" if kernel != UNKNOWN else cpu

    def date(self) -> str:
        d = self.meta("date")
        return d[:16].replace("T", " ") if d != UNKNOWN else d

    def subtitle(self) -> str:
        host = self.meta("pollbench_hostname")
        if host == UNKNOWN:
            host = self.meta("host_name")
        cores = self.meta("pollbench_cores")
        if cores == UNKNOWN:
            cores = self.meta("num_cpus")
        text = f"{self.machine()} · {cores} CPUs · {host} · {self.date()}"
        kind = self.meta("pollbench_fd_kind")   # `run --fd-kind`: what the polled fds are
        return text if kind == UNKNOWN else f"{text} · {kind} fds"

    def select(self, scenario: str, backend: str | None = None, ok_only: bool = True, **params):
        """Benchmarks of a scenario (and backend), whose params match the given ones."""
        out = []
        for b in self.benches.values():
            if b.scenario != scenario or (backend is not None and b.backend != backend):
                continue
            if ok_only and not b.ok:
                continue
            if all(b.name.get(k) == v for k, v in params.items()):
                out.append(b)
        return out

    def backends(self, scenario: str) -> list:
        """Backends (or raw mechanisms, or the scenario's own names) with data in a
        scenario, in registry order."""
        seen = []
        for b in self.benches.values():
            if b.scenario == scenario and b.ok and b.backend not in seen:
                seen.append(b.backend)
        return self.registry.order(seen, scenarios.slot_of(scenario))

    def failed(self) -> list:
        return [b for b in self.benches.values() if not b.ok]

    def processes(self) -> int:
        """How many processes made this run (1 for a file without pollbench_process)."""
        seen = set()
        for b in self.benches.values():
            for procs in b.processes.values():
                seen.update(procs)
        return max(1, len(seen))

    def scenarios_context(self) -> dict:
        """The parameters every scenario registered (`pollbench_scenarios`), or {}."""
        text = self.context.get(SCENARIOS_KEY)
        try:
            value = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def _read_json(path: str):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ResultsError(path, "no such file") from None
    except IsADirectoryError:
        raise ResultsError(path, "is a directory, not a results file") from None
    except OSError as e:
        raise ResultsError(path, f"cannot read: {e.strerror or e}") from None
    if not raw.strip():
        raise ResultsError(path, "empty file")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" (line {e.lineno})" if isinstance(e, json.JSONDecodeError) else ""
        raise ResultsError(path, f"not JSON{where}: Google Benchmark JSON expected") from None


def _validate(path: str, doc) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list) \
            or not isinstance(doc.get("context", {}), dict):
        raise ResultsError(path, "not Google Benchmark output (no 'context' and 'benchmarks')")
    if not doc["benchmarks"]:
        raise ResultsError(path, "no benchmark rows")
    for i, row in enumerate(doc["benchmarks"]):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise ResultsError(path, f"not Google Benchmark output (row {i} has no name)")


# Row fields of Google Benchmark's own that are numbers but not measurements to check here.
_GB_INTEGERS = ("family_index", "per_family_instance_index", "repetitions",
                "repetition_index", "threads")


def _impossible(row: dict) -> str | None:
    """What makes a row's values impossible for any run (results/README.md's counters), or
    None. Every time and counter is a count or a duration: never negative, never NaN (GB's
    own cv aggregate of a counter that is always 0 is 0/0, so cv rows may be NaN); a row
    says the unit of its times; one iteration of a row with A ready fds collects A events
    (and a chain row's W forwarded writes on top: events_per_iter = W + A)."""
    if row.get("time_unit") not in TIME_UNIT_NS:
        unit = row.get("time_unit")
        return ("no time unit" if unit is None else f"unknown time unit {unit!r}") + \
            f" (expected {', '.join(TIME_UNIT_NS)})"
    cv = row.get("run_type") == "aggregate" and row.get("aggregate_name") == "cv"
    for t in ("real_time", "cpu_time"):
        if not isinstance(row.get(t), (int, float)) or isinstance(row.get(t), bool):
            return f"no {t}"
    for k, v in row.items():
        if k in _GB_INTEGERS or not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if math.isnan(v) and not cv:
            return f"{k} is NaN"
        if v < 0:
            return f"{k} is negative ({v:g})"
        if math.isinf(v):
            return f"{k} is infinite"
    if row.get("run_type", "iteration") == "iteration":
        if not isinstance(row.get("iterations"), int) or row["iterations"] < 1:
            return f"iterations is {row.get('iterations')!r}, not a positive whole number"
        active = parse_name(row.get("run_name") or row["name"]).get("active")
        got = row.get("events_per_iter")
        if isinstance(active, (int, float)) and isinstance(got, (int, float)):
            writes = row.get("writes", 0)
            want = active + (writes if isinstance(writes, (int, float)) else 0)
            if got != want:
                return (f"events_per_iter is {got:g} where its name says A = {active:g}"
                        + (f" and writes W = {writes:g} (expected W + A = {want:g})"
                           if writes else ""))
    return None


def _counters(row: dict) -> dict:
    """Every numeric field of a row that is a measurement (GB's counters + times in ns); GB's
    bookkeeping, the process id and the CPU counters are not."""
    skip = {"family_index", "per_family_instance_index", "repetitions", "repetition_index",
            "threads", "iterations", "real_time", "cpu_time", PROCESS_FIELD, *CPU_COUNTERS}
    out = {k: float(v) for k, v in row.items()
           if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
           and math.isfinite(v)}
    scale = TIME_UNIT_NS.get(row.get("time_unit", "ns"), 1.0)
    for t in ("real_time", "cpu_time"):
        if isinstance(row.get(t), (int, float)):
            out[t + "_ns"] = float(row[t]) * scale
    return out


def _add_rows(path: str, file_index: int, doc: dict, benches: dict) -> None:
    families = {}  # (process, run name) -> family_index: one name, one benchmark family
    for i, row in enumerate(doc["benchmarks"]):
        problem = None if row.get("error_occurred") else _impossible(row)
        if problem is not None:
            raise ResultsError(path, f"row {i} ({row['name']}): {problem}: no run produces "
                               "this, refusing the file")
        run_type = row.get("run_type", "iteration")
        # run_name is the name without the aggregate suffix; older GB lacks it.
        base = row.get("run_name") or row["name"]
        agg = row.get("aggregate_name") if run_type == "aggregate" else None
        if agg and not row.get("run_name") and base.endswith("_" + agg):
            base = base[: -len(agg) - 1]
        proc = row.get(PROCESS_FIELD, 0)
        family = row.get("family_index")
        if family is not None:
            seen = families.setdefault((proc, base), family)
            if seen != family:
                raise ResultsError(path, f"the name {base} comes from two benchmark families "
                                   f"(family_index {seen} and {family}) in process {proc}: "
                                   "two measurements under one name, refusing to merge them")
        name = parse_name(base)
        bench = benches.get(name.key)
        if bench is None:
            bench = benches[name.key] = Bench(name)
        bench.sources.add(path)
        if row.get("error_occurred"):
            bench.errors.append(str(row.get("error_message") or "error (no message)"))
            continue
        counters = _counters(row)
        if agg:
            # Keep aggregates from the first file only: GB's aggregates cannot be pooled.
            bench.aggregates.setdefault(agg, counters)
            continue
        key = (file_index, proc)
        for k, v in counters.items():
            bench.samples.setdefault(k, []).append(v)
            bench.processes.setdefault(k, []).append(key)
        if row.get("cpu_migrated") == 1:
            bench.migrated += 1
        if isinstance(row.get("cpu"), (int, float)):
            cpu = int(row["cpu"])
            bench.cpus[cpu] = bench.cpus.get(cpu, 0) + 1
        if isinstance(row.get("cpus_used"), (int, float)):
            bench.cpus_used = max(bench.cpus_used, int(row["cpus_used"]))


def load(path: str) -> Run:
    """Load one results file; raises ResultsError with a one-line problem."""
    return load_many([path])


# Context keys that identify the machine: results from different machines are not merged.
MACHINE_KEYS = ("pollbench_hostname", "pollbench_kernel", "pollbench_cpu_model")


def load_many(paths: list) -> Run:
    """Load one or more files of the same machine as one run (e.g. a sweep split in parts).

    Repetitions of a benchmark present in several files are pooled, so its spread shows the
    process-to-process noise too. Files from different machines are refused: that is what
    `compare` is for.
    """
    context, benches, registry = {}, {}, None
    for i, path in enumerate(paths):
        doc = _read_json(path)
        _validate(path, doc)
        ctx = doc.get("context", {}) or {}
        reg = Registry.from_context(path, ctx)
        if i == 0:
            context = dict(ctx)
            registry = reg
        else:
            for k in MACHINE_KEYS:
                if k in ctx and k in context and ctx[k] != context[k]:
                    raise ResultsError(path, f"from another machine than {paths[0]} "
                                       f"({k} {ctx[k]!r} vs {context[k]!r}); "
                                       "use ./pollbench compare for that")
        # The run's own names, slots and metrics for a scenario plots/ has no descriptor of.
        scenarios.learn(ctx.get(scenarios.TABLE_KEY))
        _add_rows(path, i, doc, benches)
        mine = [b for b in benches.values() if path in b.sources]
        # The noise sentinel is a gauge (every run keeps its rows): a file whose other rows
        # were all skipped measured nothing.
        mine = [b for b in mine if b.scenario != "sentinel"] or mine
        if not any(b.ok for b in mine):
            reasons = sorted({b.error for b in mine})
            raise ResultsError(path, "every benchmark was skipped or errored"
                               + (f" (e.g. {reasons[0]})" if reasons else ""))
    return Run(list(paths), context, benches, registry)


def sentinel_drift(run: Run):
    """(drift, [(label, median ns)]) of the noise sentinel, or None if it cannot be told.

    drift = max/min - 1 of the sentinel's medians at different points in time. The pipeline
    records it (`pollbench_sentinel_drift`, with the medians in
    `pollbench_sentinel_ns_per_roundtrip`) from the readings of `sentinel_readings`, which
    know the execution order; a file without it that was interleaved in one process cannot
    say when its rows ran (None); an older, uninterleaved file gives the medians of its
    `sentinel/.../at:<k>` rows, taken at different points of the sweep.
    """
    points = []
    for item in str(run.context.get(READINGS_KEY, "")).split(","):
        label, _, value = item.rpartition(":")
        try:
            points.append((label, float(value)))
        except ValueError:
            pass
    if len(points) < 2:
        points = []
        for b in sentinel_rows(run):
            med = b.median("ns_per_roundtrip")
            if med is None:
                med = b.median("real_time_ns")
            if med:
                points.append((str(b.name.get("at", b.name.key)), med))
    try:
        given = float(run.context[DRIFT_KEY])
    except (KeyError, TypeError, ValueError):
        given = None
    if given is not None and math.isfinite(given):
        return given, points if len(points) >= 2 else []
    if run.meta("pollbench_interleaving") == "random" or len(points) < 2:
        return None
    return drift_of([m for _, m in points]), points


def sentinel_rows(run: Run, gauge: str = SENTINEL_GAUGE) -> list:
    """The rows of one of the sentinel's gauges (SENTINEL_GAUGE or CROSS_CPU_GAUGE)."""
    return run.select("sentinel", gauge)


def gauge_by_process(run: Run, gauge: str) -> dict:
    """{process: [ns_per_roundtrip of every repetition of the gauge's rows]}: a gauge is one
    measurement taken at several points of the sweep, so its rows are pooled."""
    out = {}
    for b in sentinel_rows(run, gauge):
        for p, values in b.by_process("ns_per_roundtrip").items():
            out.setdefault(p, []).extend(values)
    return out


def drift_of(medians) -> float:
    """The sentinel's drift: (max - min) / min of its medians at different points in time."""
    medians = list(medians)
    return max(medians) / min(medians) - 1.0


# A process's sentinel repetitions, in the order they ran, are split into these parts.
SENTINEL_PARTS = ("early", "middle", "late")


def sentinel_readings(rows: list) -> dict:
    """{label: median ns_per_roundtrip} of the same-CPU gauge's repetitions at points in time.

    The processes ran one after another, so each is a point in time: "p0", "p1", ... Google
    Benchmark 1.7.1 reports all repetitions of a row together when the row's last one ends,
    so under interleaving a process's rows do not say when each repetition ran; where every
    sentinel row carries its `exec_order` (its place in the process's execution order), a
    process is split further into its early, middle and late repetitions: "p0-early", ...
    """
    readings = {}
    for row in rows:
        if row.get("run_type", "iteration") != "iteration" or row.get("error_occurred"):
            continue
        name = parse_name(row.get("run_name") or row.get("name", ""))
        if name.scenario != "sentinel" or name.backend != SENTINEL_GAUGE:
            continue
        value = row.get("ns_per_roundtrip")
        if isinstance(value, (int, float)) and value > 0:
            order = row.get("exec_order")
            readings.setdefault(int(row.get("pollbench_process", 0)), []).append(
                (order if isinstance(order, (int, float)) else None, float(value)))
    medians = {}
    for p, values in sorted(readings.items()):
        parts = len(SENTINEL_PARTS)
        if all(order is not None for order, _ in values) and len(values) >= 2 * parts:
            values.sort(key=lambda reading: reading[0])
            for i, part in enumerate(SENTINEL_PARTS):
                chunk = values[i * len(values) // parts:(i + 1) * len(values) // parts]
                medians[f"p{p}-{part}"] = statistics.median(v for _, v in chunk)
        else:
            medians[f"p{p}"] = statistics.median(v for _, v in values)
    return medians


def atomic_write(path: str, write) -> None:
    """Call write(tmp_path) for a temporary file next to `path`, then rename it into place,
    so a reader (or a crash, or Ctrl-C) never sees a half-written file. Every file pollbench
    writes goes through here. POLLBENCH_SIMULATE_ENOSPC=1 fails it as a full disk would
    (the tests' bad-input matrix)."""
    d = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        write(tmp)
        if os.environ.get("POLLBENCH_SIMULATE_ENOSPC") == "1":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
