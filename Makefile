# The two front-door commands (see README.md) and the tools beside them; all set the environment up first.
PY := .venv/bin/python

.PHONY: setup demo test lint bench

setup:
	bash scripts/setup_env.sh

# The library's main job: train on the built-in data set, then sample, interpolate and export.
# Extra training overrides: make demo ARGS="total_kimg=4"
demo: setup
	bash scripts/demo.sh $(ARGS)

# Lint, then the whole test suite (CUDA tests skip without a GPU; the Blender round trip runs in
# .venv-bpy, see scripts/setup_bpy.sh; get3d serve's page is driven in headless Chromium, see
# scripts/setup_browser.sh). CI runs exactly this.
test: setup
	bash scripts/setup_bpy.sh
	bash scripts/setup_browser.sh
	$(PY) -m ruff check .
	ISOGEN3D_BPY_PYTHON=$$( [ -x .venv-bpy/bin/python ] && echo "$(CURDIR)/.venv-bpy/bin/python" ) $(PY) -m pytest -q

# Lint only: ruff's rules, and ruff's formatting of the Python sources (the code blocks in the
# Markdown files are laid out by hand, so `ruff format` skips *.md here).
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check --exclude '*.md' .

bench: setup
	$(PY) benchmarks/bench_marching_tets.py
