#!/usr/bin/env bash
# Makes test/fixtures/parity/f32: the project's own small parity case, recorded with the
# official PULSE code (../shared/ref/README.md: its pulse_ref.py, on CPU) so that `npm test`
# checks parity on a clone with no ../shared beside it. Then calibrates it the way the
# shared cases are calibrated (scripts/parity/calibrate-case.py).
#
# Needs the official code and a torch 2.13 CPU venv set up by ../shared/ref/setup.sh:
#   ../shared/ref/setup.sh <git dir of adamian98/pulse> .cache/pulse_ref .cache/tvenv
# Usage: scripts/parity/make-fixture-case.sh [OUT]   (default test/fixtures/parity/f32)
#
# The run optimises with the Gaussian fit of the script's own random mapping network at a
# trained-like scale (map_scale=100), not with the official FFHQ fit. The mapping network
# itself (8 x 512 x 512, 8 MB a file) is then dropped: the fixture is about the synthesis
# network, BicubicDownSample, GEOCROSS and the optimisation; the mapping checks run on the
# shared cases.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-test/fixtures/parity/f32}
REF=${PULSE_REF_DIR:-.cache/pulse_ref}
PY=${PULSE_REF_PYTHON:-.cache/tvenv/bin/python}
SHARED_REF=${PULSE_SHARED_REF:-../shared/ref}
rm -rf "$OUT"
PULSE_REF_DIR=$REF "$PY" "$SHARED_REF/pulse_ref.py" case "$OUT" \
  res=32 fmap_base=128 factor=4 steps=8 seed=21 batch=1 noise_type=trainable n_trainable=3 \
  bad_noise=1 loss=100*L2+0.05*GEOCROSS lr=0.2 schedule=linear1cycledrop opt=adam dump_steps=2 map_scale=100
rm -f "$OUT"/mapping.pt "$OUT"/mapping_fit.pt "$OUT"/mapping_{z,w}.npy "$OUT"/mapping_fit_{mean,std}.npy
PULSE_REF_DIR=$REF "$PY" scripts/parity/calibrate-case.py "$OUT" --shared-ref "$SHARED_REF"
du -sh "$OUT"
