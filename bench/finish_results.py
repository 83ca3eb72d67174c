#!/usr/bin/env python3
"""Completes a run's results: checks the JSON Google Benchmark wrote, adds the noise sentinel's
readings to its context, and renames it into place (the last step of `./pollbench run`).

  finish_results.py PARTIAL.json FINAL.json

The sentinel rows are timed during the run, after Google Benchmark has written the context,
so their medians are added here: pollbench_sentinel_ns_per_roundtrip ("k:median,...") and
pollbench_sentinel_drift ((max - min) / min over those medians). Stdlib only.
"""

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
    with open(staged, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(staged, final)
    os.remove(partial)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
