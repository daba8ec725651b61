"""Textured mesh export: xatlas UV unwrapping (with simplification of dense meshes), texture
baking from a colour field with seam padding, OBJ+MTL+PNG and GLB writers, mesh clean-up, image
and GIF writers. Every writer is all-or-nothing (:func:`get3d.atomic.atomic_files`).

The package exports what a user calls; the building blocks are imported from their modules:
:mod:`~get3d.export.unwrap` (``unwrap``, ``decimate_clustering``), :mod:`~get3d.export.bake`
(``bake_texture``), :mod:`~get3d.export.glb` (``glb_bytes``), :mod:`~get3d.export.obj`
(``obj_paths``), :mod:`~get3d.export.images` (``to_uint8``) and :mod:`~get3d.export.cleanup`.
"""

from .cleanup import cleanup_mesh
from .glb import write_glb
from .images import image_grid, write_gif, write_png
from .material import Material
from .mesh import TexturedMesh
from .obj import write_obj, write_untextured_obj
from .textured import save_textured_mesh, texture_mesh

__all__ = [
    "Material",
    "TexturedMesh",
    "cleanup_mesh",
    "image_grid",
    "save_textured_mesh",
    "texture_mesh",
    "write_gif",
    "write_glb",
    "write_obj",
    "write_png",
    "write_untextured_obj",
]
