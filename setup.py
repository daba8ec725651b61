"""Package metadata for the differentiable iso-surface generation library.

Tool settings (ruff, pytest) live in ``pyproject.toml``.  torch is deliberately
left unpinned here: ``scripts/setup_env.sh`` installs the right build (a CPU
wheel on machines without a GPU) *before* this package, so that pip never
pulls a multi-GB CUDA build on a CPU-only machine.
"""

from setuptools import find_packages, setup

setup(
    name="isogen3d",
    version="0.1.0",
    description=(
        "Differentiable iso-surface 3D generation (DMTet, GET3D): marching tetrahedra, "
        "a rasterizer with nvdiffrast semantics on CPU and CUDA, triplane generators."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[
        *find_packages(include=["dmtet", "dmtet.*", "render", "render.*", "get3d", "get3d.*"]),
        "get3d.training.presets",
    ],
    # the YAML presets of configs/ ship as get3d/training/presets (get3d.training.preset_loader.preset_dir)
    package_dir={"get3d.training.presets": "configs"},
    # get3d serve's page (HTML, its script, the WebGL viewer, the style sheet) ships with the code:
    # nothing is fetched from a CDN at run time
    package_data={"get3d.training.presets": ["*.yaml", "base/*.yaml"], "get3d.serve": ["static/*"]},
    install_requires=[
        "torch>=2.7",
        "numpy>=1.24",
        "trimesh>=4.0",
        "pillow>=10.0",
        "tqdm>=4.60",
        "pyyaml>=6.0",
        "xatlas>=0.0.9",
    ],
    entry_points={"console_scripts": ["get3d = get3d.cli:main"]},
    extras_require={
        # nvdiffrast JIT-builds its CUDA plugin on first use (render.nvdiffrast_loader): ninja drives
        # the build; nvcc of torch's CUDA major version must come from a CUDA toolkit (not pip).
        "cuda": ["diffrp-nvdiffrast>=0.3", "ninja>=1.10"],
        # get3d serve: the page's HTTP app (Starlette) and its server (uvicorn)
        "serve": ["starlette>=0.40", "uvicorn>=0.30"],
        # ninja: tests/render/test_nvdiffrast_loader.py builds a tiny C++ extension on CPU;
        # serve's packages and selenium: tests/get3d/test_serve.py drives the page in headless
        # Chromium (the browser and its driver are Debian packages: scripts/setup_browser.sh)
        "dev": [
            "pytest>=8.0",
            "ruff>=0.6",
            "scipy>=1.10",
            "ninja>=1.10",
            "starlette>=0.40",
            "uvicorn>=0.30",
            "selenium>=4.20",
        ],
    },
)
