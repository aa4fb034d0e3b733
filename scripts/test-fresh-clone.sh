#!/usr/bin/env bash
# Runs `npm test` in a fresh clone of this checkout's HEAD placed where no ../shared is beside
# it (a temp dir), as a user's clone is: tests that need ../shared must be reported skipped,
# everything else must pass. node_modules is linked from this checkout (already installed
# and built), so the run costs no install; the checkout's own addons are built (seconds).
# Usage: scripts/test-fresh-clone.sh [extra vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pulse-fresh-clone.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
git clone --quiet --no-hardlinks "$SRC" "$WORK/pulse-ts"
if [ -e "$WORK/shared" ]; then echo "unexpected $WORK/shared" >&2; exit 1; fi
ln -s "$(readlink -f "$SRC/node_modules")" "$WORK/pulse-ts/node_modules"
cd "$WORK/pulse-ts"
# What npm ci's postinstall builds inside the checkout itself (node_modules is shared).
node scripts/build-release-memory.mjs
node scripts/build-winograd.mjs
npx tsc --noEmit
npx vitest run "$@"
