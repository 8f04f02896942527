"""Readers/writers of the real formats, on the fixtures in tests/fixtures (the formats byte for byte)."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from posegen_lite.data.real.panoptic_format import (
    panoptic_points_to_world,
    read_panoptic_bodies,
    read_panoptic_calibration,
)
from posegen_lite.data.real.pg2_format import (
    FormatError,
    person_identity,
    read_pg2_annotations,
    read_pg2_pairs,
    view_kind,
    view_label,
    write_pg2_annotations,
    write_pg2_pairs,
)
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.skeleton import JOINT_INDEX, PANOPTIC_TO_COCO18

FIX = Path(__file__).parent / "fixtures"
PG2 = FIX / "pg2"
BAD = FIX / "bad"
SEQ = FIX / "panoptic" / "171204_pose1_sample"


def test_market_annotations_are_converted_to_xy_with_nan_for_missing():
    rows = read_pg2_annotations(PG2 / "market-annotation-test.csv", image_size=(128, 64))
    assert list(rows) == ["0001_c1s1_000151_01.jpg", "0001_c3s1_000201_02.jpg"]
    row = rows["0001_c1s1_000151_01.jpg"]
    assert row.keypoints.shape == (18, 2) and row.keypoints.dtype == np.float32
    # File: y list [30, 54, 62, -1, …], x list [36, 36, 4, -1, …]; ours is (x, y).
    np.testing.assert_array_equal(row.keypoints[0], [36, 30])
    np.testing.assert_array_equal(row.keypoints[JOINT_INDEX["r_shoulder"]], [4, 62])
    assert not row.visible[JOINT_INDEX["r_elbow"]]
    assert np.isnan(row.keypoints[~row.visible]).all()
    assert not (row.keypoints == -1).any()
    assert row.visible.sum() == 8
    assert row.source.endswith("market-annotation-test.csv:2")


def test_all_missing_row_is_read_not_crashed():
    rows = read_pg2_annotations(PG2 / "fasion-annotation-test.csv", image_size=(256, 256))
    row = rows["fashionMENTees_Tanksid0000009901_1front.jpg"]
    assert not row.visible.any() and np.isnan(row.keypoints).all()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (2, r"keypoints_y must be a list of 18 ints, got 3 values"),  # short list
        (3, r"keypoints_y is not a JSON list"),  # non-JSON
        (4, r"outside the 64×128 image"),  # out of range
        (5, r"negative coordinates"),  # negative other than -1
        (6, r"expected 3 ':'-separated columns"),  # missing column
    ],
)
def test_every_bad_row_raises_naming_file_and_line(tmp_path, line, message):
    # Keep the header and only the row under test, so the error we see is that row's.
    lines = (BAD / "annotation-bad-rows.csv").read_text().splitlines()
    kept = [lines[0]] + [""] * (line - 2) + [lines[line - 1]]
    path = tmp_path / "one-bad-row.csv"
    path.write_text("\n".join(kept) + "\n")
    with pytest.raises(FormatError, match=re.escape(f"{path}:{line}:") + ".*" + message):
        read_pg2_annotations(path, image_size=(128, 64))


def test_bad_rows_file_strict_names_first_row_and_lenient_skips_each_with_warning():
    path = BAD / "annotation-bad-rows.csv"
    with pytest.raises(FormatError, match=re.escape(f"{path}:2:")):
        read_pg2_annotations(path, image_size=(128, 64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = read_pg2_annotations(path, image_size=(128, 64), strict=False)
    assert rows == {}
    messages = [str(w.message) for w in caught]
    assert [f"{path}:{n}:" in m for n, m in zip(range(2, 7), messages, strict=True)] == [True] * 5


def test_wrong_separator_is_a_clear_error_naming_the_file():
    path = BAD / "annotation-wrong-separator.csv"
    with pytest.raises(FormatError, match=re.escape(str(path)) + r".*separator must be ':'"):
        read_pg2_annotations(path)


def test_duplicate_name_and_bool_values_are_errors(tmp_path):
    lines = (PG2 / "market-annotation-test.csv").read_text().splitlines()
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[1]]) + "\n")
    with pytest.raises(FormatError, match=re.escape(f"{path}:3:") + ".*annotated twice"):
        read_pg2_annotations(path)
    path.write_text(lines[0] + "\nx.jpg: " + json.dumps([True] * 18) + ": " + json.dumps([1] * 18) + "\n")
    with pytest.raises(FormatError, match=re.escape(f"{path}:2:") + ".*non-number"):
        read_pg2_annotations(path)


def test_annotation_roundtrip(tmp_path):
    rows = read_pg2_annotations(PG2 / "fasion-annotation-test.csv")
    out = write_pg2_annotations(tmp_path / "a.csv", [(r.name, r.keypoints, r.visible) for r in rows.values()])
    # Byte-identical to the published format, apart from the trailing newline convention.
    assert out.read_text().strip() == (PG2 / "fasion-annotation-test.csv").read_text().strip()
    again = read_pg2_annotations(out)
    for name, row in rows.items():
        np.testing.assert_array_equal(again[name].keypoints, row.keypoints)
        np.testing.assert_array_equal(again[name].visible, row.visible)


def test_pairs_read_write_and_unknown_image(tmp_path):
    names = read_pg2_annotations(PG2 / "market-annotation-test.csv")
    pairs = read_pg2_pairs(PG2 / "market-pairs-test.csv", known_names=names)
    assert pairs == [
        ("0001_c1s1_000151_01.jpg", "0001_c3s1_000201_02.jpg"),
        ("0001_c3s1_000201_02.jpg", "0001_c1s1_000151_01.jpg"),
    ]
    assert read_pg2_pairs(write_pg2_pairs(tmp_path / "p.csv", pairs)) == pairs
    bad = BAD / "pairs-unknown-image.csv"
    with pytest.raises(FormatError, match=re.escape(f"{bad}:2:") + ".*'does_not_exist.jpg'"):
        read_pg2_pairs(bad, known_names=names)
    (tmp_path / "q.csv").write_text("a,b\nx,y\n")
    with pytest.raises(FormatError, match="q.csv:1"):
        read_pg2_pairs(tmp_path / "q.csv")


def test_view_labels_and_identities():
    name = "fashionWOMENJackets_Coatsid0000001201_2side.jpg"
    assert view_label(name) == "2side" and view_kind(name) == "side"
    assert view_label("fashionMENTees_Tanksid0000009901_7additional.jpg") == "7additional"
    assert person_identity(name, "fashion") == "fashionWOMENJackets_Coatsid0000001201"
    assert person_identity("0001_c3s1_000201_02.jpg", "market") == "0001"
    with pytest.raises(ValueError, match="view label"):
        view_label("0001_c3s1_000201_02.jpg")
    with pytest.raises(ValueError, match="kind"):
        person_identity(name, "coco")


def test_panoptic_reader_reproduces_expected_projections():
    cameras = read_panoptic_calibration(SEQ / "calibration_171204_pose1_sample.json")
    assert sorted(cameras) == ["00_00", "00_05", "00_10"]
    (body,) = read_panoptic_bodies(SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json")
    assert body.id == 0 and body.valid.all()
    expected = json.loads((FIX / "panoptic" / "expected_projections_00000000.json").read_text())["projections"]
    for name, camera in cameras.items():
        xy, visible = camera.project(body.joints3d)
        assert visible.all()
        want = np.asarray(expected[name])[list(PANOPTIC_TO_COCO18)]  # coco19 → our order (no BodyCenter)
        np.testing.assert_allclose(xy, want, atol=0.01)


def test_panoptic_conversion_is_metres_y_up_right_handed():
    (body,) = read_panoptic_bodies(SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json")
    j = body.joints3d
    nose, ankles = j[JOINT_INDEX["nose"], 1], j[[JOINT_INDEX["r_ankle"], JOINT_INDEX["l_ankle"]], 1]
    assert 1.4 < nose - ankles.mean() < 1.8  # a standing adult, head above the feet, in metres
    # The conversion is a proper rotation (det +1) times a scale: handedness is kept.
    a = panoptic_points_to_world(np.eye(3) * 100.0)
    assert np.isclose(np.linalg.det(a), 1.0)
    # Cameras are converted consistently: the same world point projects to the same pixel either way.
    raw = json.loads((SEQ / "calibration_171204_pose1_sample.json").read_text())["cameras"][1]
    pan = Camera(
        np.array(raw["K"]), np.array(raw["R"]), np.array(raw["t"]).ravel(), 1920, 1080, np.array(raw["distCoef"])
    )
    point_cm = np.array([[10.0, -120.0, 5.0]])
    ours = read_panoptic_calibration(SEQ / "calibration_171204_pose1_sample.json")[raw["name"]]
    np.testing.assert_allclose(ours.project(panoptic_points_to_world(point_cm))[0], pan.project(point_cm)[0], atol=1e-3)


def test_panoptic_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(FormatError, match=re.escape(str(BAD / "body3DScene_bad.json")) + ".*not valid JSON"):
        read_panoptic_bodies(BAD / "body3DScene_bad.json")
    path = tmp_path / "body3DScene_00000001.json"
    path.write_text(json.dumps({"bodies": [{"id": 0, "joints19": [1.0, 2.0, 3.0]}]}))
    with pytest.raises(FormatError, match=re.escape(f"{path}: bodies[0]") + ".*76 numbers"):
        read_panoptic_bodies(path)
    with pytest.raises(FormatError, match="no cameras of type 'kinect-color'"):
        read_panoptic_calibration(SEQ / "calibration_171204_pose1_sample.json", camera_type="kinect-color")
    with pytest.raises(FormatError, match="not found"):
        read_panoptic_calibration(tmp_path / "calibration_x.json")
