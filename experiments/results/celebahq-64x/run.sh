#!/usr/bin/env bash
# The paper's CelebA-HQ protocol end to end: the 1024 px faces of ../shared/datasets/celebahq as
# they are (CelebA-HQ's own alignment, centre crop = the whole image), 16x16 LR made with PULSE's
# own downsampler (64x), PULSE (eps 1e-3, seed 1) against nearest, MATLAB bicubic and ESRGAN.
#
#   bash experiments/results/celebahq-64x/run.sh
#       No weights named: a RANDOM-weight generator of the FFHQ architecture (scripts/random-model.ts),
#       2 faces, 10 steps, into random-weights/: a pipeline and cost check, NOT a quality result
#       (its outputs are noise; a step's cost does not depend on the weights' values).
#   PULSE_MODEL=models/ffhq bash experiments/results/celebahq-64x/run.sh
#       The published FFHQ weights (README: "The published FFHQ weights"; `pulse convert` them to
#       models/ffhq, or name the folder holding synthesis.pt): all 107 faces, the official 100 steps,
#       into published-ffhq/. About 9 minutes a face on a 2-core CPU (README.md here); resumes.
#
# Further arguments go to `pulse benchmark` (e.g. --shard 1/4, --steps). Not committed: the bench
# data (.cache/), output images and raw result lines (real people's photos and face descriptors).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
here=experiments/results/celebahq-64x
celebahq=${PULSE_CELEBAHQ:-../shared/datasets/celebahq}
niqe=${PULSE_NIQE_PARAMS:-../shared/metrics/niqe_pris_params.json}
model=${PULSE_MODEL:-}
if [ -z "$model" ]; then
  model=runs/random-ffhq
  [ -f "$model/synthesis.pt" ] || npx tsx scripts/random-model.ts --out "$model" --res 1024 --seed 1
  out=$here/random-weights faces=2 steps=10
else
  out=$here/published-ffhq faces=107 steps=100
fi
data=.cache/bench/celebahq-1024-x64-$faces

if [ ! -f "$data/manifest.json" ]; then
  node bin/pulse.mjs bench-data "$celebahq" --size 1024 --factors 64 --crop center --count "$faces" --out "$data" --force || [ -f "$data/manifest.json" ]
fi
node bin/pulse.mjs benchmark "$data" --factor 64 --methods pulse,bicubic,nearest,esrgan --model "$model" \
  --steps "$steps" --eps 1e-3 --seed 1 --niqe-params "$niqe" --out "$out" "$@"
npx tsx scripts/benchmark-faces-figure.ts --bench "$out" --faces 2 --height 128 --out "$out/faces.png"
# Committed files name paths relative to the checkout, never this machine's folders.
node scripts/portable-paths.mjs "$out"/benchmark.json "$out"/summary.json "$out"/summary.md "$out"/distributions/*.csv
