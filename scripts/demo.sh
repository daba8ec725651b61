#!/usr/bin/env bash
# The library's main job: train GET3D on the built-in procedural data set (generated on first use),
# then sample textured shapes, interpolate geometry and texture separately, and export GLB + OBJ.
#
#   bash scripts/demo.sh [key=value ...]      (extra arguments are training overrides)
#
# Output in $OUT (default out/demo): train/ (checkpoints, snapshots, curves.png), samples/
# (grid.png, turntable GIFs, shape_*.glb/.obj), interpolation/ (geometry x texture grid, strip).
# Running it again resumes the training run (a finished run is left as it is) and rewrites the
# samples.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-out/demo}
RUN="$OUT/train"

resume=()
if compgen -G "$RUN/checkpoint-*.pt" >/dev/null; then
  resume=(--resume)
fi
"$PY" train.py --out "$RUN" "${resume[@]}" "$@"
"$PY" -m get3d sample "$RUN/best.pt" --out "$OUT/samples" -n 4 --export glb,obj --w-avg-samples 10000
"$PY" -m get3d interpolate "$RUN/best.pt" --out "$OUT/interpolation" --steps 5 --w-avg-samples 10000
echo "demo: done; see $OUT/train/curves.png, $OUT/samples/grid.png and $OUT/samples/*.glb"
