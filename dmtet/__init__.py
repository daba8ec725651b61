"""Tet grids, differentiable marching tetrahedra, FlexiCubes and SDF regularisers.

Depends on torch and numpy only. Conventions (positive-inside SDF, ``sdf > 0`` occupied, kaolin's
vertex and face order) are in docs/conventions.md.
"""

from .flexicubes import FlexiCubes, FlexiCubesMesh, MeshKind, QuadSplit, construct_voxel_grid, flexicubes
from .grid import TetGrid, tet_edge_topology
from .marching import SurfaceMesh, marching_tetrahedra, marching_tets
from .regularizers import sdf_sign_reg

__all__ = [
    "FlexiCubes",
    "FlexiCubesMesh",
    "MeshKind",
    "QuadSplit",
    "SurfaceMesh",
    "TetGrid",
    "construct_voxel_grid",
    "flexicubes",
    "marching_tetrahedra",
    "marching_tets",
    "sdf_sign_reg",
    "tet_edge_topology",
]
