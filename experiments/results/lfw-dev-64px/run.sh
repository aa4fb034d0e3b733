#!/usr/bin/env bash
# The committed benchmark of the default model: 100 LFW dev faces at 64 px, LR at 8x (8x8) and
# 16x (4x4), PULSE (default options, 4 solutions per face, seed 1) against nearest, MATLAB bicubic
# and ESRGAN. Rerun from the repository root:
#
#   bash experiments/results/lfw-dev-64px/run.sh
#
# It resumes: finished runs are kept in x8/ and x16/ (results.jsonl) and not repeated. The bench
# data (HR crops and LR inputs of LFW faces) goes to .cache/ and is never committed; neither are
# the output images and the raw result lines (they hold face descriptors of real people). What is
# committed: summary.md, summary.json, distributions/*.csv, figures/ and benchmark.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=experiments/results/lfw-dev-64px
data=.cache/bench/lfw-dev-64
lfw=${PULSE_LFW:-../shared/datasets/lfw}
niqe=${PULSE_NIQE_PARAMS:-../shared/metrics/niqe_pris_params.json}

if [ ! -f "$data/manifest.json" ]; then
  node bin/pulse.mjs bench-data "$lfw" --split dev --crop lfw --size 64 --factors 8,16 --count 100 --out "$data"
fi
for factor in 8 16; do
  node bin/pulse.mjs benchmark "$data" --factor "$factor" --methods pulse,bicubic,nearest,esrgan \
    --model models/default --duplicates 4 --seed 1 --niqe-params "$niqe" --out "$here/x$factor" "$@"
done
