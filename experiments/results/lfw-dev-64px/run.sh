#!/usr/bin/env bash
# The committed benchmark of the default model: the first 100 LFW dev faces at 64 px, each cut
# the way the model was trained (its metadata data.crop: v1 the LFW_CROP box, v2 the FFHQ
# alignment from landmarks; `pulse bench-data --model`), LR at 8x (8x8) and 16x (4x4), PULSE
# (default options, seed 1) against nearest, MATLAB bicubic and ESRGAN. At 8x PULSE makes 4
# solutions per face (the diversity columns); at 16x one, as in the paper's Table 2. Rerun from
# the repository root:
#
#   bash experiments/results/lfw-dev-64px/run.sh
#
# It resumes: finished runs are kept in x8/ and x16/ (results.jsonl) and not repeated. The bench
# data (HR crops and LR inputs of LFW faces, keyed by the model's model.json) goes to .cache/ and
# is never committed; neither are the output images and the raw result lines (they hold face
# descriptors of real people). A photo whose face cannot be found for the alignment is reported
# and left out (bench-data's exit code 1); the rest are used. What is committed: summary.md,
# summary.json, distributions/*.csv, figures/ and benchmark.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=experiments/results/lfw-dev-64px
model=${PULSE_MODEL:-models/default}
data=.cache/bench/lfw-dev-64-$(sha256sum "$model/model.json" | cut -c1-12)
lfw=${PULSE_LFW:-../shared/datasets/lfw}
niqe=${PULSE_NIQE_PARAMS:-../shared/metrics/niqe_pris_params.json}

if [ ! -f "$data/manifest.json" ]; then
  node bin/pulse.mjs bench-data "$lfw" --split dev --model "$model" --factors 8,16 --count 100 --out "$data" --force || [ -f "$data/manifest.json" ]
fi
run() { # factor, duplicates, extra arguments
  local factor=$1 duplicates=$2
  shift 2
  node bin/pulse.mjs benchmark "$data" --factor "$factor" --methods pulse,bicubic,nearest,esrgan \
    --model "$model" --duplicates "$duplicates" --seed 1 --niqe-params "$niqe" --out "$here/x$factor" "$@"
}
run 8 4 "$@"
run 16 1 "$@"
node scripts/portable-paths.mjs "$here"/x*/benchmark.json "$here"/x*/summary.json "$here"/x*/summary.md "$here"/x*/distributions/*.csv
