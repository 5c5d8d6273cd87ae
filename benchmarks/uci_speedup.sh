#!/usr/bin/env bash
# Ray's speed-up over the local executor on this machine: the same cells (2 datasets x 2 methods x
# 2 splits) run from scratch with each executor into fresh folders; the cells' numbers must agree.
# A timed measurement: run it alone, e.g. `flock /work/heavy.lock benchmarks/uci_speedup.sh PYTHON`.
# Writes $OUT/speedup.json (wall times, ratio, load averages). UCI_SPEEDUP_ARGS=--quick: a dry run.
set -euo pipefail
PY=${1:-python}
DATA=${UCI_DATA:-/work/shared/data/uci}
OUT=${UCI_OUT:-benchmarks/results/uci}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export RAY_USAGE_STATS_ENABLED=0
GRID=(--data "$DATA" --datasets bostonHousing,energy --methods ensemble,mc_dropout --splits 0-1 --no-progress ${UCI_SPEEDUP_ARGS:-})
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
"$PY" -m uqlab bench uci "${GRID[@]}" --executor local --out "$WORK/local"
"$PY" -m uqlab bench uci "${GRID[@]}" --executor ray --workers 2 --out "$WORK/ray"
"$PY" - "$WORK" "$OUT/speedup.json" "$LOAD_BEFORE" <<'PY'
import glob, json, os, sys
work, target, load_before = sys.argv[1:]
runs = {name: json.load(open(f"{work}/{name}/uci-run.json")) for name in ("local", "ray")}
def results(name):
    out = {}
    for path in sorted(glob.glob(f"{work}/{name}/cells/**/*.json", recursive=True)):
        result = json.load(open(path))["result"]
        out[os.path.relpath(path, f"{work}/{name}/cells")] = {k: v for k, v in result.items() if k != "fit_seconds"}
    return out
same = results("local") == results("ray")
summary = {"cells": runs["local"]["cells"], "identical_numbers": same,
           "wall_seconds": {k: v["wall_seconds"] for k, v in runs.items()},
           "cell_seconds": {k: v["cell_seconds"] for k, v in runs.items()},
           "speedup": runs["local"]["wall_seconds"] / runs["ray"]["wall_seconds"],
           "loadavg_before": [float(x) for x in load_before.split()],
           "loadavg_after": {k: v["loadavg"] for k, v in runs.items()}, "cpus": os.cpu_count(), "date": runs["ray"]["date"]}
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target + ".tmp", "w") as handle:
    json.dump(summary, handle, indent=1)
os.replace(target + ".tmp", target)
print(json.dumps(summary, indent=1))
PY
