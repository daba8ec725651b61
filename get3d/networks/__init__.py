"""GET3D's networks in plain PyTorch (no custom CUDA ops, no JIT), weight-compatible with the
official checkpoints: building blocks, mapping networks, the triplane generator and the two
camera-conditioned discriminators."""

from .checkpoint import OfficialNetworks, load_generator, load_official_checkpoint
from .config import DiscriminatorConfig, GeneratorConfig
from .conv import NoiseMode, SynthesisLayer, ToRGBLayer, modulated_conv2d
from .discriminator import (
    Discriminator,
    DiscriminatorBlock,
    DiscriminatorEpilogue,
    DiscriminatorLogits,
    encode_camera,
)
from .fir import conv2d_resample, downsample2d, setup_filter, upfirdn2d, upsample2d
from .generator import Generator, GeneratorSynthesis
from .heads import TriplaneTexGeo, bound_deformation, postprocess_geometry
from .layers import (
    Activation,
    Conv2dLayer,
    FullyConnectedLayer,
    MinibatchStdLayer,
    bias_act,
    normalize_2nd_moment,
)
from .mapping import MappingNetwork
from .mlp import ModulatedFC, ModulatedMLP, modulated_fc
from .outputs import GeneratedMesh, GridGeometry, Latents, PointGeometry, Triplanes
from .rendering import GeneratorOutput, gather_foreground, render_textured
from .synthesis import SynthesisBlockTexGeo, TriplaneSynthesis
from .triplane import PLANE_AXES, normalize_points, sample_triplane

__all__ = [
    "PLANE_AXES",
    "Activation",
    "Conv2dLayer",
    "Discriminator",
    "DiscriminatorBlock",
    "DiscriminatorConfig",
    "DiscriminatorEpilogue",
    "DiscriminatorLogits",
    "GeneratedMesh",
    "Generator",
    "GeneratorConfig",
    "GeneratorOutput",
    "GeneratorSynthesis",
    "GridGeometry",
    "Latents",
    "PointGeometry",
    "Triplanes",
    "TriplaneTexGeo",
    "FullyConnectedLayer",
    "MappingNetwork",
    "MinibatchStdLayer",
    "ModulatedFC",
    "ModulatedMLP",
    "NoiseMode",
    "OfficialNetworks",
    "SynthesisBlockTexGeo",
    "SynthesisLayer",
    "ToRGBLayer",
    "TriplaneSynthesis",
    "bias_act",
    "bound_deformation",
    "encode_camera",
    "gather_foreground",
    "load_generator",
    "load_official_checkpoint",
    "render_textured",
    "postprocess_geometry",
    "conv2d_resample",
    "downsample2d",
    "modulated_conv2d",
    "modulated_fc",
    "normalize_2nd_moment",
    "normalize_points",
    "sample_triplane",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
]
