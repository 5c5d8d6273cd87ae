#!/usr/bin/env bash
# The UCI acceptance grid, in stages ordered so that a run stopped early still covers every dataset.
# Resumable: rerun this script and finished cells are skipped (a stage with nothing left to run is
# quick). Each stage that ran cells leaves its run metadata (wall time, cells run, load) in
# $OUT/runs/<stage>-<HHMM>.json. Time does not matter here: run it at `nice -n 19` (Ray workers
# inherit the niceness). Usage: benchmarks/uci_grid.sh [PYTHON]
# Ray's speed-up over the local executor is measured separately: benchmarks/uci_speedup.sh.
set -euo pipefail
PY=${1:-python}
DATA=${UCI_DATA:-/work/shared/data/uci}
OUT=${UCI_OUT:-benchmarks/results/uci}
EXECUTOR=${UCI_EXECUTOR:-ray}
SMALL=bostonHousing,concrete,energy,wine-quality-red
BIG=kin8nm,power-plant
export RAY_USAGE_STATS_ENABLED=0
stage() {  # stage NAME DATASETS METHOD SPLITS: run one stage and keep its run metadata
  local workers=(); [[ $EXECUTOR == ray ]] && workers=(--workers 2)
  echo "== stage $1: $2 $3 $4 ($(date -u +%H:%M:%S))"
  "$PY" -m uqlab bench uci --data "$DATA" --no-progress --datasets "$2" --methods "$3" --splits "$4" \
    --executor "$EXECUTOR" "${workers[@]}" --out "$OUT"
  if "$PY" -c "import json, sys; sys.exit(json.load(open('$OUT/uci-run.json'))['cells_run'] == 0)"; then
    cp "$OUT/uci-run.json" "$OUT/runs/$1-$(date -u +%H%M).json"  # a resumed stage keeps the earlier runs' files
  fi
}
mkdir -p "$OUT/runs"
stage ensemble-small-0-19 $SMALL ensemble 0-19
stage ensemble-big-0-4 $BIG ensemble 0-4
stage dropout-small-0-4 $SMALL mc_dropout 0-4
stage dropout-big-0-1 $BIG mc_dropout 0-1
stage dropout-small-5-19 $SMALL mc_dropout 5-19
stage dropout-big-2-4 $BIG mc_dropout 2-4
stage ensemble-big-5-19 $BIG ensemble 5-19
stage dropout-big-5-19 $BIG mc_dropout 5-19
