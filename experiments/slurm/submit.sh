#!/usr/bin/env bash
# Submits an experiment grid as a Slurm job array of N shards, and the merge + summary as a job
# that starts when every array task succeeded (--dependency=afterok). Run from the repository
# root (the jobs cd to the folder they were submitted from):
#
#   bash experiments/slurm/submit.sh experiments/quick-ablation.json 8 [extra sbatch options]
#
# Prints the two job ids ("array <id>", "merge <id>"). Extra options (e.g. --partition=gpu,
# --time=08:00:00, --gres=gpu:1) go to the array job; the merge job takes the defaults.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="${1:?usage: submit.sh CONFIG N [sbatch options]}"
shards="${2:?usage: submit.sh CONFIG N [sbatch options] (N = number of array tasks = shards)}"
shift 2
[[ -f "$config" ]] || { echo "submit.sh: config $config not found (run from the repository root)" >&2; exit 2; }
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: N=\"$shards\" must be a positive integer" >&2; exit 2; }
array_id="$(sbatch --parsable --array="0-$((shards - 1))" "$@" "$here/array.sbatch" "$config")"
array_id="${array_id%%;*}" # --parsable prints "id" or "id;cluster"
merge_id="$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes "$here/merge.sbatch" "$config")"
merge_id="${merge_id%%;*}"
echo "array $array_id"
echo "merge $merge_id"
