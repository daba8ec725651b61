"""Shared tiny settings of the training tests: a 16-pixel model on a 3-shape built-in set."""

from __future__ import annotations

from pathlib import Path

from get3d.data.builtin import ProceduralDatasetConfig, build_procedural_dataset

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "configs"
PRESETS = sorted(CONFIGS.glob("*.yaml"))

# must equal what get3d.training builds from the data.builtin_* overrides below
DATA = ProceduralDatasetConfig(categories=("chair",), shapes_per_category=3, views=2, resolution=16)


def build_tiny_data(cache_dir: Path) -> Path:
    """The tiny built-in set in ``cache_dir`` (where ``procedural_dataset`` looks for it)."""
    build_procedural_dataset(cache_dir / f"procedural-{DATA.key()}", DATA, workers=1, progress=False)
    return cache_dir


def tiny_overrides(cache_dir: Path) -> list[str]:
    """Overrides that shrink any preset to a few-millisecond model on the tiny data set."""
    return [
        "generator.z_dim=8",
        "generator.w_dim=8",
        "generator.mapping_layers=1",
        "generator.triplane_resolution=8",
        "generator.triplane_channels=4",
        "generator.channel_base=64",
        "generator.channel_max=8",
        "generator.mlp_hidden=8",
        "generator.feat_channels=4",
        "generator.deformation_divisor=4",
        "generator.grid_resolution=4",
        "generator.image_resolution=16",
        "generator.volume_resolution=4",  # the separate model's 3-D networks (ignored by the unified one)
        "generator.volume_channel_base=16",
        "generator.volume_channel_max=4",
        "generator.volume_mlp_hidden=4",
        "discriminator.image_resolution=16",
        "discriminator.channel_base=64",
        "discriminator.channel_max=8",
        "discriminator.mapping_layers=1",
        "discriminator.cmap_dim=8",
        "data.source=builtin",
        "data.category=chair",
        "data.split=all",
        "data.builtin_categories=[chair]",
        "data.builtin_shapes=3",
        "data.builtin_views=2",
        "data.builtin_resolution=16",
        f"data.cache_dir={cache_dir}",
        "data.workers=0",
        "batch=4",
        "batch_gpu=2",
        "progress=false",
        "log_every=1",
        "snapshot_every=0",
        "checkpoint_every=1",
        "val_every=0",
        "fid_every_kimg=0",  # FID during training (on in the ShapeNet presets) needs Inception weights
        "snapshot_grid=2",
        "device=cpu",
        "threads=1",
        "deterministic=true",
        "loss.d_reg_interval=2",
        "loss.g_reg_interval=2",
    ]
