"""Every validator failure names the exact file and field; nothing falls back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from get3d.data import DatasetError, MultiviewDataset, validate_dataset
from get3d.data.layout import make_splits, read_split, write_splits

from .builders import SYNSET, make_get3d, make_transforms, pattern, write_rgba


def only_problem(report):
    assert not report.ok
    assert len(report.problems) == 1, report.summary()
    return report.problems[0]


def test_valid_get3d_set_has_no_problems(tmp_path):
    data = make_get3d(tmp_path)
    report = validate_dataset(data.data_dir, data.camera_root, decode=True)
    assert report.ok, report.summary()
    assert report.image_size == (8, 8) and len(report.records) == 5
    assert "no problems" in report.summary()


def test_missing_data_dir_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(DatasetError) as err:
        MultiviewDataset(tmp_path / "nowhere" / "img" / SYNSET, tmp_path / "camera")
    assert str(tmp_path / "nowhere") in str(err.value) and "data folder" in str(err.value)


def test_empty_data_dir(tmp_path):
    (tmp_path / "img").mkdir()
    problem = only_problem(validate_dataset(tmp_path / "img"))
    assert problem.what == "data folder" and "no shape folders" in problem.message


def test_shape_without_png(tmp_path):
    data = make_get3d(tmp_path)
    for png in (data.data_dir / "a_shape").glob("*.png"):
        png.rename(png.with_suffix(".jpg"))
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == data.data_dir / "a_shape" and problem.what == "views"
    assert "JPEG" in problem.message and "alpha" in problem.message


def test_missing_png_listed_in_transforms(tmp_path):
    make_transforms(tmp_path)
    (tmp_path / "s0" / "001.png").unlink()
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.path == tmp_path / "s0" / "001.png" and problem.what == "file"
    assert "does not exist" in problem.message


def test_unreadable_png(tmp_path):
    data = make_get3d(tmp_path)
    bad = data.data_dir / "b_shape" / "001.png"
    bad.write_bytes(b"this is not a png")
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == bad and problem.what == "file" and "unreadable PNG" in problem.message


def test_truncated_png_is_caught_when_decoding(tmp_path):
    data = make_get3d(tmp_path, {"s": 2}, size=64)
    bad = data.data_dir / "s" / "001.png"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root, decode=True))
    assert problem.path == bad and "unreadable PNG" in problem.message


def test_no_alpha_channel(tmp_path):
    data = make_get3d(tmp_path)
    bad = write_rgba(data.data_dir / "a_shape" / "001.png", pattern(8, 3)[..., :3])
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == bad and problem.what == "alpha channel" and "mode RGB" in problem.message


def test_empty_alpha_when_decoding(tmp_path):
    data = make_get3d(tmp_path)
    pixels = pattern(8, 4)
    pixels[..., 3] = 0
    bad = write_rgba(data.data_dir / "a_shape" / "000.png", pixels)
    assert validate_dataset(data.data_dir, data.camera_root).ok  # headers only
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root, decode=True))
    assert problem.path == bad and problem.what == "alpha channel" and "zero everywhere" in problem.message


@pytest.mark.parametrize("name", ["rotation.npy", "elevation.npy"])
def test_missing_camera_file(tmp_path, name):
    data = make_get3d(tmp_path)
    missing = data.camera_root / SYNSET / "b_shape" / name
    missing.unlink()
    with pytest.raises(DatasetError) as err:
        MultiviewDataset(data.data_dir, data.camera_root)
    (problem,) = err.value.problems
    assert problem.path == missing and problem.what == "camera file"
    assert "(0, 0)" in problem.message and str(missing) in str(err.value)


@pytest.mark.parametrize("name", ["rotation.npy", "elevation.npy"])
def test_wrong_length_camera_file(tmp_path, name):
    data = make_get3d(tmp_path)
    path = data.camera_root / SYNSET / "b_shape" / name
    np.save(path, np.zeros(2))
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == path and problem.what == "length"
    assert "2 entries, expected 3" in problem.message


@pytest.mark.parametrize(
    ("values", "text"),
    [(np.zeros((3, 2)), "1-D"), (np.array([0.0, np.nan, 1.0]), "NaN"), (np.array(["a", "b", "c"]), "1-D")],
)
def test_malformed_camera_values(tmp_path, values, text):
    data = make_get3d(tmp_path)
    path = data.camera_root / SYNSET / "b_shape" / "rotation.npy"
    np.save(path, values)
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == path and problem.what == "values" and text in problem.message


def test_unreadable_camera_file(tmp_path):
    data = make_get3d(tmp_path)
    path = data.camera_root / SYNSET / "a_shape" / "elevation.npy"
    path.write_bytes(b"garbage")
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == path and "unreadable .npy" in problem.message


def test_elevation_out_of_range(tmp_path):
    data = make_get3d(tmp_path, {"s": 2})
    path = data.camera_root / SYNSET / "s" / "elevation.npy"
    np.save(path, np.array([10.0, 90.0]))
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == path and "(-90, 90)" in problem.message


def test_camera_root_including_synset_gets_a_hint(tmp_path):
    data = make_get3d(tmp_path)
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root / SYNSET))
    assert problem.what == "camera folder" and "pass its parent" in problem.message


def test_missing_camera_root(tmp_path):
    data = make_get3d(tmp_path)
    problem = only_problem(validate_dataset(data.data_dir, tmp_path / "cams"))
    assert problem.path == tmp_path / "cams" and problem.what == "camera root"


def test_empty_split(tmp_path):
    data = make_get3d(tmp_path)
    split = tmp_path / "val.txt"
    split.write_text("\n  \n")
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root, split_file=split))
    assert problem.path == split and problem.what == "split file" and "empty" in problem.message


def test_missing_split_file(tmp_path):
    data = make_get3d(tmp_path)
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root, split_file=tmp_path / "x.txt"))
    assert problem.path == tmp_path / "x.txt" and "does not exist" in problem.message


def test_split_ids_without_folder(tmp_path):
    data = make_get3d(tmp_path)
    split = tmp_path / "train.txt"
    split.write_text("a_shape\nghost\nb_shape\nphantom\n")
    report = validate_dataset(data.data_dir, data.camera_root, split_file=split)
    assert [(p.path, p.what) for p in report.problems] == [
        (split, "shape id 'ghost'"),
        (split, "shape id 'phantom'"),
    ]
    assert str(data.data_dir / "ghost") in report.problems[0].message


def test_duplicate_split_id(tmp_path):
    data = make_get3d(tmp_path)
    split = tmp_path / "train.txt"
    split.write_text("a_shape\nb_shape\na_shape\n")
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root, split_file=split))
    assert problem.path == split and "line 3" in problem.message


def test_mixed_image_sizes(tmp_path):
    data = make_get3d(tmp_path)
    bad = write_rgba(data.data_dir / "b_shape" / "002.png", pattern(16, 9))
    with pytest.raises(DatasetError) as err:
        MultiviewDataset(data.data_dir, data.camera_root, resolution=8)
    (problem,) = err.value.problems
    assert problem.path == bad and problem.what == "size"
    assert "16x16 differs from 8x8" in problem.message


def test_non_square_image(tmp_path):
    data = make_get3d(tmp_path, {"s": 1})
    bad = write_rgba(data.data_dir / "s" / "000.png", pattern(8, 1)[:4])
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path == bad and problem.what == "size" and "square" in problem.message


def test_view_file_name_must_be_an_index(tmp_path):
    data = make_get3d(tmp_path)
    bad = data.data_dir / "a_shape" / "001.png"
    bad.rename(data.data_dir / "a_shape" / "front.png")
    report = validate_dataset(data.data_dir, data.camera_root)
    assert [(p.path.name, p.what) for p in report.problems] == [
        ("front.png", "file name"),
        ("rotation.npy", "length"),
        ("elevation.npy", "length"),
    ]


def test_view_index_beyond_camera_entries(tmp_path):
    data = make_get3d(tmp_path)
    (data.data_dir / "a_shape" / "001.png").rename(data.data_dir / "a_shape" / "007.png")
    problem = only_problem(validate_dataset(data.data_dir, data.camera_root))
    assert problem.path.name == "007.png" and "view index 7" in problem.message


def test_missing_transforms_file(tmp_path):
    make_transforms(tmp_path)
    (tmp_path / "s1" / "transforms.json").unlink()
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.path == tmp_path / "s1" / "transforms.json" and problem.what == "camera file"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("camera_angle_x"), "field 'camera_angle_x'"),
        (lambda d: d.update(frames=[]), "field 'frames'"),
        (lambda d: d["frames"][1].pop("file_path"), "field 'frames[1].file_path'"),
        (
            lambda d: d["frames"][0].update(transform_matrix=[[1, 0], [0, 1]]),
            "field 'frames[0].transform_matrix'",
        ),
        (
            lambda d: d["frames"][2].update(transform_matrix=(2 * np.eye(4)).tolist()),
            "field 'frames[2].transform_matrix'",
        ),
    ],
)
def test_malformed_transforms_fields(tmp_path, edit, field):
    make_transforms(tmp_path)
    path = tmp_path / "s0" / "transforms.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.path == path and problem.what == field, problem


def test_unreadable_transforms_json(tmp_path):
    make_transforms(tmp_path)
    path = tmp_path / "s1" / "transforms.json"
    path.write_text("{not json")
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.path == path and "unreadable JSON" in problem.message


def test_transforms_camera_not_looking_at_origin(tmp_path):
    make_transforms(tmp_path)
    path = tmp_path / "s0" / "transforms.json"
    data = json.loads(path.read_text())
    data["frames"][1]["transform_matrix"][0][3] += 0.3  # shift the camera sideways, keep its rotation
    path.write_text(json.dumps(data))
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.what == "field 'frames[1].transform_matrix'" and "away from the origin" in problem.message


def test_transforms_differing_field_of_view(tmp_path):
    make_transforms(tmp_path)
    path = tmp_path / "s1" / "transforms.json"
    data = json.loads(path.read_text())
    data["camera_angle_x"] = 0.6
    path.write_text(json.dumps(data))
    problem = only_problem(validate_dataset(tmp_path))
    assert problem.path == path and problem.what == "field 'camera_angle_x'"


def test_get3d_data_without_camera_root_names_the_missing_transforms(tmp_path):
    data = make_get3d(tmp_path)
    report = validate_dataset(data.data_dir)
    assert {p.path.name for p in report.problems} == {"transforms.json"}


def test_summary_lists_every_problem_with_a_limit(tmp_path):
    data = make_get3d(tmp_path)
    for name in ("rotation.npy", "elevation.npy"):
        (data.camera_root / SYNSET / "a_shape" / name).unlink()
        (data.camera_root / SYNSET / "b_shape" / name).unlink()
    report = validate_dataset(data.data_dir, data.camera_root)
    assert len(report.problems) == 4 and report.records == ()
    text = report.summary(limit=3)
    assert "4 problem(s)" in text and "and 1 more" in text


def test_make_splits_is_a_deterministic_partition(tmp_path):
    ids = [f"id{i:02d}" for i in range(20)]
    splits = make_splits(ids, seed=3)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [14, 2, 4]
    assert sorted(sum(splits.values(), [])) == ids
    assert make_splits(list(reversed(ids)), seed=3) == splits
    assert make_splits(ids, seed=4) != splits
    paths = write_splits(tmp_path / "split", splits)
    assert read_split(paths["val"]) == splits["val"]
    with pytest.raises(ValueError, match="fractions"):
        make_splits(ids, (0.5, 0.5, 0.5))
