#!/usr/bin/env bash
# The UCI acceptance grid, in stages ordered so that a run stopped early still covers every dataset.
# Resumable: rerun this script and finished cells are skipped. Usage: benchmarks/uci_grid.sh [PYTHON]
# Each stage leaves its run metadata (wall time, load) in $OUT/runs/<stage>-<HHMM>.json.
# Stage 0 measures Ray's speed-up over the local executor on a small subgrid (same cells, same run).
set -euo pipefail
PY=${1:-python}
DATA=${UCI_DATA:-/work/shared/data/uci}
OUT=${UCI_OUT:-benchmarks/results/uci}
SMALL=bostonHousing,concrete,energy,wine-quality-red
BIG=kin8nm,power-plant
export RAY_USAGE_STATS_ENABLED=0
stage() {  # stage NAME ARGS...: run one stage and keep its run metadata
  local name=$1; shift
  echo "== stage $name: $* ($(date -u +%H:%M:%S))"
  "$PY" -m uqlab bench uci --data "$DATA" --no-progress "$@"
  local out=$OUT; for ((i = 1; i <= $#; i++)); do [[ ${!i} == --out ]] && { j=$((i + 1)); out=${!j}; }; done
  cp "$out/uci-run.json" "$OUT/runs/$name-$(date -u +%H%M).json"  # a resumed stage keeps the earlier runs' files
}
mkdir -p "$OUT/runs"
stage speedup-local --datasets energy,wine-quality-red --methods ensemble --splits 0-3 --executor local --out "$OUT/speedup-local"
stage speedup-ray --datasets energy,wine-quality-red --methods ensemble --splits 0-3 --executor ray --workers 2 --out "$OUT"
stage ensemble-small-0-4 --datasets $SMALL --methods ensemble --splits 0-4 --executor ray --workers 2 --out "$OUT"
stage dropout-small-0-4 --datasets $SMALL --methods mc_dropout --splits 0-4 --executor ray --workers 2 --out "$OUT"
stage ensemble-big-0-4 --datasets $BIG --methods ensemble --splits 0-4 --executor ray --workers 2 --out "$OUT"
stage dropout-big-0 --datasets $BIG --methods mc_dropout --splits 0 --executor ray --workers 2 --out "$OUT"
stage ensemble-small-5-19 --datasets $SMALL --methods ensemble --splits 5-19 --executor ray --workers 2 --out "$OUT"
stage dropout-small-5-19 --datasets $SMALL --methods mc_dropout --splits 5-19 --executor ray --workers 2 --out "$OUT"
stage dropout-big-1-4 --datasets $BIG --methods mc_dropout --splits 1-4 --executor ray --workers 2 --out "$OUT"
stage ensemble-big-5-19 --datasets $BIG --methods ensemble --splits 5-19 --executor ray --workers 2 --out "$OUT"
stage dropout-big-5-19 --datasets $BIG --methods mc_dropout --splits 5-19 --executor ray --workers 2 --out "$OUT"
