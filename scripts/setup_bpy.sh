#!/usr/bin/env bash
# Blender as a Python module (PyPI `bpy`) for the Blender round-trip test of the exporters, in its
# own environment .venv-bpy: bpy 4.5 LTS wheels are built for Python 3.11 and pin numpy < 2, so
# they cannot share .venv. About 370 MB to download, once. SKIP_BPY=1 skips it (the test then
# skips too), as does a Python other than 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BPY_VERSION=${BPY_VERSION:-4.5.15}

if [ "${SKIP_BPY:-0}" = 1 ]; then
  echo "[setup] SKIP_BPY=1: the Blender round-trip test will skip"
  exit 0
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "[setup] bpy $BPY_VERSION needs Python 3.11 ($PYTHON is not): the Blender round-trip test will skip"
  exit 0
fi
if [ -x .venv-bpy/bin/python ] && .venv-bpy/bin/python -c "import bpy" >/dev/null 2>&1; then
  exit 0
fi
echo "[setup] installing bpy==$BPY_VERSION into .venv-bpy (Blender round-trip test)"
"$PYTHON" -m venv .venv-bpy
.venv-bpy/bin/python -m pip install -q "bpy==$BPY_VERSION"
