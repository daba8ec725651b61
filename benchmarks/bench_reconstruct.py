"""Multiview reconstruction quality and time on procedural shapes (issue 7).

For each shape (``category:seed`` of :mod:`get3d.data.procedural`): the mesh is written to a
temporary folder and rendered by :func:`get3d.data.prepare.prepare_dataset` into GET3D's layout
(``--views`` training views plus ``--held-out`` views, 128² by default, Lambert-lit as prepare
does), loaded back with :func:`get3d.reconstruct.load_views`, and reconstructed from the training
views only. Reported per shape:

* Chamfer distance to the ground-truth mesh (prepare's normalised mesh), both in the ground
  truth's unit box (longest side 1): ``CD-L1`` (mean surface distance, both ways averaged) and
  ``CD-L2`` (kaolin/GET3D's squared form), 20k area-uniform samples per mesh;
* silhouette IoU (masks > 0.5) on the held-out views, mean and minimum;
* wall time of the fit;

each for the visual hull alone (the starting point, extracted on the finest grid without any
optimisation) and for the full fit, so the table shows what the optimisation adds.

Example (2 threads, as in the issue)::

    PYTHONPATH=. python benchmarks/bench_reconstruct.py --threads 2 --out /tmp/bench_reconstruct
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import dmtet
from get3d.data.meshes import load_mesh, normalize
from get3d.data.prepare import PrepareConfig, prepare_dataset
from get3d.data.procedural import generate_shape, write_shape
from get3d.reconstruct import (
    ReconstructConfig,
    Shading,
    load_views,
    mesh_chamfer,
    reconstruct,
    render_result,
    silhouette_iou,
    write_result,
)
from get3d.reconstruct.fit import render_surface
from get3d.reconstruct.init import visual_hull_sdf
from get3d.reconstruct.io import write_comparison


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", default="chair:0,table:1,car:2", help="comma list of category:seed")
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--views", type=int, default=24, help="training views")
    parser.add_argument("--held-out", type=int, default=8, help="evaluation views (never trained on)")
    parser.add_argument("--grid", type=_ints, default=ReconstructConfig.grid_resolutions)
    parser.add_argument("--steps", type=_ints, default=ReconstructConfig.steps)
    parser.add_argument("--views-per-step", type=int, default=ReconstructConfig.views_per_step)
    parser.add_argument("--weight-smooth", type=float, default=ReconstructConfig.weight_smooth)
    parser.add_argument("--weight-rgb", type=float, default=ReconstructConfig.weight_rgb)
    parser.add_argument("--lr", type=float, default=ReconstructConfig.lr)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--points", type=int, default=20000, help="Chamfer samples per mesh")
    parser.add_argument("--out", type=Path, default=None, help="write OBJ + comparison pictures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = ReconstructConfig(
        grid_resolutions=args.grid,
        steps=args.steps,
        views_per_step=args.views_per_step,
        weight_smooth=args.weight_smooth,
        weight_rgb=args.weight_rgb,
        lr=args.lr,
        shading=Shading.LAMBERT,
        progress=False,
    )
    prepare = PrepareConfig(resolution=args.resolution, views=args.views + args.held_out, scale=0.9)
    print(f"threads {torch.get_num_threads()}, {args.resolution}^2, {args.views} train, {args.held_out} test")
    print(
        f"grid {config.grid_resolutions}, steps {config.steps}, {config.views_per_step} views/step, lambert"
    )
    header = (
        f"{'shape':<10} {'hull CD-L1':>10} {'fit CD-L1':>9} {'fit CD-L2':>9} "
        f"{'hull IoU':>8} {'fit IoU':>8} {'min IoU':>7} {'faces':>6} {'fit s':>7}"
    )
    print(header)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.shapes.split(","):
            category, seed = item.split(":")
            shape_id = f"{category}_{seed}"
            mesh_dir = Path(tmp) / "meshes" / shape_id
            write_shape(generate_shape(category, int(seed), texture_size=256), mesh_dir)
            prepare_dataset(Path(tmp) / "meshes", Path(tmp) / "data", prepare, progress=False, ids=[shape_id])
            views = load_views(Path(tmp) / "data", shape_id)
            train = views.subset(slice(0, args.views))
            held = views.subset(slice(args.views, len(views)))
            gt, _ = normalize(load_mesh(mesh_dir / "model.obj"), prepare.scale, prepare.recenter)
            gt_v = torch.from_numpy(gt.vertices).to(torch.float32)
            gt_f = torch.from_numpy(gt.faces)

            # the starting point alone: the visual hull on the finest grid
            fine = dmtet.TetGrid.bcc(config.grid_resolutions[-1], config.grid_scale)
            hull = dmtet.marching_tets(fine, visual_hull_sdf(fine, train)[None], outward=True)[0]
            hull_cd = mesh_chamfer(hull.vertices, hull.faces, gt_v, gt_f, points=args.points)
            hull_img = render_surface(
                hull.vertices,
                hull.faces,
                held.cameras,
                held.resolution,
                vertex_colors=torch.zeros_like(hull.vertices),
            )
            hull_iou = silhouette_iou(hull_img.mask, held.masks)

            start = time.perf_counter()
            result = reconstruct(train, config)
            seconds = time.perf_counter() - start
            cd = mesh_chamfer(result.vertices, result.faces, gt_v, gt_f, points=args.points)
            image = render_result(result, held.cameras, held.resolution)
            iou = silhouette_iou(image.mask, held.masks)
            rows.append((cd.chamfer_l1, float(iou.mean()), seconds))
            print(
                f"{shape_id:<10} {hull_cd.chamfer_l1:>10.4f} {cd.chamfer_l1:>9.4f} {cd.chamfer_l2:>9.5f} "
                f"{float(hull_iou.mean()):>8.3f} {float(iou.mean()):>8.3f} {float(iou.min()):>7.3f} "
                f"{result.faces.shape[0]:>6d} {seconds:>7.1f}",
                flush=True,
            )
            if args.out is not None:
                write_result(result, args.out, train, name=shape_id)
                write_comparison(args.out / f"{shape_id}_held_out.png", held.images, image.rgb)
    if rows:
        cd, iou, sec = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"{'median':<10} {'':>10} {cd:>9.4f} {'':>9} {'':>8} {iou:>8.3f} {'':>7} {'':>6} {sec:>7.1f}")


if __name__ == "__main__":
    main()
