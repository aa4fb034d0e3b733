#!/usr/bin/env bash
# The default model on CelebA-HQ (the 107 faces of ../shared/datasets/celebahq, 1024 px), at the
# model's resolution: each face found and aligned to the model's training convention (its
# metadata data.crop: the LFW crop's framing for v1, the FFHQ alignment for a model trained with
# --crop ffhq; `pulse bench-data --model`), LR at 8x and 16x with PULSE's own downsampler; PULSE
# (default options, seed 1) against nearest, MATLAB bicubic and ESRGAN. 8x: 4 solutions per face
# (the diversity columns); 16x: one, as in the paper's Table 2. From the repository root:
#
#   bash experiments/results/celebahq-64px/run.sh                  # all 107 faces (resumes)
#   bash experiments/results/celebahq-64px/run.sh --max-runs 200   # from scratch: the first 40 faces, what is
#                                            # committed (5 runs a face; each call adds at most 200 runs per factor)
#
# Arguments go to both `pulse benchmark` calls. It resumes: finished runs are kept in x8/ and x16/
# (results.jsonl) and never repeated, so a subset run followed by the full command only adds the
# rest. A new models/default (e.g. v2) gets its own bench data (keyed by its model.json) and its
# own runs (run ids include the model's fingerprint); the summaries then list only its runs.
# Not committed: the bench data (.cache/), the output images and raw result lines (photographs
# of real people and their face descriptors). Committed: summary.md, summary.json,
# distributions/, figures/, benchmark.json, and faces.png (a few faces, research use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=experiments/results/celebahq-64px
model=${PULSE_MODEL:-models/default}
celebahq=${PULSE_CELEBAHQ:-../shared/datasets/celebahq}
niqe=${PULSE_NIQE_PARAMS:-../shared/metrics/niqe_pris_params.json}
data=.cache/bench/celebahq-$(sha256sum "$model/model.json" | cut -c1-12)

if [ ! -f "$data/manifest.json" ]; then
  # A face that cannot be read or aligned is reported and left out (exit code 1); the rest are used.
  node bin/pulse.mjs bench-data "$celebahq" --model "$model" --factors 8,16 --out "$data" --force || [ -f "$data/manifest.json" ]
fi
run() { # factor, duplicates, extra arguments
  local factor=$1 duplicates=$2
  shift 2
  node bin/pulse.mjs benchmark "$data" --factor "$factor" --methods pulse,bicubic,nearest,esrgan \
    --model "$model" --duplicates "$duplicates" --seed 1 --niqe-params "$niqe" --out "$here/x$factor" "$@"
}
run 8 4 "$@"
run 16 1 "$@"
npx tsx scripts/benchmark-faces-figure.ts --bench "$here/x8" --faces 3 --height 128 --out "$here/faces.png"
# Committed files name paths relative to the checkout, never this machine's folders.
node scripts/portable-paths.mjs "$here"/x*/benchmark.json "$here"/x*/summary.json "$here"/x*/summary.md "$here"/x*/distributions/*.csv
