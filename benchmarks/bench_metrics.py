"""Benchmark the evaluation metrics on CPU: geometry (COV/MMD/1-NNA) and FID.

Geometry: ``--shapes`` generated-like meshes (icospheres with 20,480 faces, randomly deformed, about
the size of GET3D's res-90 meshes) and as many references. It times

* the protocol point clouds (normalise, 2048 area-weighted samples, seed-41 streams) per mesh;
* the Chamfer matrix per pair, in-process (torch threads) and in single-threaded worker
  processes (``--workers``), on ``--probe-refs`` reference columns (or all with ``--full``),
  extrapolated linearly to the full ``shapes x shapes`` matrix (pairs are independent);
* COV/MMD/1-NNA from the matrices;

and prints the total for COV/MMD (one ``n x n`` matrix) and with 1-NNA (plus the upper triangles
of the reference-reference and generated-generated matrices: twice the pairs in all).

FID: ``--images`` uint8 images at ``--resolution``² through an Inception-v3 of the real size
(random weights; the time does not depend on them), batch ``--batch``, then statistics and the
Fréchet distance against a second feature set.

    python benchmarks/bench_metrics.py [--shapes 1000] [--probe-refs 8] [--workers 2] [--full]
                                       [--images 1000] [--resolution 256] [--batch 25] [--skip-fid]
                                       [--threads N]

On a shared or busy CPU run it single-threaded (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ...
--threads 1``): oversubscribed OpenMP/BLAS threads can be 10x slower than one thread.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from get3d.metrics.frechet import FeatureStats, frechet_distance, kernel_distance
from get3d.metrics.geometry import (
    GeometryProtocol,
    Role,
    coverage,
    distance_matrix,
    minimum_matching_distance,
    nearest_neighbor_accuracy,
    surface_point_cloud,
)
from get3d.metrics.inception import InceptionV3, StateDictInception


def _icosphere(subdivisions: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    t = (1 + math.sqrt(5)) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
         [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]  # fmt: skip
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
         [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
         [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]  # fmt: skip
    verts = torch.tensor(v, dtype=torch.float64)
    faces = torch.tensor(f)
    for _ in range(subdivisions):
        edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(1).values
        unique, inverse = torch.unique(edges, dim=0, return_inverse=True)
        mid = verts.shape[0] + inverse.view(3, -1).T  # [F, 3] midpoints of edges 01, 12, 20
        verts = torch.cat([verts, (verts[unique[:, 0]] + verts[unique[:, 1]]) / 2])
        a, b, c = faces.T
        ab, bc, ca = mid.T
        faces = torch.cat([torch.stack(x, 1) for x in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return verts / verts.norm(dim=1, keepdim=True), faces


def _random_mesh(base: tuple[torch.Tensor, torch.Tensor], k: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(k)
    v, f = base
    coef = torch.randn(3, generator=g, dtype=torch.float64) * 0.3
    bump = 1 + 0.2 * torch.sin(3 * v @ torch.randn(3, generator=g, dtype=torch.float64))
    return v * (1 + coef.abs()) * bump[:, None] * 0.4, f


def _median(times: list[float]) -> float:
    return statistics.median(times)


def bench_geometry(args: argparse.Namespace) -> None:
    n = args.shapes
    protocol = GeometryProtocol()
    base = _icosphere(5)
    print(f"== geometry: {n} generated vs {n} references, {base[1].shape[0]} faces/mesh, 2048 points ==")
    print(f"torch threads: {torch.get_num_threads()}")
    # point clouds
    times, clouds = [], []
    for k in range(2 * n):
        mesh = _random_mesh(base, k)
        t0 = time.perf_counter()
        clouds.append(
            surface_point_cloud(*mesh, protocol, role=Role.GENERATED if k < n else Role.REFERENCE, index=k)
        )
        times.append(time.perf_counter() - t0)
    gen, ref = torch.stack(clouds[:n]), torch.stack(clouds[n:])
    t_clouds = sum(times)
    print(f"point clouds: median {_median(times) * 1e3:.2f} ms/mesh, {2 * n} meshes {t_clouds:.1f} s")
    # chamfer matrix
    cols = n if args.full else args.probe_refs
    results = {}
    for label, workers in (("in-process", 0), (f"{args.workers} worker processes", args.workers)):
        if label != "in-process" and workers < 1:
            continue
        distance_matrix(gen[: max(2, workers)], ref[:2], workers=workers)  # warm up (and spawn cost once)
        t0 = time.perf_counter()
        d = distance_matrix(gen, ref[:cols], workers=workers)
        elapsed = time.perf_counter() - t0
        per_pair = elapsed / (n * cols)
        results[label] = (per_pair, d)
        print(
            f"chamfer matrix ({label}): {n}x{cols} in {elapsed:.1f} s = {per_pair * 1e3:.3f} ms/pair; "
            f"{n}x{n} extrapolated {per_pair * n * n / 60:.1f} min"
        )
    best_label, (best, d) = min(results.items(), key=lambda kv: kv[1][0])
    if len(results) == 2:
        a, b = (results[k][0] for k in results)
        print(f"ratio in-process / workers: {a / b:.2f}")
    # scores from matrices (timed on a full-size random matrix)
    rng = np.random.default_rng(0)
    rg, rr, gg = (torch.from_numpy(rng.random((n, n))) for _ in range(3))
    t0 = time.perf_counter()
    coverage(rg), minimum_matching_distance(rg), nearest_neighbor_accuracy(rr, gg, rg)
    t_scores = time.perf_counter() - t0
    print(f"COV + MMD + 1-NNA from {n}x{n} matrices: {t_scores * 1e3:.1f} ms")
    cov_mmd = t_clouds + best * n * n + t_scores
    with_nna = t_clouds + 2 * best * n * n + t_scores  # + two symmetric matrices, half computed each
    print(
        f"TOTAL ({best_label}, extrapolated from {n}x{cols} pairs): COV/MMD {cov_mmd / 60:.1f} min; "
        f"with 1-NNA (+ ref-ref and gen-gen upper triangles) {with_nna / 60:.1f} min"
    )


def bench_fid(args: argparse.Namespace) -> None:
    n, res, batch = args.images, args.resolution, args.batch
    print(f"== FID: {n} images at {res}x{res} through Inception-v3 (random weights), batch {batch} ==")
    torch.manual_seed(0)
    extractor = StateDictInception(InceptionV3(), "random:0")
    g = torch.Generator().manual_seed(0)
    extractor(torch.randint(0, 256, (2, 3, res, res), dtype=torch.uint8, generator=g))  # warm up
    times, feats = [], []
    t_all = time.perf_counter()
    for start in range(0, n, batch):
        b = min(batch, n - start)
        images = torch.randint(0, 256, (b, 3, res, res), dtype=torch.uint8, generator=g)
        t0 = time.perf_counter()
        feats.append(extractor(images).numpy())
        times.append((time.perf_counter() - t0) / b)
    t_features = time.perf_counter() - t_all
    features = np.concatenate(feats)
    t0 = time.perf_counter()
    fake = FeatureStats.from_features(features)
    real = FeatureStats.from_features(features[::-1] + 0.01)
    fid = frechet_distance(fake, real)
    t_fid = time.perf_counter() - t0
    t0 = time.perf_counter()
    kernel_distance(features, features[::-1], num_subsets=100, max_subset_size=1000)
    t_kid = time.perf_counter() - t0
    print(f"features: median {_median(times) * 1e3:.1f} ms/image, {n} images {t_features:.1f} s")
    print(f"statistics + Fréchet distance (2048-d): {t_fid:.2f} s (FID of the dummy sets {fid:.4g})")
    print(f"KID (100 subsets of {min(n, 1000)}): {t_kid:.2f} s")
    print(f"TOTAL FID for {n} images: {t_features + t_fid:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", type=int, default=1000)
    parser.add_argument("--probe-refs", type=int, default=8, help="reference columns timed (extrapolated)")
    parser.add_argument("--full", action="store_true", help="compute the whole matrix (slow on CPU)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--skip-geometry", action="store_true")
    parser.add_argument("--skip-fid", action="store_true")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"load average at start: {load} ({torch.get_num_threads()} torch threads)")
    if not args.skip_geometry:
        bench_geometry(args)
    if not args.skip_fid:
        bench_fid(args)


if __name__ == "__main__":
    main()
