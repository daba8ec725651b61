# The two front-door commands (see README.md). Both set the environment up first.
PY := .venv/bin/python

.PHONY: setup demo test lint bench

setup:
	bash scripts/setup_env.sh

# The library's main job.
demo: setup
	$(PY) examples/extract_sdf_mesh.py --out out/demo

# Lint, then the whole test suite (CUDA tests skip without a GPU). CI runs exactly this.
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_marching_tets.py
