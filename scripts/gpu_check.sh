#!/usr/bin/env bash
# One-shot check of the CUDA path on a machine with one NVIDIA GPU (issue #14), in under 8 minutes:
#
#   scripts/gpu_check.sh [WHEEL_DIR] [--out DIR]
#
# Needs: torch with CUDA, nvcc and ninja, Python 3.10+; no network. WHEEL_DIR holds wheels of what
# the machine lacks (diffrp-nvdiffrast, trimesh, xatlas; pytest and its dependencies if missing):
# they are installed with `pip install --no-index --no-deps --target $GPU_CHECK_SITE` (default
# /tmp/site; plain unzipping when pip is missing) and put on PYTHONPATH with the repository root
# (the repository is used from its checkout, not installed). Steps, in order:
#
#   1 build  build and load nvdiffrast's plugin (python -m render.nvdiffrast_loader), timed
#   2 tests  pytest -m cuda (the strict nvdiffrast parity suite included), junit + JSON summary
#   3 raster benchmarks/bench_raster.py --device cuda: nvdiffrast vs the torch backend, 40k/200k
#            faces at 512², 1024², 2048², forward and forward+backward
#   4 gen    benchmarks/bench_generator.py --device cuda: official generator, forward and
#            forward+backward at 1024²
#   5 train  20 training steps of configs/shapenet_car.yaml (official sizes, 1024²) at batch 4,
#            on the built-in procedural car data set (generated first, 6 shapes x 4 views,
#            256² images that the loader resizes to 1024²; the data set only feeds the
#            discriminator, so its size does not change the speed), reporting seconds per kimg
#
# Results: JSON (summary.json, env.json and one file per step) and logs in $OUT when it is set,
# else in --out DIR (default gpu_check_out). A summary table is printed at the end. Bulky files
# (the training run's checkpoint, the data set, the plugin build) stay in $GPU_CHECK_WORK
# (default /tmp/gpu_check_work) and $TORCH_EXTENSIONS_DIR (default /tmp/gpu_check_torch_extensions).
#
# Environment:
#   STEPS="1 2 3"         run only these steps (default: all)
#   GPU_CHECK_BUDGET=450  seconds for all steps; a step gets min(its cap, what is left)
#   GPU_CHECK_TIMEOUT_<N> cap of step N in seconds (defaults: 150 110 75 60 150)
#   GPU_CHECK_DRY=1       check this script on a CPU machine: every step at a tiny size on CPU
#   PYTHON                interpreter (default python3)
# Every step runs under `timeout`; a failed step does not stop the others, and the script exits
# non-zero when any requested step failed, timed out or had no time left.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
DRY=${GPU_CHECK_DRY:-0}
WHEELS=""
OUT_OPT=""
while (($#)); do
  case "$1" in
    --out) OUT_OPT=${2:?--out needs a folder}; shift 2 ;;
    --out=*) OUT_OPT=${1#--out=}; shift ;;
    -h|--help) sed -n '2,35p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "gpu_check: unknown option $1" >&2; exit 2 ;;
    *) [[ -z $WHEELS ]] || { echo "gpu_check: one WHEEL_DIR only" >&2; exit 2; }; WHEELS=$1; shift ;;
  esac
done
RES=${OUT:-${OUT_OPT:-gpu_check_out}}
mkdir -p "$RES" || exit 2
RES=$(cd "$RES" && pwd)
WORK=${GPU_CHECK_WORK:-/tmp/gpu_check_work}
mkdir -p "$WORK" || exit 2
STEPS=${STEPS:-1 2 3 4 5}
BUDGET=${GPU_CHECK_BUDGET:-450}
START=$(date +%s)
DEADLINE=$((START + BUDGET))
TSV="$RES/steps.tsv"
: >"$TSV"
cd "$REPO" || exit 2

# ---- environment ---------------------------------------------------------------------------
SITE=${GPU_CHECK_SITE:-/tmp/site}
if [[ -n $WHEELS ]]; then
  shopt -s nullglob
  wheels=("$WHEELS"/*.whl)
  shopt -u nullglob
  if ((${#wheels[@]} == 0)); then
    echo "gpu_check: no wheels in $WHEELS" | tee "$RES/wheels.log"
  elif "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m pip install --no-index --no-deps --target "$SITE" "${wheels[@]}" >"$RES/wheels.log" 2>&1 \
      || echo "gpu_check: pip install of the wheels failed, see $RES/wheels.log"
  else  # wheels are zip archives; without pip, unpack them in place
    mkdir -p "$SITE"
    for w in "${wheels[@]}"; do "$PY" -m zipfile -e "$w" "$SITE" >>"$RES/wheels.log" 2>&1; done
  fi
fi
export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-/tmp/gpu_check_torch_extensions}
export MAX_JOBS=${MAX_JOBS:-$(nproc 2>/dev/null || echo 4)}
export PYTHONUNBUFFERED=1
if [[ $DRY == 1 ]]; then
  DEVICE=cpu
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
else
  DEVICE=cuda
  if [[ -z ${TORCH_CUDA_ARCH_LIST:-} ]]; then  # build for this GPU only (minutes less)
    arch=$("$PY" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())" 2>/dev/null)
    [[ -n $arch ]] && export TORCH_CUDA_ARCH_LIST=$arch
  fi
fi

"$PY" - "$RES/env.json" "$DRY" <<'EOF'
import importlib, json, os, platform, shutil, subprocess, sys
out, dry = sys.argv[1], sys.argv[2] == "1"
env = {"python": platform.python_version(), "dry_run": dry, "modules": {}}
for name in ("torch", "numpy", "PIL", "yaml", "tqdm", "trimesh", "xatlas", "pytest", "nvdiffrast"):
    try:
        mod = importlib.import_module(name)
        env["modules"][name] = getattr(mod, "__version__", "present")
    except Exception as err:
        env["modules"][name] = f"missing: {type(err).__name__}: {err}"
try:
    import torch
    env["torch_cuda"] = torch.version.cuda
    env["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["capability"] = "%d.%d" % torch.cuda.get_device_capability()
except Exception as err:
    env["torch_error"] = repr(err)
for tool, args in (("nvcc", ["--version"]), ("ninja", ["--version"])):
    path = shutil.which(tool)
    env[tool] = subprocess.run([path, *args], capture_output=True, text=True).stdout.strip().splitlines()[-1:] if path else "missing"
for key in ("TORCH_CUDA_ARCH_LIST", "TORCH_EXTENSIONS_DIR", "MAX_JOBS", "PYTHONPATH"):
    env[key] = os.environ.get(key)
with open(out, "w", encoding="utf-8") as f:
    json.dump(env, f, indent=1)
print("gpu_check environment:", json.dumps(env))
EOF

# ---- step runner ---------------------------------------------------------------------------
wanted() { [[ " $STEPS " == *" $1 "* ]]; }

# run_step N NAME CAP RESULT_FILE CMD...: CMD under `timeout`, its output in NAME.log
run_step() {
  local id=$1 name=$2 cap=$3 result=$4
  shift 4
  local var="GPU_CHECK_TIMEOUT_$id"
  cap=${!var:-$cap}
  local left=$((DEADLINE - $(date +%s) - 5))
  local limit=$((cap < left ? cap : left))
  if ((limit < 5)); then
    printf '%s\t%s\tno time\t0\t-\t%s\t%s\n' "$id" "$name" "$limit" "$result" >>"$TSV"
    echo "== step $id ($name): no time left in the ${BUDGET}s budget"
    return
  fi
  echo "== step $id ($name), limit ${limit}s: $*"
  local t0 t1 rc status
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" >"$RES/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status=failed ;;
  esac
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$name" "$status" "$secs" "$rc" "$limit" "$result" >>"$TSV"
  echo "   $status in ${secs}s (exit $rc); log $RES/$name.log"
  tail -n 15 "$RES/$name.log" | sed 's/^/   | /'
}

# ---- 1: build and load the plugin ----------------------------------------------------------
if wanted 1; then
  if [[ $DRY == 1 ]]; then
    run_step 1 build 60 "" "$PY" -c "import render; print('nvdiffrast usable:', render.nvdiffrast_available())"
  elif [[ -f render/nvdiffrast_loader.py ]]; then
    run_step 1 build 150 "" "$PY" -m render.nvdiffrast_loader
  else  # before the loader exists: a context builds and loads the plugin
    run_step 1 build 150 "" "$PY" -c \
      "import torch, render; print(render.make_context('nvdiffrast', device=torch.device('cuda')))"
  fi
fi

# ---- 2: pytest -m cuda, parity suite included ----------------------------------------------
if wanted 2; then
  if [[ $DRY == 1 ]]; then tests=(tests/render/test_nvdiffrast_parity.py); else tests=(tests); fi
  run_step 2 tests 110 pytest.json "$PY" -m pytest -m cuda -q -rA -p no:cacheprovider \
    --junitxml "$RES/pytest_cuda.xml" "${tests[@]}"
  "$PY" - "$RES/pytest_cuda.xml" "$RES/pytest.json" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
src, dst = sys.argv[1:3]
try:
    cases = list(ET.parse(src).getroot().iter("testcase"))
except (OSError, ET.ParseError) as err:
    cases, error = [], f"no junit report: {err}"
else:
    error = None
def summary(rows):
    out = {"tests": len(rows), "passed": 0, "failed": [], "errors": [], "skipped": 0, "seconds": 0.0}
    for c in rows:
        name = f"{c.get('classname')}::{c.get('name')}"
        out["seconds"] += float(c.get("time") or 0)
        if c.find("failure") is not None:
            out["failed"].append(name)
        elif c.find("error") is not None:
            out["errors"].append(name)
        elif c.find("skipped") is not None:
            out["skipped"] += 1
        else:
            out["passed"] += 1
    return out
result = {"all_cuda": summary(cases), "parity": summary([c for c in cases if "test_nvdiffrast_parity" in (c.get("classname") or "")])}
if error:
    result["error"] = error
with open(dst, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
EOF
fi

# ---- 3: rasterizer benchmark ---------------------------------------------------------------
if wanted 3; then
  if [[ $DRY == 1 ]]; then
    run_step 3 raster 60 bench_raster.json "$PY" benchmarks/bench_raster.py --device cpu --meshes 1k \
      --sizes 32 --repeats 1 --rounds 1 --no-compile --json "$RES/bench_raster.json"
  else
    run_step 3 raster 75 bench_raster.json "$PY" benchmarks/bench_raster.py --device cuda --repeats 3 \
      --json "$RES/bench_raster.json"
  fi
fi

# ---- 4: generator benchmark ----------------------------------------------------------------
if wanted 4; then
  if [[ $DRY == 1 ]]; then gen=(--config tiny --image-resolution 32 --repeats 1); else
    gen=(--config official --image-resolution 1024 --repeats 3); fi
  run_step 4 generator 60 bench_generator.json "$PY" benchmarks/bench_generator.py --device "$DEVICE" \
    "${gen[@]}" --json "$RES/bench_generator.json"
fi

# ---- 5: training steps ---------------------------------------------------------------------
if wanted 5; then
  rm -rf "$WORK/train"
  common=(device="$DEVICE" batch=4 batch_gpu=4 data.source=builtin data.category=car
    "data.builtin_categories=[car]" data.builtin_views=4 data.split=train data.cache_dir="$WORK/data"
    log_every=1 snapshot_every=0 checkpoint_every=0 keep_checkpoints=1 val_every=0 snapshot_grid=1
    progress=false)
  if [[ $DRY == 1 ]]; then  # the tiny default preset, 2 steps
    train=(--config configs/default.yaml "${common[@]}" total_kimg=0.008 data.builtin_shapes=3
      data.builtin_resolution=32 data.workers=0)
  else
    train=(--config configs/shapenet_car.yaml "${common[@]}" total_kimg=0.08 data.builtin_shapes=6
      data.builtin_resolution=256 data.workers=2)
  fi
  run_step 5 train 150 train.json "$PY" train.py --out "$WORK/train" "${train[@]}"
  cp "$WORK/train/metrics.jsonl" "$RES/train_metrics.jsonl" 2>/dev/null
  cp "$WORK/train/config.yaml" "$RES/train_config.yaml" 2>/dev/null
  "$PY" - "$WORK/train/metrics.jsonl" "$RES/train.json" "$DRY" <<'EOF'
import json, sys
src, dst, dry = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    rows = [json.loads(line) for line in open(src, encoding="utf-8") if line.strip()]
except OSError as err:
    rows, error = [], f"no metrics: {err}"
else:
    error = None
result = {"steps": len(rows), "batch": 4, "reference_get3d_s_per_kimg_1024_rtx3090": 230}
if rows:
    last = rows[-1]
    result["seconds"] = last["time_s"]
    result["s_per_kimg_all_steps"] = last["time_s"] / last["kimg"]
    result["step_seconds"] = [round(b["time_s"] - a["time_s"], 3) for a, b in zip([{"time_s": 0}] + rows, rows)]
    warm = 4 if len(rows) > 8 else 0  # skip the first steps (allocations, cuDNN autotuning, snapshot)
    first = rows[warm - 1] if warm else {"time_s": 0.0, "kimg": 0.0}
    if last["kimg"] > first["kimg"]:
        result["s_per_kimg"] = (last["time_s"] - first["time_s"]) / (last["kimg"] - first["kimg"])
        # lazy R1 runs on every 16th step (0-based steps 0, 16, ...; logged as step 1, 17, ...)
        lazy_r1 = ", with one lazy R1 step as 1 in 16 steps have" if warm < 17 <= len(rows) else ""
        result["s_per_kimg_steps"] = f"{warm + 1}..{len(rows)}{lazy_r1}"
if error:
    result["error"] = error
with open(dst, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
EOF
fi

# ---- 6: summary ----------------------------------------------------------------------------
"$PY" - "$TSV" "$RES" "$START" "$STEPS" <<'EOF'
import json, os, sys, time
tsv, res, start, steps = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split()
rows = []
for line in open(tsv, encoding="utf-8"):
    sid, name, status, secs, rc, limit, result = line.rstrip("\n").split("\t")
    row = {"step": int(sid), "name": name, "status": status, "seconds": float(secs), "exit_code": rc,
           "limit_s": int(limit), "log": f"{name}.log" if status != "no time" else None}
    path = os.path.join(res, result) if result else None
    if path and os.path.isfile(path):
        row["result_file"] = result
        with open(path, encoding="utf-8") as f:
            row["result"] = json.load(f)
    rows.append(row)
summary = {"requested_steps": [int(s) for s in steps], "steps": rows, "total_seconds": round(time.time() - start, 1),
           "ok": all(r["status"] == "ok" for r in rows)}
with open(os.path.join(res, "summary.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1)

def headline(r):
    x = r.get("result") or {}
    if r["name"] == "tests" and "all_cuda" in x:
        a, p = x["all_cuda"], x["parity"]
        return (f"{a['passed']} passed, {len(a['failed'])} failed, {len(a['errors'])} errors, {a['skipped']} skipped"
                f" (parity {p['passed']}/{p['tests']} passed)")
    if r["name"] == "raster" and x.get("device") == "cuda":
        ok = [q for q in x["rows"] if "ms" in q]
        pairs = {}
        for q in ok:
            pairs.setdefault((q["mesh"], q["res"], q["mode"]), {})[q["backend"]] = q["ms"]
        key = ("40k", 1024, "fwd")
        if {"torch", "nvdiffrast"} <= set(pairs.get(key, {})):
            t, n = pairs[key]["torch"], pairs[key]["nvdiffrast"]
            return f"{len(ok)}/{len(x['rows'])} runs; 40k 1024² fwd: torch {t:.1f} ms, nvdiffrast {n:.2f} ms"
        return f"{len(ok)}/{len(x['rows'])} runs measured"
    if r["name"] == "generator" and "configs" in x:
        parts = []
        for name, c in x["configs"].items():
            f, b = c.get("forward", {}), c.get("backward", {})
            if "seconds" in f and "seconds" in b:
                parts.append(f"{name}: fwd {f['seconds']:.3f} s, fwd+bwd {b['seconds']:.3f} s")
        return "; ".join(parts)
    if r["name"] == "train" and "s_per_kimg" in x:
        return f"{x['steps']} steps, {x['s_per_kimg']:.1f} s/kimg (GET3D: ~230 s/kimg on one RTX 3090)"
    return ""

print()
print(f"{'step':<4} {'name':<10} {'status':<8} {'seconds':>8}  result")
for r in rows:
    print(f"{r['step']:<4} {r['name']:<10} {r['status']:<8} {r['seconds']:>8.1f}  {headline(r)}")
print(f"total {summary['total_seconds']:.0f} s; results in {res}/summary.json")
EOF
if cut -f3 "$TSV" | grep -qv '^ok$'; then
  echo "gpu_check: FAILED (see the table above)"
  exit 1
fi
echo "gpu_check: all requested steps passed"
