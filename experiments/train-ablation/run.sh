#!/usr/bin/env bash
# The anti-collapse ablation of docs/training.md: the default model's v1 settings and the
# remedies, each trained from the same seed for the same number of images, then measured
# (descriptor Frechet distance and sample diversity) by scripts/ablation-measure.ts.
# Usage: bash experiments/train-ablation/run.sh [VARIANT ...]   (default: all; resumable)
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGES=${ABLATION_IMAGES:-9600}
DATA=${LFW_DIR:-../shared/datasets/lfw}
CROP=${ABLATION_CROP:-lfw}
OUT=experiments/train-ablation
# v1: fmap_base 512 / fmap_max 256, batch 16, lr 0.002, R1 gamma 0.0512 (0.0002 * 64^2 / 16), no augmentation.
declare -A VARIANTS=(
  [v1]="--fmap-base 512 --augment none"
  [diffaug]="--fmap-base 512 --augment color,translation,cutout"
  [diffaug-r1x4]="--fmap-base 512 --augment color,translation,cutout --r1-gamma 0.2048"
  [diffaug-wide]="--augment color,translation,cutout --fmap-base 1024"
)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(v1 diffaug diffaug-r1x4 diffaug-wide)
for v in "${names[@]}"; do
  [ -n "${VARIANTS[$v]+x}" ] || { echo "unknown variant $v (one of: ${!VARIANTS[*]})" >&2; exit 2; }
  node bin/pulse.mjs train --data "$DATA" --split train --crop "$CROP" --out "$OUT/$v" --resume \
    --res 64 --fmap-max 256 --batch 16 --seed 1 --total-images "$IMAGES" \
    --checkpoint-every 100 --sample-every 200 --quiet ${VARIANTS[$v]}
done
