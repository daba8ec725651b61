"""UV baking on the nvdiffrast code path, on CPU through the fake nvdiffrast (tests/conftest.py)."""

from __future__ import annotations

import torch

from get3d.export.bake import bake_texture


def test_bake_texture_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    uvs = torch.tensor([[0.05, 0.05], [0.95, 0.1], [0.9, 0.95], [0.1, 0.9]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    vertices = torch.cat([uvs, (uvs[:, :1] * uvs[:, 1:]).sin()], 1)  # a curved sheet over the UVs

    def color_fn(points):
        return torch.stack([points[:, 0], points[:, 1] * 2 - 1, points[:, 2].cos()], 1)

    baked = {
        b: bake_texture(vertices, faces, uvs, faces, color_fn, 16, backend=b) for b in ("torch", "nvdiffrast")
    }
    for field in ("texture", "covered", "padded"):
        assert torch.equal(getattr(baked["torch"], field), getattr(baked["nvdiffrast"], field)), field
    assert baked["nvdiffrast"].covered.float().mean() > 0.5 and baked["nvdiffrast"].padded.any()
    # the UV raster went through nvdiffrast, with what nvdiffrast accepts
    assert fake_nvdiffrast.op_names() == ["RasterizeCudaContext", "rasterize", "interpolate"]
    ras = fake_nvdiffrast.ops("rasterize")[0].args
    assert ras["pos"].dtype == torch.float32 and ras["tri"].dtype == torch.int32 and ras["grad_db"] is False
