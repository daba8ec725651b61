"""Inception-v3: torchvision-compatible names and sizes, feature shapes, loaders, missing-file error."""

from __future__ import annotations

import io
import pathlib
import pickle

import pytest
import torch
from torch import nn

from get3d.metrics.inception import (
    FEATURE_DIM,
    InceptionV3,
    InceptionVariant,
    InceptionWeightsMissing,
    StateDictInception,
    TorchScriptInception,
    load_inception,
)

# torchvision.models.inception_v3 (aux_logits=True): 27,161,264 parameters (its weights' metadata)
TORCHVISION_PARAMS = 27_161_264


@pytest.fixture(scope="module")
def network() -> InceptionV3:
    torch.manual_seed(0)
    return InceptionV3().eval()


def test_parameter_count_and_names_match_torchvision(network):
    assert sum(p.numel() for p in network.parameters()) == TORCHVISION_PARAMS
    keys = network.state_dict().keys()
    for name in (
        "Conv2d_1a_3x3.conv.weight",
        "Conv2d_1a_3x3.bn.running_var",
        "Conv2d_1a_3x3.bn.num_batches_tracked",
        "Mixed_5b.branch5x5_2.conv.weight",
        "Mixed_6e.branch7x7dbl_5.bn.bias",
        "Mixed_7c.branch3x3dbl_3b.conv.weight",
        "AuxLogits.conv1.conv.weight",
        "AuxLogits.fc.weight",
        "fc.weight",
        "fc.bias",
    ):
        assert name in keys, name
    assert network.state_dict()["Mixed_6b.branch7x7_2.conv.weight"].shape == (128, 128, 1, 7)
    assert network.state_dict()["Mixed_7b.branch3x3dbl_1.conv.weight"].shape == (448, 1280, 1, 1)
    tf = InceptionV3(InceptionVariant.TF_FID, aux_logits=False)
    no_aux = TORCHVISION_PARAMS - sum(p.numel() for p in network.AuxLogits.parameters())
    assert sum(p.numel() for p in tf.parameters()) == no_aux + 8 * (2048 + 1)  # 1008 classes


def test_state_dict_file_roundtrip_preprocessing_and_shapes(tmp_path, network):
    path = tmp_path / "inception_v3.pth"
    torch.save(network.state_dict(), path)
    extractor = load_inception(path)
    assert isinstance(extractor, StateDictInception)
    assert extractor.identity.startswith("torchvision:")
    loaded = extractor.network.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in network.state_dict().items())
    images = torch.randint(0, 256, (1, 3, 64, 48), dtype=torch.uint8)
    got = extractor(images)
    assert got.shape == (1, FEATURE_DIM) and got.dtype == torch.float32
    assert torch.isfinite(got).all() and (got >= 0).all()  # ReLU then average pool
    x = torch.nn.functional.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        want = network(x / 127.5 - 1)
        assert network.fc(want).shape == (1, 1000)
    torch.testing.assert_close(got, want)
    with pytest.raises(TypeError, match="images"):
        extractor(images.float())
    with pytest.raises(ValueError, match="x"):
        network(torch.zeros(1, 1, 299, 299))


def test_tf_variant_is_recognised_by_fc_shape(tmp_path):
    net = InceptionV3(InceptionVariant.TF_FID, aux_logits=False)
    path = tmp_path / "pt_inception-2015-12-05.pth"
    torch.save(net.state_dict(), path)
    extractor = load_inception(path)
    assert extractor.identity.startswith("tf_fid:") and extractor.network.variant is InceptionVariant.TF_FID
    bad = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(10, 2048)}, bad)
    with pytest.raises(ValueError, match="1000"):
        load_inception(bad)


class _FakeDetector(nn.Module):
    """Stand-in with the signature of NVIDIA's TorchScript detector."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32).mean(dim=(2, 3))  # [B, 3]
        features = x.repeat(1, 4)
        if return_features:
            return features
        return features[:, :2]


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")
def test_torchscript_archive_and_pickle_embedding_one(tmp_path):
    scripted = torch.jit.script(_FakeDetector())
    pt = tmp_path / "inception-2015-12-05.pt"
    scripted.save(str(pt))
    images = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    ext = load_inception(pt)
    assert isinstance(ext, TorchScriptInception) and ext.identity.startswith("torchscript:")
    torch.testing.assert_close(ext(images), images.float().mean(dim=(2, 3)).repeat(1, 4))
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    pkl = tmp_path / "inception-2015-12-05.pkl"
    pkl.write_bytes(pickle.dumps({"module": "wrapper", "torchscript": buffer.getvalue()}))
    ext2 = load_inception(pkl)
    assert isinstance(ext2, TorchScriptInception)
    torch.testing.assert_close(ext2(images), ext(images))


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.target),))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_arbitrary_pickles_are_never_unpickled(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "inception-2015-12-05.pkl"
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ValueError, match="arbitrary pickles are not loaded"):
        load_inception(path)
    assert not marker.exists()


def test_missing_weights_error_names_both_options_and_the_path(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.pkl"
    with pytest.raises(InceptionWeightsMissing) as info:
        load_inception(missing)
    message = str(info.value)
    assert str(missing) in message and "inception-2015-12-05.pkl" in message and "torchvision" in message
    assert isinstance(info.value, FileNotFoundError)
    monkeypatch.setenv("ISOGEN3D_INCEPTION", str(tmp_path / "default.pkl"))
    with pytest.raises(InceptionWeightsMissing, match="default"):
        load_inception(None)
