#!/usr/bin/env bash
# Sets up the research notebooks (notebooks/*.ipynb, TypeScript through the tslab kernel):
#
#   1. Jupyter (nbconvert, jupyter_client, IPython) for a Python: PULSE_JUPYTER_PYTHON when set,
#      else /usr/bin/python3 or the python3 on PATH, whichever already has it. When neither has
#      it: as root with apt-get, Debian's packages are installed for /usr/bin/python3; otherwise
#      this prints what to install with pip or conda, and exits 1.
#   2. tslab, from the project's node_modules (it is in package.json: `npm install`).
#   3. The `tslab` kernel spec (and tslab's `jslab`), registered for that Python with this
#      checkout's tslab as its command, unless a working one is registered already.
#
#   4. With --lab: JupyterLab and plotly (whose wheel carries plotly's JupyterLab extension:
#      interactive plots) in a virtual environment of their own, .cache/jupyterlab-venv
#      (PULSE_JUPYTERLAB_VENV to put it elsewhere), made with `python3 -m venv` and filled by
#      pip from wherever pip is configured to install (PIP_INDEX_URL and pip.conf as usual). The
#      system's Python is left alone; deleting the folder removes it all. JupyterLab finds the
#      tslab kernel registered in step 3.
#
# Idempotent: what is already there is left alone, so a second run takes about a second.
#
#   bash scripts/setup-notebooks.sh          # headless execution (CI, scripts/run-notebooks.sh)
#   bash scripts/setup-notebooks.sh --ui     # also the browser UI (Debian's jupyter-notebook)
#   bash scripts/setup-notebooks.sh --lab    # also JupyterLab with plotly (npm run lab)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tslab="$repo/node_modules/.bin/tslab"
want_ui=0
want_lab=0
# The versions the notebooks and the browser test were checked with.
lab_packages="jupyterlab==4.6.4 plotly==7.1.0"
lab_venv="${PULSE_JUPYTERLAB_VENV:-$repo/.cache/jupyterlab-venv}"
for arg in "$@"; do
  case "$arg" in
    --ui) want_ui=1 ;;
    --lab) want_lab=1 ;;
    -h | --help)
      sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup-notebooks: unknown argument '$arg' (use --ui, --lab or --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup-notebooks: $*"; }

# Does Python $1 have what headless execution needs (and, with --ui, the notebook server)?
has_jupyter() {
  local modules="nbconvert, nbclient, jupyter_client, IPython"
  [ "$want_ui" = 1 ] && modules="$modules, notebook"
  [ -x "$(command -v "$1" 2>/dev/null)" ] && "$1" -c "import $modules" >/dev/null 2>&1
}

debian_packages="jupyter-nbconvert jupyter-client jupyter-core python3-ipython"
[ "$want_ui" = 1 ] && debian_packages="$debian_packages jupyter-notebook"

python=""
if [ -n "${PULSE_JUPYTER_PYTHON:-}" ]; then
  if ! has_jupyter "$PULSE_JUPYTER_PYTHON"; then
    say "PULSE_JUPYTER_PYTHON=$PULSE_JUPYTER_PYTHON lacks Jupyter; install it there with:"
    say "  $PULSE_JUPYTER_PYTHON -m pip install nbconvert nbclient jupyter_client ipython$([ "$want_ui" = 1 ] && echo ' notebook')"
    exit 1
  fi
  python="$PULSE_JUPYTER_PYTHON"
else
  for candidate in /usr/bin/python3 python3; do
    if has_jupyter "$candidate"; then
      python="$candidate"
      break
    fi
  done
fi

if [ -z "$python" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Jupyter from Debian: $debian_packages"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y --no-install-recommends $debian_packages >/dev/null 2>&1; then
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends $debian_packages >/dev/null
    fi
    python=/usr/bin/python3
    if ! has_jupyter "$python"; then
      say "Debian's Jupyter packages are installed but $python cannot import them" >&2
      exit 1
    fi
  else
    cat >&2 <<EOF
setup-notebooks: no Python with Jupyter found (looked at /usr/bin/python3 and python3 on PATH).
Install one of these, then run this script again:
  Debian/Ubuntu (root):  apt-get install -y --no-install-recommends $debian_packages
  pip:                   python3 -m pip install nbconvert nbclient jupyter_client ipython$([ "$want_ui" = 1 ] && echo ' notebook')
  conda:                 conda install -c conda-forge nbconvert nbclient jupyter_client ipython$([ "$want_ui" = 1 ] && echo ' notebook')
For a Python elsewhere: PULSE_JUPYTER_PYTHON=/path/to/python bash scripts/setup-notebooks.sh
EOF
    exit 1
  fi
fi
say "Jupyter: $python ($("$python" -m nbconvert --version 2>/dev/null | head -n1 | sed 's/^/nbconvert /'))"

if [ ! -x "$tslab" ]; then
  say "tslab is missing from node_modules; run \`npm install\` in $repo first" >&2
  exit 1
fi

# The registered tslab kernel's command, or nothing.
registered=$("$python" - <<'EOF' 2>/dev/null || true
from jupyter_client.kernelspec import KernelSpecManager
try:
    print(KernelSpecManager().get_kernel_spec('tslab').argv[0])
except Exception:
    pass
EOF
)
# Any working tslab will do: a tslab kernel hands over to the tslab in node_modules above the
# notebook's folder (tslab's findLocalStartKernel), so an existing registration is kept unless
# its command is gone (e.g. a deleted checkout).
if [ -n "$registered" ] && command -v "$registered" >/dev/null 2>&1; then
  say "kernel: tslab already registered ($registered)"
else
  [ -n "$registered" ] && say "kernel: tslab was registered as '$registered', which no longer runs; re-registering"
  "$tslab" install --python="$python" --binary="$tslab" >/dev/null
  say "kernel: tslab registered ($tslab, for $python)"
fi

if [ "$want_lab" = 1 ]; then
  if [ -x "$lab_venv/bin/python" ] && "$lab_venv/bin/python" -c 'import jupyterlab, plotly' >/dev/null 2>&1; then
    say "JupyterLab: already in $lab_venv"
  else
    # Any Python 3 with venv will do; the one with Jupyter first.
    venv_python=""
    for candidate in "$python" python3 /usr/bin/python3; do
      if "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        venv_python="$candidate"
        break
      fi
    done
    if [ -z "$venv_python" ]; then
      say "no Python with venv and ensurepip for JupyterLab's environment; on Debian: apt-get install python3-venv" >&2
      exit 1
    fi
    say "JupyterLab: making $lab_venv ($venv_python -m venv) and installing $lab_packages"
    "$venv_python" -m venv "$lab_venv"
    "$lab_venv/bin/python" -m pip install --quiet --disable-pip-version-check $lab_packages
  fi
  # Node.js would take the JavaScript in the environment (JupyterLab's build tools) for ES
  # modules when it sits inside this repository, whose package.json says "type": "module".
  [ -f "$lab_venv/package.json" ] || echo '{}' >"$lab_venv/package.json"
  lab_kernels=$("$lab_venv/bin/python" -m jupyter kernelspec list 2>/dev/null || true)
  if ! grep -q '^ *tslab ' <<<"$lab_kernels"; then
    "$tslab" install --python="$lab_venv/bin/python" --binary="$tslab" >/dev/null
    say "kernel: tslab registered for JupyterLab's Python too"
  fi
fi

say "ready. Headless run of every notebook: bash scripts/run-notebooks.sh (PULSE_NOTEBOOK_QUICK=1 for a short one)"
if [ "$want_ui" = 1 ]; then
  say "browser UI: $python -m notebook --notebook-dir=$repo/notebooks   (npm run notebooks)"
fi
if [ "$want_lab" = 1 ]; then
  say "JupyterLab: $lab_venv/bin/jupyter lab --notebook-dir=$repo/notebooks   (npm run lab)"
fi
