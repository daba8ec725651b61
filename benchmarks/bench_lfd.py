"""Benchmark the light-field distance (get3d.metrics.lfd) on CPU: descriptors and pairs.

An LFD costs a descriptor per shape (10 camera sets x 10 orthographic silhouettes at
``--resolution``², 35 Zernike + 10 Fourier features each) and, per pair of shapes, the minimum
over 10 x 10 camera-set pairs and 60 dodecahedron rotations of the summed L1 view distances
(:func:`get3d.metrics.lfd.lfd_matrix`). Meshes: icospheres with 20,480 faces, randomly squashed
(about GET3D's res-90 mesh size). It prints seconds per descriptor, milliseconds per pair and
the extrapolated cost of GET3D's car protocol (1494 references x 7470 generated shapes).

    OMP_NUM_THREADS=1 python benchmarks/bench_lfd.py [--shapes 4] [--pairs-rows 8] [--pairs-cols 256]
                                                     [--resolution 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
import trimesh

from get3d.metrics.lfd import LFDProtocol, lfd_descriptor, lfd_matrix
from render import make_context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", type=int, default=4)
    parser.add_argument("--pairs-rows", type=int, default=8)
    parser.add_argument("--pairs-cols", type=int, default=256)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ctx = make_context("auto", args.device)
    sphere = trimesh.creation.icosphere(5)
    v = torch.tensor(sphere.vertices, dtype=torch.float32, device=args.device)
    f = torch.tensor(sphere.faces, dtype=torch.int64, device=args.device)
    protocol = LFDProtocol(resolution=args.resolution)
    gen = torch.Generator().manual_seed(0)
    descs = []
    t0 = time.perf_counter()
    for _ in range(args.shapes):
        scale = (0.4 + 0.6 * torch.rand(3, generator=gen)).to(v)
        descs.append(lfd_descriptor(v * scale, f, protocol, backend=ctx))
    per_desc = (time.perf_counter() - t0) / args.shapes
    rows = torch.stack(descs)[torch.arange(args.pairs_rows) % args.shapes]
    cols = torch.stack(descs)[torch.arange(args.pairs_cols) % args.shapes]
    t0 = time.perf_counter()
    lfd_matrix(rows, cols)
    per_pair = (time.perf_counter() - t0) / (args.pairs_rows * args.pairs_cols)
    n_ref, n_gen = 1494, 7470
    print(f"faces per mesh: {f.shape[0]}, silhouettes: {protocol.camera_sets * 10} at {args.resolution}^2")
    print(f"descriptor: {per_desc:.3f} s per shape; distance: {1e3 * per_pair:.3f} ms per pair")
    print(
        f"GET3D car protocol ({n_ref} x {n_gen}): descriptors {per_desc * (n_ref + n_gen) / 3600:.2f} h, "
        f"matrix {per_pair * n_ref * n_gen / 3600:.2f} h"
    )


if __name__ == "__main__":
    main()
