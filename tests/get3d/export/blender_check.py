"""Import GLB/OBJ files with Blender (``bpy``) and print what Blender sees, as JSON.

Run with a Python that has ``bpy`` (Blender as a module, PyPI ``bpy``, Python 3.11)::

    python blender_check.py shape.glb shape.obj

For every file: a fresh empty scene, Blender's own importer (``import_scene.gltf`` /
``wm.obj_import``), then per mesh object the vertex and face counts, UV layers, the image that
feeds the Principled BSDF's Base Color (size, colour space), the world-space bounding box, and
every face corner as (x, y, z, u, v) in Blender's Z-up world. Only the standard library and bpy
are used, so it runs in a separate environment (bpy pins numpy < 2).
"""

from __future__ import annotations

import json
import sys

import bpy


def _base_color_image(material):
    if material is None or material.node_tree is None:
        return None
    bsdf = next((n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
    if bsdf is None:
        return None
    todo = [link.from_node for link in bsdf.inputs["Base Color"].links]
    seen = set()
    while todo:
        node = todo.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.type == "TEX_IMAGE" and node.image is not None:
            return node.image
        for socket in node.inputs:
            todo.extend(link.from_node for link in socket.links)
    return None


def inspect(path: str) -> dict:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.lower().endswith(".glb"):
        bpy.ops.import_scene.gltf(filepath=path)
    else:
        bpy.ops.wm.obj_import(filepath=path)
    meshes = []
    for obj in bpy.context.scene.objects:
        if obj.type != "MESH":
            continue
        me = obj.data
        world = [obj.matrix_world @ v.co for v in me.vertices]
        lo = [min(p[i] for p in world) for i in range(3)]
        hi = [max(p[i] for p in world) for i in range(3)]
        image = _base_color_image(me.materials[0] if len(me.materials) else None)
        uv = me.uv_layers.active
        corners = []
        if uv is not None:
            for loop in me.loops:
                p = world[loop.vertex_index]
                u, v = uv.data[loop.index].uv
                corners.append([round(p[0], 4), round(p[1], 4), round(p[2], 4), round(u, 4), round(v, 4)])
        meshes.append(
            {
                "name": obj.name,
                "vertices": len(me.vertices),
                "faces": len(me.polygons),
                "triangles": all(len(poly.vertices) == 3 for poly in me.polygons),
                "uv_layers": [layer.name for layer in me.uv_layers],
                "materials": len(me.materials),
                "image_size": list(image.size) if image is not None else None,
                "image_colorspace": image.colorspace_settings.name if image is not None else None,
                "bbox": [lo, hi],
                "corners": sorted(corners),
            }
        )
    return {"file": path, "blender": bpy.app.version_string, "meshes": meshes}


if __name__ == "__main__":
    print(json.dumps([inspect(p) for p in sys.argv[1:]]))
