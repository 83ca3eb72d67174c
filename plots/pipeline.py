"""`./pollbench run`: the benchmark sweep, from the command line to the charts.

  pipeline.py [--quick] [--filter REGEX] [--out DIR] [--backend B,...] [--fds N,...]
              [--active A,...] [--cpu LIST] [--processes P] [--fd-kind KIND]
  pipeline.py --options-help      the options as `./pollbench --help` lists them (OPTIONS)

Runs build/release/pollbench-bench in P processes one after another (never in parallel), each
with R repetitions per benchmark in random interleaved order (P and R: the binary's plan,
bench/sweep.hpp), merges their JSON into one
Google Benchmark file (every repetition row keeps `pollbench_process`), adds the noise
sentinel's readings, writes results/<timestamp>-<host>/results.json (complete or absent), then
prints the summary table and draws the charts from that one loaded run.

Bad input: one line "pollbench: run: ..." on stderr, exit 2. A benchmark process that fails or
leaves incomplete results: one line, exit 1, nothing written. SIGINT/SIGTERM: the benchmark
is stopped, nothing partial is left, exit 130/143. Standard library only up to the charts,
which need matplotlib (skipped with a note without it).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pbresults import (DRIFT_KEY, PROCESS_FIELD, READINGS_KEY, atomic_write,  # noqa: E402
                       drift_of, sentinel_readings)
import syscalls  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "release", "pollbench-bench")

# The CPUs the timed thread is pinned to unless --cpu says otherwise ("none": not pinned).
DEFAULT_CPU = "none"

# Niceness of the benchmark processes unless POLLBENCH_NICE says otherwise (0: as is).
DEFAULT_NICE = -20

EXIT_DATA, EXIT_USAGE = 1, 2


class RunError(Exception):
    """A run that cannot go on: str() is the one-line problem, .code the exit status."""

    def __init__(self, problem: str, code: int = EXIT_DATA):
        super().__init__(problem)
        self.code = code


def usage_error(problem: str) -> RunError:
    return RunError(f"run: {problem}", EXIT_USAGE)


# --- the command line -----------------------------------------------------------------------

# The noise sentinel's rows, kept in every run (Options.bench_filter).
SENTINEL_FILTER = "^sentinel/"


@dataclass
class Options:
    quick: bool = False
    filter: str | None = None
    out: str = os.path.join(ROOT, "results")
    sizes: list = field(default_factory=list)   # --pollbench_fds=..., _active, _backends, ...
    cpu: str = DEFAULT_CPU
    processes: int | None = None

    @property
    def sweep(self) -> str:
        return "quick" if self.quick else "full"

    def bench_filter(self) -> str:
        """The --filter as the binary gets it: the noise sentinel's rows kept beside the
        chosen ones (summary.md's noise warning and the stability check read them), unless the
        filter is Google Benchmark's negative form (-REGEX), which keeps them unless it names
        them."""
        if self.filter.startswith("-"):
            return self.filter
        return f"({self.filter})|{SENTINEL_FILTER}"

    def bench_args(self) -> list:
        """The flags every benchmark process (and the listing) gets."""
        args = [BY_FLAG["--quick"].binary] if self.quick else []
        if self.filter:
            args.append(f"--benchmark_filter={self.bench_filter()}")
        args += self.sizes
        if self.cpu != "none":
            args.append(f"--pollbench_cpu={self.cpu}")
        return args


@dataclass(frozen=True)
class RunOption:
    """One option of `./pollbench run`: the one description its parser, its help
    (`./pollbench --help`) and its hand-over to the benchmark binary share."""

    flag: str
    metavar: str | None        # the value's name in the help; None: a switch
    value: str | None          # what the value must be, for "--flag needs ..."
    help: str
    binary: str | None = None  # pollbench-bench's flag, which checks the value; None: here


OPTIONS = (
    RunOption("--quick", None, None, "same shape, fewer points (about a minute)",
              "--pollbench_quick"),
    RunOption("--filter", "REGEX", "a REGEX", "only benchmarks matching REGEX (see "
              "results/README.md for the names)"),
    RunOption("--out", "DIR", "a directory", "results under DIR instead of results/"),
    RunOption("--backend", "B,...", "a comma-separated list of backends", "only these backends "
              "(names as in `list`) and their raw baselines; a server engine's name (uring_recv_send, ...) "
              "chooses it for the server rows", "--pollbench_backends"),
    RunOption("--fds", "N,...", "a comma-separated list of numbers", "these sizes N instead of "
              "the sweep's (N must fit the fd limit)", "--pollbench_fds"),
    RunOption("--active", "A,...", "a comma-separated list of numbers", "with these A "
              "(default 1, A <= N); needs --fds", "--pollbench_active"),
    RunOption("--fd-kind", "KIND", "socketpair, pipe, eventfd or tcp", "the kind of the polled "
              "pairs (default socketpair; tcp: loopback connections); the syscall counts use "
              "it too", "--pollbench_fd_kind"),
    RunOption("--cpu", "LIST", "a CPU list (0, 0,1, 1-3) or none", "pin the timed thread to "
              "the first CPU of LIST; the rigs' other threads go on the others (none, the "
              "default: not pinned)", "--pollbench_cpu"),
    RunOption("--processes", "P", "a number of processes", "P processes one after another "
              "instead of the sweep's"),
)
BY_FLAG = {o.flag: o for o in OPTIONS}


def options_help() -> str:
    """The options of `run`, as `./pollbench --help` lists them."""
    import textwrap
    lines = []
    for o in OPTIONS:
        name = o.flag if o.metavar is None else f"{o.flag} {o.metavar}"
        lines += textwrap.wrap(o.help, 94, initial_indent=f"      {name:<18} ",
                               subsequent_indent=" " * 25)
    return "\n".join(lines)


def parse_args(argv: list) -> Options:
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, sep, value = arg.partition("=")
        option = BY_FLAG.get(flag if sep else arg)
        if option is None or (option.value is None and sep):
            raise usage_error(f"unknown argument '{arg}'")
        if option.value is None:
            opts.quick = True
        else:
            if not sep:
                if i + 1 >= len(argv):
                    raise usage_error(f"{flag} needs {option.value}")
                i += 1
                value = argv[i]
            if not value.strip(","):
                # An empty value is refused, never read as the default ("every backend").
                raise usage_error(f"{flag} needs {option.value}")
            _set(opts, option, value)
        i += 1
    return opts


def _set(opts: Options, option: RunOption, value: str) -> None:
    if option.flag == "--filter":
        opts.filter = value
    elif option.flag == "--out":
        opts.out = value
    elif option.flag == "--cpu":
        opts.cpu = value
    elif option.flag == "--processes":
        if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
            raise usage_error(f"--processes: '{value}' is not a positive whole number")
        opts.processes = int(value)
    else:
        opts.sizes.append(f"{option.binary}={value}")


def niceness() -> int:
    text = os.environ.get("POLLBENCH_NICE", str(DEFAULT_NICE))
    if not re.fullmatch(r"-?[0-9]+", text):
        raise usage_error(f"POLLBENCH_NICE must be an integer, not '{text}'")
    return int(text)


def note(text: str) -> None:
    print(f"pollbench: {text}", file=sys.stderr, flush=True)


# --- listing, the results directory, priority -----------------------------------------------

def _chosen(regex: str | None, name: str) -> bool:
    """Whether the caller's filter itself names `name` (a sentinel row the run adds)."""
    try:
        return regex is not None and re.search(regex, name) is not None
    except re.error:
        return False


def list_benchmarks(bench: str, opts: Options) -> list:
    """The names this run will measure. Google Benchmark exits 0 on a filter that matches
    nothing (or does not compile), so ask first; the binary also checks the sizes, backends
    and CPUs here and says what is wrong in its last stderr line."""
    out = subprocess.run([bench, *opts.bench_args(), "--benchmark_list_tests"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or [f"pollbench-bench exited {out.returncode}"]
        raise usage_error(lines[-1].split("pollbench-bench: ", 1)[-1])
    names = out.stdout.split()
    if not [n for n in names if not re.match(SENTINEL_FILTER, n) or _chosen(opts.filter, n)]:
        raise usage_error(f"--filter '{opts.filter}' matches no benchmark (or is not a valid "
                          "regex); the names: ./pollbench bench --benchmark_list_tests")
    return names


@dataclass(frozen=True)
class Plan:
    """How the run measures its sweep: the benchmark binary's plan (bench/sweep.hpp, the one
    place it is chosen), the processes as --processes says."""

    processes: int
    repetitions: int           # per process


def sweep_plan(bench: str, opts: Options) -> Plan:
    """The binary's plan for this sweep (--pollbench_plan), with --processes applied."""
    out = subprocess.run([bench, *opts.bench_args(), "--pollbench_plan"],
                         capture_output=True, text=True)
    try:
        plan = json.loads(out.stdout) if out.returncode == 0 else None
        processes, repetitions = int(plan["processes"]), int(plan["repetitions"])
    except (TypeError, ValueError, KeyError):
        raise RunError(f"run: {bench} --pollbench_plan gave no plan (exit {out.returncode}); "
                       "is the binary up to date?") from None
    return Plan(opts.processes or processes, repetitions)


def make_run_dir(out: str) -> str:
    """out/<YYYYmmdd-HHMMSS>-<host>, new (a suffix -2, -3, ... if taken)."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError:
        raise usage_error(f"cannot create the results directory '{out}'") from None
    if not os.path.isdir(out):
        raise usage_error(f"cannot create the results directory '{out}'")
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname().split(".")[0]) or "host"
    base = os.path.join(out, f"{time.strftime('%Y%m%d-%H%M%S')}-{host}")
    path, n = base, 2
    while os.path.exists(path):
        path, n = f"{base}-{n}", n + 1
    try:
        os.mkdir(path)
    except OSError:
        raise usage_error(f"cannot write to the results directory '{out}'") from None
    if not os.access(path, os.W_OK | os.X_OK):
        os.rmdir(path)
        raise usage_error(f"cannot write to the results directory '{out}'")
    return os.path.abspath(path)


def priority_target(nice: int):
    """The absolute niceness the benchmark processes get, or None to leave it as is. Raising
    the priority needs root or CAP_SYS_NICE: without, the run goes on at normal priority."""
    if nice == 0:
        return None
    target = max(-20, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
    pid = os.fork()
    if pid == 0:                               # try it in a throw-away child
        try:
            os.setpriority(os.PRIO_PROCESS, 0, target)
            os._exit(0)
        except OSError:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return target
    note(f"run: not allowed to raise the priority (POLLBENCH_NICE={nice}): "
         "running at normal priority")
    return None


# --- running the processes ------------------------------------------------------------------

class Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum, _frame):
    raise Interrupted(signum)


@dataclass
class Process:
    """One benchmark process of the run: where it writes, how it ended."""

    index: int
    out: str
    status: int | None = None
    seconds: float = 0.0


def process_command(bench: str, opts: Options, out: str) -> list:
    """One process of the run: the binary supplies its plan's repetitions, warm-up and
    interleaving."""
    return [bench, *opts.bench_args(), f"--benchmark_out={out}", "--benchmark_out_format=json",
            "--benchmark_display_aggregates_only=true"]


QUIET_CONTEXT = ("pollbench_registry:", "pollbench_scenarios:", "pollbench_scenario_table:")


# Google Benchmark's warning when its library was compiled without NDEBUG (Debian's is: -O2,
# its internal checks on), and what it means for this suite's numbers.
DEBUG_WARNING = "***WARNING*** Library was built as DEBUG"
DEBUG_NOTE = ("Google Benchmark warns \"Library was built as DEBUG\": Debian's libbenchmark is "
              "optimised but keeps its internal checks (no NDEBUG); the timed loop is inline "
              "in its headers, compiled with this suite's -O3 -DNDEBUG, so the timings are "
              "not affected")


class ProcessRunner:
    """Runs the processes one after another; remembers the live child for the signal path."""

    def __init__(self, prio):
        self.prio = prio
        self.child = None
        self.debug_explained = False

    def _lower_nice(self):
        if self.prio is not None:
            os.setpriority(os.PRIO_PROCESS, 0, self.prio)

    def run(self, command: list) -> int:
        self.child = subprocess.Popen(command, preexec_fn=self._lower_nice,
                                      stderr=subprocess.PIPE, text=True, errors="replace")
        # Google Benchmark prints the context on stderr before the first row; the two JSON
        # values (the registry and the scenarios) are one long line each, there for the file,
        # not for a reader of the progress.
        for line in self.child.stderr:
            if line.startswith(DEBUG_WARNING):
                # Said once per run, with what it means here.
                line = "" if self.debug_explained else f"pollbench: {DEBUG_NOTE}\n"
                self.debug_explained = True
            if line and not line.startswith(QUIET_CONTEXT):
                sys.stderr.write(line)
                sys.stderr.flush()
        status = self.child.wait()
        self.child = None
        return status

    def stop(self):
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.child = None


def run_processes(runner: ProcessRunner, commands: list, processes: list) -> None:
    """Run each process's command in turn; the first failure is a RunError (exit 1)."""
    for proc, command in zip(processes, commands):
        note(f"process {proc.index + 1} of {len(processes)}")
        start = time.monotonic()
        proc.status = runner.run(command)
        proc.seconds = time.monotonic() - start
        if -proc.status in (signal.SIGINT, signal.SIGTERM):
            # Ctrl-C reaches the whole process group: the benchmark may die of it before
            # this process's own handler has run.
            raise Interrupted(-proc.status)
        if proc.status != 0:
            raise RunError(f"run: process {proc.index + 1} of {len(processes)}: pollbench-bench "
                           f"failed (exit {proc.status}); no results written")
        note(f"process {proc.index + 1} of {len(processes)} done in {proc.seconds:.0f} s")


# --- merging --------------------------------------------------------------------------------

def read_process(path: str, label: str):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise RunError(f"run: {label} wrote no results; no results written") from None
    except (OSError, ValueError) as e:
        raise RunError(f"run: {label}: its results are not valid JSON ({e}); "
                       "no results written") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list) \
            or not isinstance(doc.get("context"), dict):
        raise RunError(f"run: {label}: its results are not Google Benchmark output; "
                       "no results written")
    return doc


def merge(docs: list, repetitions: int, names: list | None = None) -> dict:
    """One Google Benchmark document from the processes' documents (process 0 first).

    Every iteration row (measured or skipped) of every process, in each process's order,
    gains "pollbench_process"; the per-process aggregate rows are dropped (they cannot be
    pooled). Each process must have every repetition of every benchmark in `names` (default:
    process 0's): `repetitions` rows, or as many as the rows' own "repetitions" field says
    (a benchmark registered with its own count). A shorter process is a RunError, never a
    shorter run.
    """
    if not docs:
        raise RunError("run: no benchmark process ran; no results written")
    rows = []
    for p, doc in enumerate(docs):
        label = f"process {p + 1} of {len(docs)}"
        if doc is None:
            raise RunError(f"run: {label} wrote no results; no results written")
        mine = [dict(row, pollbench_process=p) for row in doc["benchmarks"]
                if isinstance(row, dict) and row.get("run_type", "iteration") == "iteration"]
        counts, wanted = {}, {}
        for row in mine:
            counts[row.get("name")] = counts.get(row.get("name"), 0) + 1
            own = row.get("repetitions")
            wanted[row.get("name")] = own if isinstance(own, int) and own > 0 else repetitions
        if names is None:
            names = list(counts)
        short = [n for n in dict.fromkeys(names)
                 if counts.get(n, 0) != wanted.get(n, repetitions)]
        if short:
            more = f" (and {len(short) - 1} more benchmarks)" if len(short) > 1 else ""
            raise RunError(f"run: {label} has {counts.get(short[0], 0)} of "
                           f"{wanted.get(short[0], repetitions)} repetitions of "
                           f"{short[0]}{more}; no results written")
        extra = [n for n in counts if n not in set(names)]
        if extra:
            raise RunError(f"run: {label} measured {extra[0]}, which the run did not list; "
                           "no results written")
        rows += mine
    context = dict(docs[0]["context"])
    context.update({
        "pollbench_processes": str(len(docs)),
        "pollbench_repetitions_per_process": str(repetitions),
        "pollbench_interleaving": "random",
    })
    return {"context": context, "benchmarks": rows}


# --- the noise sentinel ---------------------------------------------------------------------

def add_sentinel(doc: dict) -> None:
    medians = sentinel_readings(doc["benchmarks"])
    if not medians:
        return
    context = doc["context"]
    context[READINGS_KEY] = ",".join(
        f"{label}:{v:.1f}" for label, v in medians.items())
    if len(medians) >= 2:
        context[DRIFT_KEY] = f"{drift_of(medians.values()):.3f}"


# --- writing --------------------------------------------------------------------------------

def write_results(doc: dict, path: str) -> None:
    """results.json complete or not at all (pbresults.atomic_write)."""
    text = json.dumps(doc, indent=2) + "\n"
    try:
        atomic_write(path, lambda tmp: _write_file(tmp, text))
    except OSError as e:
        raise RunError(f"{path}: cannot write the results ({e.strerror or e}); "
                       "nothing written") from None


def _write_file(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def nothing_measured(doc: dict, path: str):
    """The one-line problem of a run where every row was skipped or errored, or None."""
    # The noise sentinel's rows, kept in every run, are a gauge, not a measurement.
    rows = [row for row in doc["benchmarks"]
            if not re.match(SENTINEL_FILTER, row.get("name", ""))] or doc["benchmarks"]
    if any(not row.get("error_occurred") for row in rows):
        return None
    reasons = [row.get("error_message", "") for row in rows]
    example = f" (e.g. {reasons[0]})" if reasons and reasons[0] else ""
    return (f"{path}: nothing was measured, every benchmark was skipped or errored{example}; "
            "the file keeps the reasons")


# --- the report -----------------------------------------------------------------------------

def report(path: str, run_dir: str) -> None:
    """The summary table (stdout and summary.txt) and the charts + summary.md, from one load."""
    import report as rp
    from pbresults import ResultsError, load

    try:
        run = load(path)
    except ResultsError as e:
        note(f"run: no summary or charts: {e.line()} (results are complete)")
        return
    text = "\n".join(rp.table_lines(run)) + "\n"
    print()
    print(text, end="", flush=True)
    try:
        atomic_write(os.path.join(run_dir, "summary.txt"), lambda tmp: _write_file(tmp, text))
    except OSError as e:
        note(f"run: cannot write summary.txt ({e.strerror or e}); results are complete")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        note(f"run: no matplotlib in {sys.executable}: charts skipped "
             f"(./pollbench plot {path} later)")
        return
    import summary
    try:
        written = summary.write_all(run, run_dir)
    except (OSError, ResultsError) as e:
        note(f"run: drawing the charts failed ({getattr(e, 'strerror', None) or e}); "
             "results are complete")
        return
    charts = sum(1 for path in written if path.endswith(".png"))
    note(f"run: wrote summary.md and {charts} chart{'s' if charts != 1 else ''} "
         f"(PNG + SVG) into {run_dir}")


# --- the whole run --------------------------------------------------------------------------

def describe(opts: Options, plan: Plan, count: int) -> str:
    processes, repetitions = plan.processes, plan.repetitions
    what = f"{opts.sweep} sweep"
    if opts.filter:
        what += f", filter '{opts.filter}'"
    cpu = "not pinned" if opts.cpu == "none" else f"CPU {opts.cpu}"
    return (f"running {count} benchmarks ({what}): {processes} process"
            f"{'es' if processes > 1 else ''} × {repetitions} repetitions, interleaved, "
            f"{cpu}")


class Cleanup:
    """What an interrupted or failed run removes: the partial files, and its directory
    unless results.json was completed."""

    def __init__(self):
        self.run_dir = None
        self.partials = []

    def remove_partials(self):
        for path in self.partials + ([os.path.join(self.run_dir, ".results.json.partial")]
                                     if self.run_dir else []):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def remove_all(self):
        self.remove_partials()
        if self.run_dir and not os.path.exists(os.path.join(self.run_dir, "results.json")):
            try:
                os.rmdir(self.run_dir)
            except OSError:
                pass


def where_time_went(doc: dict, phases: dict) -> str:
    """One line: the run's phases, and the benchmark processes' time by scenario.

    A row's time is its largest row_wall_s in each process (every call of its function, the
    iteration-count estimation and each repetition's fixture included), summed over the
    processes; what the rows do not account for is the processes' own start-up and pool
    set-up."""
    by_scenario, rows_total = {}, 0.0
    largest = {}
    for row in doc.get("benchmarks", []):
        wall = row.get("row_wall_s")
        if isinstance(wall, (int, float)) and math.isfinite(wall):
            key = (row.get(PROCESS_FIELD), row.get("run_name") or row.get("name", ""))
            largest[key] = max(largest.get(key, 0.0), float(wall))
    for (_, name), wall in largest.items():
        scenario = name.split("/", 1)[0]
        by_scenario[scenario] = by_scenario.get(scenario, 0.0) + wall
        rows_total += wall
    processes = phases.get("benchmark processes", 0.0)
    parts = [f"{label} {seconds:.0f} s" for label, seconds in phases.items()]
    line = "time: " + ", ".join(parts)
    if by_scenario:
        ranked = sorted(by_scenario.items(), key=lambda kv: -kv[1])
        line += ("; benchmark processes by scenario: " +
                 ", ".join(f"{name} {seconds:.0f} s" for name, seconds in ranked) +
                 f", outside the rows {max(0.0, processes - rows_total):.0f} s")
    return line


def execute(opts: Options, bench: str = BENCH) -> int:
    started = time.monotonic()
    nice = niceness()
    names = list_benchmarks(bench, opts)
    plan = sweep_plan(bench, opts)
    processes, repetitions = plan.processes, plan.repetitions
    cleanup = Cleanup()
    runner = ProcessRunner(None)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in previous.items():
        # A SIGINT ignored on entry (a background job) stays ignored.
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _raise_interrupted)
    try:
        run_dir = make_run_dir(opts.out)
        cleanup.run_dir = run_dir
        results = os.path.join(run_dir, "results.json")
        runner.prio = priority_target(nice)
        note(describe(opts, plan, len(names)) + f" into {run_dir}")
        procs = [Process(p, os.path.join(run_dir, f".process-{p}.json.partial"))
                 for p in range(processes)]
        cleanup.partials = [p.out for p in procs]
        phases = {"start-up": time.monotonic() - started}
        run_processes(runner, [process_command(bench, opts, p.out) for p in procs], procs)
        phases["benchmark processes"] = sum(p.seconds for p in procs)
        doc = merge([read_process(p.out, f"process {p.index + 1} of {processes}")
                     for p in procs], repetitions, names)
        doc["context"]["pollbench_process_seconds"] = ",".join(f"{p.seconds:.1f}" for p in procs)
        doc["context"].setdefault("pollbench_cpu", opts.cpu)
        add_sentinel(doc)
        counting = time.monotonic()
        syscalls.record(doc, os.path.join(os.path.dirname(bench), "pollbench-syscalls"))
        syscalls.record_server(doc, os.path.dirname(bench))
        phases["syscall counts"] = time.monotonic() - counting
        write_results(doc, results)
        cleanup.remove_partials()
        empty = nothing_measured(doc, results)
        if empty:
            note(empty)
            return EXIT_DATA
        reporting = time.monotonic()
        report(results, run_dir)
        phases["summary and charts"] = time.monotonic() - reporting
        note(where_time_went(doc, phases))
        print(f"pollbench: results written to {results}")
        return 0
    except Interrupted as e:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        runner.stop()
        cleanup.remove_all()
        if cleanup.run_dir and os.path.exists(os.path.join(cleanup.run_dir, "results.json")):
            note(f"run interrupted by {e}: {cleanup.run_dir}/results.json is complete "
                 "(./pollbench plot it for the charts)")
        else:
            where = cleanup.run_dir or opts.out
            note(f"run interrupted by {e}: removed the partial results, nothing written to "
                 f"{where}")
        return 128 + e.signum
    except BaseException:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        runner.stop()
        cleanup.remove_all()
        raise
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)


def main(argv: list) -> int:
    try:
        return execute(parse_args(argv))
    except RunError as e:
        print(f"pollbench: {e}", file=sys.stderr)
        return e.code
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--options-help"]:
        print(options_help())
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
