#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install the library.
#
# torch goes in first and on its own: `pip install torch==$TORCH_VERSION` takes the CPU
# build on this project's CPU-only machines, and once a torch that satisfies setup.py is
# present pip installs nothing more for it, so set-up never pulls a multi-GB CUDA build by
# accident. An existing torch in the venv is kept (install a CUDA build there yourself on a
# GPU machine). Override the version with TORCH_VERSION=..., the interpreter with PYTHON=...
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "[setup] installing torch==$TORCH_VERSION"
  "$PY" -m pip install -q "torch==$TORCH_VERSION"
fi
echo "[setup] installing the library and its dev tools"
"$PY" -m pip install -q -e ".[dev]"
"$PY" -c "import torch; print(f'[setup] torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}')"
