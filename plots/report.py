#!/usr/bin/env python3
"""pollbench reports: terminal table, charts + summary.md, and run-to-run comparison (the run
itself, `./pollbench run`, is plots/pipeline.py, which calls table_lines and summary here).

  report.py table RESULTS.json...            short summary table on stdout (no matplotlib)
  report.py plot RESULTS.json... [--out DIR] charts (PNG+SVG) and summary.md
  report.py compare A.json B.json [--out DIR] B/A ratios: table, compare.md and a chart
  report.py readme RESULTS.json README.md    put the run's "What to use when" section
                                             between README's what-to-use markers

Several RESULTS files are read as one run of one machine (e.g. a sweep run in parts).
Every problem is one line "pollbench: <file>: <problem>" on stderr; exit 1 for bad data,
2 for bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import analysis as an  # noqa: E402
from pbresults import DRIFT_WARNING, ResultsError, load_many, sentinel_drift  # noqa: E402

EXIT_DATA, EXIT_USAGE = 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but with pollbench's one-line error format and exit code 2."""

    def error(self, message):
        raise UsageError(message)


def fail(where: str, problem: str, code: int = EXIT_DATA):
    print(f"pollbench: {where}: {problem}", file=sys.stderr)
    return code


# --- table ----------------------------------------------------------------------------------

def table_lines(run) -> list:
    """The short terminal summary: per backend, cost at the smallest and largest N."""
    lines = [f"results:  {', '.join(run.paths)}",
             f"machine:  {run.subtitle()}"]
    scenario = an.cost_scenario(run)
    if scenario is None:
        lines.append("no benchmark with a ns_per_event counter in this run")
        return lines
    lines.append("")
    lines.append(f"{scenario}, 1 active fd: median ns per event (CV across repetitions) at the "
                 "smallest and largest N")
    lines.append("×raw = backend / the same loop on the raw syscall; "
                 "slope = d log(cost) / d log(N): ≈1 is O(N), ≈0 is O(1)")
    header = (f"{'backend':<16}{'N':>7}{'ns/event':>11}{'CV':>7}{'×raw':>7}"
              f"{'N':>9}{'ns/event':>11}{'CV':>7}{'×raw':>7}   slope, large N [95% CI]")
    lines.append(header)
    lines.append("-" * len(header))
    fits = {(f.scenario, f.backend): f for f in an.all_scaling_fits(run)}
    shown = [(scenario, b) for b in run.backends(scenario)]
    if scenario == "dispatch":
        # The raw floors go right under the backends so the ratio can be checked by eye.
        shown += [("raw", m) for m in run.backends("raw")]
    for scen, backend in shown:
        rows = an.series_over_fds(run, scen, backend)
        if not rows:
            continue
        label = backend if scen == scenario else f"{scen}/{backend}"
        cells = []
        for n, b in (rows[0], rows[-1]):
            ratio = an.overhead(run, backend, n, scenario=scen) if scen == "dispatch" else None
            cells.append(f"{an.fmt_n(n):>7}{an.fmt_ns(b.median(an.COST)):>11}"
                         f"{an.fmt_pct(b.cv(an.COST)):>7}"
                         f"{(f'{ratio:.2f}' if ratio else '–'):>7}")
        f = fits.get((scen, backend))
        slope = f.best.describe() if f and f.best else "–"
        lines.append(f"{label:<16}{cells[0]}  {cells[1]}   {slope}")
    lines += notes_lines(run)
    return lines


def notes_lines(run) -> list:
    out = []
    drift = sentinel_drift(run)
    if drift is not None and drift[0] > DRIFT_WARNING:
        pts = ", ".join(f"{label}: {an.fmt_ns(v)} ns" for label, v in drift[1])
        out.append(f"WARNING: the noise sentinel drifted {100 * drift[0]:.0f}% during the run "
                   f"({pts}); the machine was not quiet, compare numbers with care")
    skipped = an.skipped_summary(run)
    if skipped:
        total = sum(len(v) for _, v in skipped)
        out.append(f"skipped: {total} benchmark(s) — " +
                   "; ".join(f"{reason} ({len(names)})" for reason, names in skipped[:4]))
    return [""] + out if out else out


def cmd_table(args) -> int:
    run = load_many(args.results)
    print("\n".join(table_lines(run)))
    return 0


# --- plot / compare -------------------------------------------------------------------------

def _need_matplotlib(what: str):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ResultsError("matplotlib", f"not importable by {sys.executable} ({what}); "
                           "install python3-matplotlib (Debian) and run with /usr/bin/python3")


def _out_dir(args, first_path: str) -> str:
    out = args.out or os.path.dirname(os.path.abspath(first_path))
    if os.path.exists(out) and not os.path.isdir(out):
        raise ResultsError(out, "--out is not a directory")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ResultsError(out, f"cannot create output directory: {e.strerror or e}")
    if not os.access(out, os.W_OK | os.X_OK):
        raise ResultsError(out, "output directory is not writable")
    return out


def _shown(path: str) -> str:
    """A written file as the user would type it: relative below the cwd, else absolute."""
    rel = os.path.relpath(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


def cmd_plot(args) -> int:
    run = load_many(args.results)         # all validation before anything is written
    _need_matplotlib("plot")
    out = _out_dir(args, args.results[0])
    import summary
    written = summary.write_all(run, out)
    if not any(p.endswith(".png") for p in written):
        print(f"pollbench: {run.path}: no chart applies to this run's scenarios; "
              "wrote summary.md only", file=sys.stderr)
    for path in written:
        print(_shown(path))
    return 0


def cmd_compare(args) -> int:
    a = load_many([args.a])
    b = load_many([args.b])
    import compare
    comp = compare.Comparison(a, b)        # raises ResultsError when nothing is shared
    print("\n".join(compare.table_lines(comp)))
    _need_matplotlib("compare")
    out = _out_dir(args, args.b)
    for path in compare.write_all(comp, out):
        print(_shown(path))
    return 0


README_BEGIN = "<!-- what-to-use: begin"
README_END = "<!-- what-to-use: end -->"


def cmd_readme(args) -> int:
    """Replace what stands between README's markers with the run's "What to use when"
    section (heading one level down), written through a temporary file."""
    run = load_many(args.results)
    import advice
    from pbresults import atomic_write
    try:
        with open(args.readme, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ResultsError(args.readme, f"cannot read ({e.strerror or e})") from None
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise ResultsError(args.readme, f"no '{README_BEGIN} ... -->' and '{README_END}' "
                           "markers to write between")
    begin = text.index("\n", begin) + 1
    block = advice.section(run, heading="###")
    if not block:
        raise ResultsError(run.path, "the run supports no sentence of the section")
    new = text[:begin] + "\n".join(block) + "\n" + text[end:]

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
    atomic_write(args.readme, write)
    print(_shown(args.readme))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="report.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("table", help="short summary table on stdout")
    t.add_argument("results", nargs="+", metavar="RESULTS.json")
    t.set_defaults(func=cmd_table)
    pl = sub.add_parser("plot", help="charts (PNG + SVG) and summary.md")
    pl.add_argument("results", nargs="+", metavar="RESULTS.json")
    pl.add_argument("--out", metavar="DIR", help="output directory (default: the results "
                    "directory of the first file)")
    pl.set_defaults(func=cmd_plot)
    c = sub.add_parser("compare", help="B/A ratios of two runs")
    c.add_argument("a", metavar="A.json")
    c.add_argument("b", metavar="B.json")
    c.add_argument("--out", metavar="DIR", help="output directory (default: B's directory)")
    c.set_defaults(func=cmd_compare)
    r = sub.add_parser("readme", help="the run's What to use when section into README.md")
    r.add_argument("results", nargs=1, metavar="RESULTS.json")
    r.add_argument("readme", metavar="README.md")
    r.set_defaults(func=cmd_readme)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            raise UsageError("missing command: table, plot, compare or readme")
        return args.func(args)
    except UsageError as e:
        return fail("usage", f"{e} (see ./pollbench help)", EXIT_USAGE)
    except ResultsError as e:
        print(e.line(), file=sys.stderr)
        return EXIT_DATA
    except BrokenPipeError:
        return 0
    except OSError as e:
        # A write that failed (full disk, permissions): the temporary file is already gone
        # and whatever was in place before is untouched.
        where = e.filename or "output"
        print(f"pollbench: {where}: cannot write ({e.strerror or e})", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())
