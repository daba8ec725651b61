"""Textured mesh export: xatlas UV unwrapping (with simplification of dense meshes), texture
baking from a colour field with seam padding, OBJ+MTL+PNG and GLB writers, mesh clean-up, image
and GIF writers. Every writer is all-or-nothing (:func:`atomic_files`)."""

from get3d.atomic import atomic_files

from .bake import BakedTexture, bake_texture
from .cleanup import CleanupReport, cleanup_mesh
from .glb import glb_bytes, write_glb
from .images import image_grid, to_uint8, write_gif, write_png
from .material import Material
from .mesh import TexturedMesh
from .obj import obj_paths, write_obj, write_untextured_obj
from .textured import save_textured_mesh, texture_mesh
from .unwrap import UVLayout, decimate_clustering, unwrap

__all__ = [
    "BakedTexture",
    "CleanupReport",
    "Material",
    "TexturedMesh",
    "UVLayout",
    "atomic_files",
    "bake_texture",
    "cleanup_mesh",
    "decimate_clustering",
    "glb_bytes",
    "image_grid",
    "obj_paths",
    "save_textured_mesh",
    "texture_mesh",
    "to_uint8",
    "unwrap",
    "write_gif",
    "write_glb",
    "write_obj",
    "write_png",
    "write_untextured_obj",
]
