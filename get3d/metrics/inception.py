"""Inception-v3 pool features for FID/KID, from a local weights file (nothing is downloaded).

Two kinds of file are accepted (:func:`load_inception`):

1. **NVIDIA's TorchScript detector** used by StyleGAN2-ADA/StyleGAN3 and GET3D:
   ``inception-2015-12-05.pt`` (a TorchScript archive) or StyleGAN3's ``inception-2015-12-05.pkl``.
   It is loaded with ``torch.jit.load``, which runs no Python code from the file. A ``.pkl`` that
   is a plain Python pickle is *not* unpickled (that would run arbitrary code): the pickle's
   opcodes are only scanned for an embedded TorchScript archive, which is then ``jit``-loaded.
   The detector takes uint8 images of any size, resizes them to 299² itself and returns 2048-d
   pool features. **This is the network behind the paper's FID numbers.**
2. **A state_dict** with torchvision's Inception-v3 parameter names, loaded with
   ``torch.load(weights_only=True)`` into this module's own :class:`InceptionV3`:
   torchvision's ImageNet weights (``fc`` has 1000 outputs) or pytorch-fid's port of the 2015
   TensorFlow graph (``pt_inception-2015-12-05-*.pth``, 1008 outputs), recognised by the shape
   of ``fc.weight`` and run with that port's block variants (:class:`InceptionVariant`).
   Images are resized to 299² bilinearly and mapped to [-1, 1]. Numbers from torchvision's
   weights are *not* comparable with published FIDs; pytorch-fid's port gives close values.

Without a file, :func:`load_inception` raises :class:`InceptionWeightsMissing`, naming both
options and the expected path (:func:`default_inception_path`).
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import pickletools
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FEATURE_DIM",
    "INCEPTION_FILE_NAME",
    "FeatureExtractor",
    "InceptionV3",
    "InceptionVariant",
    "InceptionWeightsMissing",
    "StateDictInception",
    "TorchScriptInception",
    "default_inception_path",
    "load_inception",
]

FEATURE_DIM = 2048
INCEPTION_FILE_NAME = "inception-2015-12-05.pkl"
_INPUT_SIZE = 299
_ENV = "ISOGEN3D_INCEPTION"


def default_inception_path() -> Path:
    """Where the weights are looked for when no path is given: ``$ISOGEN3D_INCEPTION`` if set,
    else ``<library cache>/inception-2015-12-05.pkl`` (the cache of
    :func:`get3d.data.builtin.default_cache_dir`, by default ``~/.cache/isogen3d``)."""
    env = os.environ.get(_ENV)
    if env:
        return Path(env).expanduser()
    from get3d.data.builtin import default_cache_dir

    return Path(default_cache_dir()).expanduser() / INCEPTION_FILE_NAME


class InceptionWeightsMissing(FileNotFoundError):
    """No Inception weights at the given or default path (the message says how to get them)."""

    def __init__(self, path: Path, given: bool) -> None:
        where = f"'{path}'" + ("" if given else f" (the default; set ${_ENV} or pass a path)")
        super().__init__(
            f"inception weights: no file at {where}. FID/KID need a local Inception-v3; the library "
            "never downloads it. Either (1) NVIDIA's TorchScript detector used by StyleGAN3/GET3D, "
            f"'{INCEPTION_FILE_NAME}' (or StyleGAN2-ADA's 'inception-2015-12-05.pt'), for numbers "
            "comparable with the paper; or (2) a state_dict of torchvision's Inception-v3 "
            "(e.g. 'inception_v3_google-0cc3c7bd.pth') or pytorch-fid's 'pt_inception-2015-12-05-*.pth', "
            "saved with torch.save. Place the file there or pass its path (--inception PATH)."
        )


class InceptionVariant(enum.Enum):
    """Block variants of Inception-v3 (both share torchvision's parameter names)."""

    TORCHVISION = "torchvision"
    """torchvision's graph: 1000 classes; average pools count padding."""
    TF_FID = "tf_fid"
    """pytorch-fid's port of the 2015 TensorFlow graph: 1008 classes; average pools in the
    Mixed_5/6/7b blocks ignore padding and the last block's pool branch takes a max pool."""

    @property
    def num_classes(self) -> int:
        return 1008 if self is InceptionVariant.TF_FID else 1000


# ----------------------------------------------------------------------------------------------
# The network (torchvision's parameter names; own code)
# ----------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Convolution (no bias), batch norm (eps 1e-3), ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor, tf: bool) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=not tf)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int, tf: bool) -> None:
        super().__init__()
        self.tf = tf
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool(x, self.tf))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int, tf: bool) -> None:
        super().__init__()
        self.tf = tf
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_avg_pool(x, self.tf))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """``pool``: 'avg' (torchvision), 'avg_tf' (padding ignored) or 'max' (TF graph's last block)."""

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "max":
            pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            pooled = _avg_pool(x, self.pool == "avg_tf")
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class InceptionAux(nn.Module):
    """The auxiliary classifier (unused for features; present so that state_dicts load strictly)."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = BasicConv2d(cin, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, 5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InceptionV3(nn.Module):
    """Inception-v3 whose ``state_dict`` names equal torchvision's ``inception_v3``.

    ``forward(x)`` maps float images ``[B, 3, 299, 299]`` in [-1, 1] to the 2048-d pool features
    ``[B, 2048]`` (after the global average pool, before dropout and ``fc``); :meth:`logits`
    gives the class scores. Always evaluate in ``eval()`` mode (batch norm running statistics).

    Args:
        variant: block variant (:class:`InceptionVariant`).
        aux_logits: build the ``AuxLogits`` head (needed to load state_dicts that contain it).
    """

    def __init__(
        self, variant: InceptionVariant = InceptionVariant.TORCHVISION, aux_logits: bool = True
    ) -> None:
        super().__init__()
        variant = InceptionVariant(variant)
        tf = variant is InceptionVariant.TF_FID
        self.variant = variant
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionA(192, 32, tf)
        self.Mixed_5c = InceptionA(256, 64, tf)
        self.Mixed_5d = InceptionA(288, 64, tf)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, tf)
        self.Mixed_6c = InceptionC(768, 160, tf)
        self.Mixed_6d = InceptionC(768, 160, tf)
        self.Mixed_6e = InceptionC(768, 192, tf)
        self.AuxLogits = InceptionAux(768, variant.num_classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg_tf" if tf else "avg")
        self.Mixed_7c = InceptionE(2048, "max" if tf else "avg")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(2048, variant.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x: expected images [B, 3, H, W], got {tuple(x.shape)}")
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a):
            x = block(x)
        for block in (self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
            x = block(x)
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        return torch.flatten(self.avgpool(x), 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores ``[B, num_classes]`` (dropout is inactive in eval mode)."""
        return self.fc(self.dropout(self.forward(x)))


# ----------------------------------------------------------------------------------------------
# Feature extractors: uint8 images in, pool features out
# ----------------------------------------------------------------------------------------------


def _check_images(images: object) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError(
            f"images: expected a uint8 tensor [B, 3, H, W], got {getattr(images, 'dtype', type(images))}"
        )
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images: expected shape [B, 3, H, W], got {tuple(images.shape)}")
    return images


class FeatureExtractor(nn.Module):
    """Base of the extractors: ``extractor(images uint8 [B, 3, H, W]) -> float32 [B, 2048]``.

    Attributes:
        identity: a string naming the network and its weights (kind and a SHA-256 prefix of the
            file), used to key cached real-image statistics.
    """

    identity: str
    feature_dim: int = FEATURE_DIM


class StateDictInception(FeatureExtractor):
    """:class:`InceptionV3` with a preprocessing front: bilinear resize to 299², then ``x/127.5 - 1``.

    Args:
        network: the network (weights loaded, or random for timing and tests).
        identity: string for the statistics cache.
    """

    def __init__(self, network: InceptionV3, identity: str) -> None:
        super().__init__()
        self.network = network.eval()
        self.identity = identity

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = _check_images(images)
        dtype = next(self.network.parameters()).dtype
        x = images.to(dtype)
        if x.shape[-2:] != (_INPUT_SIZE, _INPUT_SIZE):
            x = F.interpolate(x, size=(_INPUT_SIZE, _INPUT_SIZE), mode="bilinear", align_corners=False)
        return self.network(x / 127.5 - 1.0).to(torch.float32)


class TorchScriptInception(FeatureExtractor):
    """NVIDIA's TorchScript detector: called as ``module(images, return_features=True)``."""

    def __init__(self, module: torch.jit.ScriptModule, identity: str) -> None:
        super().__init__()
        self.module = module.eval()
        self.identity = identity

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = _check_images(images)
        features = self.module(images, return_features=True)
        if features.ndim != 2 or features.shape[0] != images.shape[0]:
            raise ValueError(
                f"inception weights: the TorchScript detector returned shape {tuple(features.shape)}"
            )
        return features.to(torch.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_torchscript_zip(data: bytes | Path) -> bool:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return False
    return any(n.endswith("constants.pkl") or "/code/" in n for n in names)


def _embedded_torchscript(data: bytes) -> bytes | None:
    """The largest TorchScript archive stored as a bytes literal in a pickle (opcodes only, no
    object is built and nothing is executed), or None."""
    found: list[bytes] = []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8") and isinstance(
                arg, bytes | bytearray
            ):
                if arg[:4] == b"PK\x03\x04" and _is_torchscript_zip(bytes(arg)):
                    found.append(bytes(arg))
    except Exception:  # not a pickle, or a truncated one
        return None
    return max(found, key=len) if found else None


def _variant_of(state: Mapping[str, torch.Tensor], path: Path) -> InceptionVariant:
    fc = state.get("fc.weight")
    if not isinstance(fc, torch.Tensor) or fc.ndim != 2 or fc.shape[1] != FEATURE_DIM:
        raise ValueError(
            f"inception weights: {path} is not an Inception-v3 state_dict (no 'fc.weight' [classes, 2048])"
        )
    for variant in InceptionVariant:
        if fc.shape[0] == variant.num_classes:
            return variant
    raise ValueError(
        f"inception weights: {path} has fc.weight {tuple(fc.shape)}; expected 1000 (torchvision) "
        "or 1008 (pytorch-fid) classes"
    )


def _from_state_dict(state: object, path: Path, digest: str) -> StateDictInception:
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"inception weights: {path} holds a {type(state).__name__}, expected a state_dict")
    variant = _variant_of(state, path)
    aux = any(k.startswith("AuxLogits.") for k in state)
    network = InceptionV3(variant, aux_logits=aux)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"inception weights: {path} does not match Inception-v3 ({variant.value}): {err}"
        ) from None
    return StateDictInception(network, f"{variant.value}:{digest[:16]}")


def _jit_load(source: str | io.BytesIO, device: torch.device | str) -> torch.jit.ScriptModule:
    # TorchScript is deprecated in recent torch but is the only format NVIDIA's detector ships in
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.jit\.load.* is deprecated", category=DeprecationWarning
        )
        return torch.jit.load(source, map_location=device)


def load_inception(
    path: str | os.PathLike | None = None, device: torch.device | str = "cpu"
) -> FeatureExtractor:
    """Load a local Inception-v3 as a :class:`FeatureExtractor` (see the module docstring).

    Args:
        path: the weights file; None uses :func:`default_inception_path`.
        device: where the network runs (images are moved there by the caller).

    Raises:
        InceptionWeightsMissing: no file at the path.
        ValueError: the file is neither kind of accepted file.
    """
    given = path is not None
    file = Path(path).expanduser() if given else default_inception_path()
    if not file.is_file():
        raise InceptionWeightsMissing(file, given)
    digest = _sha256(file)
    with file.open("rb") as f:
        starts_as_zip = f.read(4) == b"PK\x03\x04"
    # (zipfile.is_zipfile alone also accepts a pickle that merely embeds an archive near its end)
    if starts_as_zip and zipfile.is_zipfile(file):
        if _is_torchscript_zip(file):
            module = _jit_load(str(file), device)
            return TorchScriptInception(module, f"torchscript:{digest[:16]}")
        state = torch.load(file, map_location=device, weights_only=True)
        return _from_state_dict(state, file, digest).to(device)
    data = file.read_bytes()
    archive = _embedded_torchscript(data)
    if archive is not None:
        module = _jit_load(io.BytesIO(archive), device)
        return TorchScriptInception(module, f"torchscript:{digest[:16]}")
    try:
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(
            f"inception weights: {file} is neither a TorchScript archive, nor a pickle embedding one, "
            f"nor a weights-only state_dict ({type(err).__name__}); arbitrary pickles are not loaded "
            "because unpickling runs code. Use StyleGAN2-ADA's TorchScript 'inception-2015-12-05.pt' "
            "or a torchvision/pytorch-fid state_dict."
        ) from None
    return _from_state_dict(state, file, digest).to(device)
