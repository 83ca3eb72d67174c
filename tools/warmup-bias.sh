#!/usr/bin/env bash
# The warm-up bias of interleaved rows: the O(1) dispatch and raw rows (and a chain point, the
# workload of libevent's test/bench.c) run plainly (each row's repetitions back to back) and
# interleaved (the default plan), in alternating processes, for each binary given; prints, per
# row, the median ns per event of each mode and interleaved / plain − 1.
#
#   tools/warmup-bias.sh [-p PROCESSES] [-f FILTER] BIN...
#
# e.g. a build of the commit before the per-repetition warm-up against this one:
#   git worktree add /tmp/before <commit>~1 && (cd /tmp/before && cmake --preset release &&
#     cmake --build --preset release)
#   tools/warmup-bias.sh -p 5 /tmp/before/build/release/pollbench-bench \
#     build/release/pollbench-bench
# Needs a quiet machine: on a shared one the difference between two processes is larger than
# the bias measured. Each process takes ~10 s with the default filter.
set -euo pipefail

processes=3
filter='^((dispatch|raw)/[^/]+/fds:16/active:1|chain/(epoll_lt|poll|libevent_epoll)/fds:100/active:1)$'
while getopts "p:f:" opt; do
  case "$opt" in
    p) processes="$OPTARG" ;;
    f) filter="$OPTARG" ;;
    *) echo "usage: $0 [-p PROCESSES] [-f FILTER] BIN..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -lt 1 ]; then
  echo "usage: $0 [-p PROCESSES] [-f FILTER] BIN..." >&2
  exit 2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

index=0
for bin in "$@"; do
  index=$((index + 1))
  b="bin$index"
  for ((p = 0; p < processes; p++)); do
    for mode in false true; do
      "$bin" --benchmark_filter="$filter" --benchmark_enable_random_interleaving="$mode" \
        --benchmark_repetitions=3 --benchmark_min_time=0.03 --benchmark_min_warmup_time=0 \
        --benchmark_format=json >"$out/$b.$mode.$p.json" 2>/dev/null
    done
  done
  echo "$bin" >"$out/$b.name"
done

python3 - "$out" <<'EOF'
import glob, json, os, statistics, sys

out = sys.argv[1]
for name_file in sorted(glob.glob(os.path.join(out, "*.name"))):
    tag = os.path.basename(name_file)[:-5]
    samples = {}  # (row, interleaved) -> [ns_per_event]
    for path in glob.glob(os.path.join(out, f"{tag}.*.json")):
        mode = path.split(".")[-3] == "true"
        with open(path) as f:
            for row in json.load(f)["benchmarks"]:
                if row.get("run_type") == "iteration" and "ns_per_event" in row:
                    samples.setdefault((row["run_name"], mode), []).append(row["ns_per_event"])
    print(open(name_file).read().strip())
    print(f"  {'row':<48}{'plain':>10}{'interleaved':>13}{'bias':>8}")
    ratios = []
    for row in sorted({r for r, _ in samples}):
        plain = statistics.median(samples.get((row, False), [float("nan")]))
        inter = statistics.median(samples.get((row, True), [float("nan")]))
        ratios.append(inter / plain - 1)
        print(f"  {row:<48}{plain:>10.1f}{inter:>13.1f}{inter / plain - 1:>+8.1%}")
    if ratios:
        print(f"  median bias over {len(ratios)} rows: {statistics.median(ratios):+.1%}")
EOF
