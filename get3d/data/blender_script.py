"""Render one normalised mesh with Blender Cycles as GET3D's ``render_shapenet.py`` does.

Run by :mod:`get3d.data.blender` with a Python that has ``bpy`` (Blender as a module, Python 3.11,
its own environment)::

    python blender_script.py JOB.json

Only the standard library and ``bpy`` are used. ``JOB.json`` holds ``mesh`` (file path),
``center`` (OBJ frame) and ``factor`` (rendered = (source - center) * factor, the placement
``prepare`` computed), ``rotation_deg`` / ``elevation_deg`` (lists), ``resolution``, ``radius``,
``focal_mm``, ``sensor_mm``, ``samples``, ``threads`` and ``out_dir``; one ``NNN.png`` (RGBA) is
written per view.

The scene follows GET3D's script (get3d_spec.md §8.3): Blender's factory startup scene with its
cube deleted (its point light stays, as in the script), the mesh imported with OBJ axes (Y up,
-Z forward: OBJ ``(x, y, z)`` is Blender ``(x, -z, y)``), an AREA light of 30000 W at z = 0.5
scaled x100, the camera at ``(0, radius, 0)`` parented to an empty at the origin with Euler XYZ
``(elevation, 0, azimuth)`` and a TRACK_TO constraint (-Z, up Y), Cycles with ``samples``
samples (GET3D: 32), denoising, pixel filter width 0.01, bounces diffuse 1, glossy 1,
transparent 3, transmission 3, transparent film, RGBA PNG. It renders on the CPU.
"""

from __future__ import annotations

import json
import math
import os
import sys

_IMPORTERS = {
    ".obj": ("wm", "obj_import", {"forward_axis": "NEGATIVE_Z", "up_axis": "Y"}),
    ".glb": ("import_scene", "gltf", {}),
    ".gltf": ("import_scene", "gltf", {}),
    ".ply": ("wm", "ply_import", {"forward_axis": "NEGATIVE_Z", "up_axis": "Y"}),
    ".stl": ("wm", "stl_import", {"forward_axis": "NEGATIVE_Z", "up_axis": "Y"}),
}


def _import_mesh(bpy, path: str) -> None:
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _IMPORTERS:
        known = sorted(_IMPORTERS)
        raise ValueError(f"mesh: Blender cannot import {suffix!r} files ({path}); use one of {known}")
    group, name, options = _IMPORTERS[suffix]
    getattr(getattr(bpy.ops, group), name)(filepath=path, **options)


def _place(bpy, center: list[float], factor: float) -> None:
    """Bake world transforms into the meshes, then apply (v - center) * factor in the OBJ frame."""
    from mathutils import Matrix, Vector

    shift = Vector((-center[0], center[2], -center[1]))  # OBJ (x, y, z) -> Blender (x, -z, y), negated
    placement = Matrix.Scale(factor, 4) @ Matrix.Translation(shift)
    for obj in bpy.data.objects:
        if obj.type != "MESH":
            continue
        world = obj.matrix_world.copy()
        obj.parent = None
        obj.data.transform(placement @ world)
        obj.matrix_world = Matrix.Identity(4)


def render(job: dict) -> None:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=False)
    cube = bpy.data.objects.get("Cube")
    if cube is not None:
        bpy.data.objects.remove(cube, do_unlink=True)
    _import_mesh(bpy, job["mesh"])
    _place(bpy, job["center"], job["factor"])

    scene = bpy.context.scene
    render_settings = scene.render
    render_settings.engine = "CYCLES"
    render_settings.image_settings.color_mode = "RGBA"
    render_settings.image_settings.file_format = "PNG"
    render_settings.resolution_x = render_settings.resolution_y = job["resolution"]
    render_settings.resolution_percentage = 100
    render_settings.film_transparent = True
    render_settings.threads_mode = "FIXED"
    render_settings.threads = max(1, int(job["threads"]))
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.filter_width = 0.01
    cycles.diffuse_bounces = 1
    cycles.glossy_bounces = 1
    cycles.transparent_max_bounces = 3
    cycles.transmission_bounces = 3
    cycles.samples = int(job["samples"])
    cycles.use_denoising = True
    cycles.use_adaptive_sampling = False

    bpy.ops.object.light_add(type="AREA")
    area = bpy.context.active_object
    area.data.energy = 30000
    area.location = (0.0, 0.0, 0.5)
    area.scale = (100.0, 100.0, 100.0)

    cam = scene.objects["Camera"]
    cam.location = (0.0, float(job["radius"]), 0.0)
    cam.rotation_euler = (0.0, 0.0, 0.0)
    cam.data.lens = float(job["focal_mm"])
    cam.data.sensor_width = float(job["sensor_mm"])
    cam.data.sensor_fit = "AUTO"
    constraint = cam.constraints.new(type="TRACK_TO")
    constraint.track_axis = "TRACK_NEGATIVE_Z"
    constraint.up_axis = "UP_Y"
    empty = bpy.data.objects.new("Empty", None)
    empty.location = (0.0, 0.0, 0.0)
    cam.parent = empty
    scene.collection.objects.link(empty)
    constraint.target = empty
    scene.camera = cam

    for view, (rotation, elevation) in enumerate(zip(job["rotation_deg"], job["elevation_deg"], strict=True)):
        empty.rotation_euler[2] = math.radians(rotation)
        empty.rotation_euler[0] = math.radians(elevation)
        render_settings.filepath = os.path.join(job["out_dir"], f"{view:03d}.png")
        bpy.ops.render.render(write_still=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python blender_script.py JOB.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        render(json.load(f))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
