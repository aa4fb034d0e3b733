#!/usr/bin/env bash
# Executes the research notebooks headless, as CI does: each notebooks/*.ipynb (or the ones
# named) runs top to bottom in a fresh tslab kernel through `nbconvert --execute`, into a
# temporary folder; the committed notebooks are never modified. Exit 1 when any notebook fails:
# a thrown error or a type error in a cell (nbconvert), or an uncaught exception / unhandled
# rejection that tslab only logs.
#
#   bash scripts/run-notebooks.sh                  # full scale
#   PULSE_NOTEBOOK_QUICK=1 bash scripts/run-notebooks.sh   # quick mode (CI); same as --quick
#   bash scripts/run-notebooks.sh --quick --keep runs/notebooks notebooks/01-quickstart.ipynb
#
# Options: --quick (sets PULSE_NOTEBOOK_QUICK=1), --keep DIR (copy the executed notebooks, with
# their outputs, to DIR). The environment reaches the notebooks: PULSE_NOTEBOOK_MODEL picks the
# model, PULSE_BACKEND the compute backend. PULSE_NOTEBOOK_TIMEOUT is the limit per cell in
# seconds (default 1800). Needs what scripts/setup-notebooks.sh installs; the kernel spec used
# here is a temporary one for this checkout's tslab, so no registration is needed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tslab="$repo/node_modules/.bin/tslab"
keep=""
notebooks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) export PULSE_NOTEBOOK_QUICK=1 ;;
    --keep)
      [ $# -ge 2 ] || { echo "run-notebooks: --keep needs a folder" >&2; exit 2; }
      keep="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "run-notebooks: unknown option '$1' (see --help)" >&2
      exit 2
      ;;
    *) notebooks+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")") ;;
  esac
  shift
done
if [ ${#notebooks[@]} -eq 0 ]; then
  shopt -s nullglob
  notebooks=("$repo"/notebooks/*.ipynb)
  shopt -u nullglob
fi
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "run-notebooks: no notebooks in $repo/notebooks" >&2
  exit 1
fi

python=""
for candidate in ${PULSE_JUPYTER_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import nbconvert, nbclient' >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "run-notebooks: no Python with nbconvert; run bash scripts/setup-notebooks.sh" >&2
  exit 1
fi
if [ ! -x "$tslab" ]; then
  echo "run-notebooks: $tslab is missing; run npm install" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pulse-notebooks.XXXXXX")
mkdir -p "$work/jupyter/kernels/tslab" "$work/executed"
"$python" - "$tslab" "$work/jupyter/kernels/tslab/kernel.json" <<'EOF'
import json, sys
spec = {"argv": [sys.argv[1], "kernel", "--config-path", "{connection_file}"],
        "display_name": "TypeScript", "language": "typescript"}
with open(sys.argv[2], "w") as f:
    json.dump(spec, f)
EOF
export JUPYTER_PATH="$work/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"

mode="full"
case "$(echo "${PULSE_NOTEBOOK_QUICK:-}" | tr '[:upper:]' '[:lower:]' | tr -d ' ')" in
  1 | true | yes | on) mode="quick" ;;
esac
echo "run-notebooks: ${#notebooks[@]} notebook(s), $mode mode, model ${PULSE_NOTEBOOK_MODEL:-models/default}, python $python"

# nbconvert's ExecutePreprocessor (what `jupyter nbconvert --to notebook --execute` runs), driven
# from Python so that a failing cell's own output gets into the log (tslab reports a cell's error
# on its stderr stream, not in the execute reply) and the notebook is saved up to the failure.
driver=$(cat <<'EOF'
import os, sys, nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

src, dst, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(src, as_version=4)
failed = []
ep = ExecutePreprocessor(timeout=timeout, kernel_name="tslab",
                         on_cell_error=lambda cell, cell_index, execute_reply: failed.append(cell_index))
error = None
try:
    # The kernel starts in the notebook's folder, as in Jupyter, so cells see ../src.
    ep.preprocess(nb, {"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
except CellExecutionError:
    error = "a cell failed"
except Exception as e:  # a timeout, a dead kernel
    error = f"{type(e).__name__}: {str(e).strip()[:2000]}"
nbformat.write(nb, dst)

def stream_text(cell):
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")

# tslab catches uncaught exceptions and unhandled rejections and only prints them.
for i, cell in enumerate(nb.cells):
    text = stream_text(cell)
    if "UncaughtException:" in text or "UnhandledPromiseRejection:" in text:
        failed.append(i)
        error = error or "an uncaught exception or unhandled rejection"
if error:
    print(f"error: {error}")
    for i in sorted(set(failed)):
        cell = nb.cells[i]
        print(f"--- cell {i + 1} of {len(nb.cells)}:")
        print("\n".join("  " + line for line in cell.source.splitlines()[:12]))
        print("--- its output:")
        print(stream_text(cell).strip()[-4000:])
    sys.exit(1)
EOF
)

passed=0
failed=0
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb")
  log="$work/${name%.ipynb}.log"
  start=$(date +%s%N)
  status=0
  "$python" -c "$driver" "$nb" "$work/executed/$name" "${PULSE_NOTEBOOK_TIMEOUT:-1800}" >"$log" 2>&1 || status=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  took="$((ms / 1000)).$((ms % 1000 / 100)) s"
  if [ "$status" = 0 ]; then
    passed=$((passed + 1))
    echo "run-notebooks: ok   $name ($took)"
  else
    failed=$((failed + 1))
    echo "run-notebooks: FAIL $name ($took):"
    grep -v -e '^\s*$' -e 'Native kernel (python3) is not available' "$log" | tail -n 60 | sed 's/^/    /'
  fi
done

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$work"/executed/*.ipynb "$keep"/ 2>/dev/null || true
  echo "run-notebooks: executed notebooks copied to $keep"
fi
if [ "$failed" = 0 ]; then
  rm -rf "$work"
else
  echo "run-notebooks: logs and executed notebooks kept in $work"
fi
echo "notebooks: $passed passed, $failed failed"
[ "$failed" = 0 ]
