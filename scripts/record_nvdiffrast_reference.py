"""Record nvdiffrast's rasterization of two generator meshes, for a CPU regression test.

Run on a machine with CUDA and nvdiffrast (see ``scripts/gpu_check.sh`` for the set-up):

    python scripts/record_nvdiffrast_reference.py tests/render/data/nvdiffrast_generator_rast.pt

It builds the tiny generator of ``tests/render/test_nvdiffrast_parity.py::test_generator_render_parity``
(seed 0, latents from a CUDA generator seeded 0, cameras from a CPU generator seeded 1), extracts its
two meshes and rasterizes them at 64² in range mode with nvdiffrast. The file holds the meshes, the
cameras and nvdiffrast's ``rast``; ``tests/render/test_nvdiffrast_reference.py`` compares the
pure-PyTorch backend with it on any machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch

import render
from get3d.networks import Generator, GeneratorConfig
from render.camera import sample_cameras
from render.mesh import render_mesh


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", help="the .pt file to write")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.error("needs a CUDA device (nvdiffrast is CUDA-only)")
    ctx = render.make_context("nvdiffrast", device=torch.device("cuda"))
    device = ctx.device
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny()).to(device).eval()
    gen = torch.Generator(device).manual_seed(0)
    with torch.no_grad():
        z = [torch.randn(2, G.config.z_dim, device=device, generator=gen) for _ in range(2)]
        ws = G.map_latents(*z)
        cams = sample_cameras(2, generator=torch.Generator().manual_seed(1)).to(device)
        meshes = G.meshes(G.grid_geometry(G.triplanes(ws), ws))
        vs, fs = [m.vertices for m in meshes], [m.faces for m in meshes]
        rast = render_mesh(vs, fs, cams, 64, backend=ctx, antialias=False).rast
    import nvdiffrast

    record = {
        "vertices": [v.cpu() for v in vs],
        "faces": [f.cpu() for f in fs],
        "world_to_cam": cams.world_to_cam.cpu(),
        "proj": cams.proj.cpu(),
        "rast_nvdiffrast": rast.cpu(),
        "provenance": f"nvdiffrast {nvdiffrast.__version__}, torch {torch.__version__}, "
        f"{torch.cuda.get_device_name()}; scripts/record_nvdiffrast_reference.py",
    }
    folder = os.path.dirname(os.path.abspath(args.out))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    torch.save(record, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
