#!/usr/bin/env bash
# Measures each finished ablation variant at its last checkpoint: the EMA generator exported
# (Gaussian fit on 10,000 samples: only sampling is measured here), then 300 samples against
# 300 LFW dev faces in the run's own crop: face detection rate, descriptor Frechet distance
# (with the dev-vs-dev floor) and sample diversity. Then summarize.mjs writes summary.md.
# Usage: bash experiments/train-ablation/measure.sh [VARIANT ...]   (default: every run folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=experiments/train-ablation
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$OUT"/*/; do [ -d "$d/checkpoint" ] && names+=("$(basename "$d")"); done
fi
for v in "${names[@]}"; do
  run="$OUT/$v"
  node bin/pulse.mjs export-model --run "$run" --out "$run/model" --fit-samples 10000 --force
  node bin/pulse.mjs eval-model --model "$run/model" --samples 300 --fid-samples 300 --pulse-faces 0 \
    --seed 1 --out "$run/eval.json" --force --quiet
done
node "$OUT/summarize.mjs" > "$OUT/summary.md"
cat "$OUT/summary.md"
