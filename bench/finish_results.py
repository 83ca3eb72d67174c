#!/usr/bin/env python3
"""Completes a run's results: checks the JSON Google Benchmark wrote, adds the noise sentinel's
readings to its context, and renames it into place (the last step of `./pollbench run`).

  finish_results.py PARTIAL.json FINAL.json

Exit status: 0 done; 1 the partial file is not usable or the final one could not be written
(nothing left behind but the partial file's removal); 3 done, but every row was skipped or
errored (the results are kept: they hold the reasons). POLLBENCH_SIMULATE_ENOSPC=1 makes the
write fail half-way with ENOSPC, for the tests of a full disk.

The sentinel rows are timed during the run, after Google Benchmark has written the context,
so their medians are added here: pollbench_sentinel_ns_per_roundtrip ("k:median,...") and
pollbench_sentinel_drift ((max - min) / min over those medians). Stdlib only.
"""

import errno
import json
import os
import re
import statistics
import sys

SENTINEL = re.compile(r"^sentinel/roundtrip/at:(\d+)$")


def sentinel_medians(benchmarks):
    readings = {}
    for row in benchmarks:
        match = SENTINEL.match(row.get("run_name", ""))
        if not match or row.get("run_type") != "iteration" or row.get("error_occurred"):
            continue
        value = row.get("ns_per_roundtrip")
        if isinstance(value, (int, float)) and value > 0:
            readings.setdefault(int(match.group(1)), []).append(float(value))
    return {k: statistics.median(v) for k, v in sorted(readings.items())}


def main(argv):
    if len(argv) != 3:
        print("usage: finish_results.py PARTIAL.json FINAL.json", file=sys.stderr)
        return 2
    partial, final = argv[1], argv[2]
    try:
        with open(partial, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"pollbench: {partial}: not valid JSON ({e})", file=sys.stderr)
        return 1
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        print(f"pollbench: {partial}: no 'benchmarks' list", file=sys.stderr)
        return 1
    context = doc.setdefault("context", {})
    medians = sentinel_medians(doc["benchmarks"])
    if medians:
        context["pollbench_sentinel_ns_per_roundtrip"] = ",".join(
            f"{k}:{v:.1f}" for k, v in medians.items())
        low, high = min(medians.values()), max(medians.values())
        context["pollbench_sentinel_drift"] = f"{(high - low) / low:.3f}"
    staged = partial + ".final"
    try:
        with open(staged, "w", encoding="utf-8") as f:
            text = json.dumps(doc, indent=2) + "\n"
            if os.environ.get("POLLBENCH_SIMULATE_ENOSPC") == "1":
                f.write(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), final)
            f.write(text)
        os.replace(staged, final)
    except OSError as e:
        if os.path.exists(staged):
            os.remove(staged)
        print(f"pollbench: {final}: cannot write the results ({e.strerror or e}); nothing written",
              file=sys.stderr)
        return 1
    os.remove(partial)
    measured = [row for row in doc["benchmarks"] if not row.get("error_occurred")]
    if not measured:
        reasons = [row.get("error_message", "") for row in doc["benchmarks"]]
        example = f" (e.g. {reasons[0]})" if reasons and reasons[0] else ""
        print(f"pollbench: {final}: nothing was measured, every benchmark was skipped or "
              f"errored{example}; the file keeps the reasons", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
