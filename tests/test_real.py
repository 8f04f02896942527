"""Torch datasets over the real formats: PG2 (Market-1501, DeepFashion) and CMU Panoptic, on the fixtures."""

import logging
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_lite.data.real.panoptic import PanopticConfig, PanopticDataset, crop_square, viewpoint_yaw
from posegen_lite.data.real.panoptic_format import read_panoptic_bodies
from posegen_lite.data.real.pg2 import PG2Config, PG2Dataset, find_pg2_files, scale_keypoints
from posegen_lite.data.real.pg2_format import FormatError, write_pg2_annotations, write_pg2_pairs
from posegen_lite.data.sample import SAMPLE_KEYS
from posegen_lite.geometry.camera import orbit_camera, rotate_about_body_axis
from posegen_lite.geometry.skeleton import JOINT_INDEX, NUM_JOINTS
from posegen_lite.images import ImageError, load_image

FIX = Path(__file__).parent / "fixtures"
PG2 = FIX / "pg2"
BAD = FIX / "bad"
SEQ = FIX / "panoptic" / "171204_pose1_sample"


def test_market_sample_is_the_sample_dict_with_annotated_keypoints():
    ds = PG2Dataset(PG2Config(PG2, kind="market", split="test"))
    assert len(ds) == 2
    s = ds[0]
    assert set(s) == set(SAMPLE_KEYS)
    assert s["image_a"].shape == (3, 128, 64) and s["pose_b"].shape == (18, 128, 64)
    assert s["mask_b"].shape == (1, 128, 64) and s["mask_b"].sum() > 0
    assert s["image_a"].min() >= -1 and s["image_a"].max() <= 1
    # Target pose = the target's annotation (PG2), file (y, x) → ours (x, y).
    np.testing.assert_array_equal(s["keypoints_b"][JOINT_INDEX["nose"]].numpy(), [27, 30])
    assert s["visible_b"].sum() == 8 and torch.isnan(s["keypoints_b"][~s["visible_b"]]).all()
    assert torch.isnan(s["joints3d_a"]).all() and math.isnan(s["yaw"])
    assert s["person_id"] == "0001" and s["name_b"] == "0001_c3s1_000201_02.jpg"
    # Batches collate like the synthetic dataset's.
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["image_b"].shape == (2, 3, 128, 64)


def test_fashion_sample_is_256_and_identity_is_the_item():
    s = PG2Dataset(PG2Config(PG2, kind="fashion", split="test"))[1]
    assert s["image_a"].shape == (3, 256, 256)
    assert s["person_id"] == "fashionWOMENJackets_Coatsid0000001201"


def test_pair_building_skips_all_missing_row_with_logged_reason(caplog):
    caplog.set_level(logging.INFO, logger="posegen_lite.data.real")
    # PG2's rule (both shoulders and both hips): the hand-annotated fixture has no hips, so no pairs.
    ds = PG2Dataset(PG2Config(PG2, kind="fashion", split="test", pairs="annotations"))
    assert len(ds) == 0
    assert "fashionMENTees_Tanksid0000009901_1front.jpg" in caplog.text
    assert "no joints annotated" in caplog.text and "missing required joints ['r_hip', 'l_hip']" in caplog.text
    caplog.clear()
    ds = PG2Dataset(
        PG2Config(PG2, kind="fashion", split="test", pairs="annotations", required_joints=("r_shoulder", "l_shoulder"))
    )
    assert sorted(ds.pairs) == sorted(PG2Dataset(PG2Config(PG2, kind="fashion", split="test")).pairs)
    assert "9901" in caplog.text  # still skipped, still said why
    assert ds[0]["image_b"].shape == (3, 256, 256)


def _market_copy(tmp_path: Path, images: dict[str, Path], keypoints: dict[str, np.ndarray]) -> Path:
    """A Market-layout folder with the given images (name → source file) and (x, y) keypoints."""
    (tmp_path / "test").mkdir()
    for name, src in images.items():
        shutil.copy(src, tmp_path / "test" / name)
    write_pg2_annotations(
        tmp_path / "market-annotation-test.csv", [(n, kp, np.isfinite(kp).all(axis=1)) for n, kp in keypoints.items()]
    )
    return tmp_path


def _kp(points: dict[str, tuple[float, float]]) -> np.ndarray:
    kp = np.full((NUM_JOINTS, 2), np.nan)
    for name, xy in points.items():
        kp[JOINT_INDEX[name]] = xy
    return kp


SHOULDERS_AND_HIPS = {"r_shoulder": (10, 40), "l_shoulder": (50, 40), "r_hip": (20, 80), "l_hip": (40, 80)}


def test_grayscale_and_rgba_images_are_converted_explicitly(tmp_path):
    images = {"0002_c1_gray.png": BAD / "grayscale.png", "0002_c2_rgba.png": BAD / "rgba.png"}
    root = _market_copy(tmp_path, images, {n: _kp(SHOULDERS_AND_HIPS) for n in images})
    ds = PG2Dataset(PG2Config(root, kind="market", split="test", pairs="annotations"))
    assert ds.pairs == [("0002_c1_gray.png", "0002_c2_rgba.png"), ("0002_c2_rgba.png", "0002_c1_gray.png")]
    s = ds[0]
    gray = s["image_a"]
    assert gray.shape == (3, 128, 64) and torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert s["image_b"].shape == (3, 128, 64)


def test_wrong_size_image_is_resized_with_keypoints_or_rejected(tmp_path):
    # wrong_size.jpg is 100×77 (W×H); its keypoints are in that frame.
    kp = _kp({"r_shoulder": (30, 20), "l_shoulder": (70, 20), "r_hip": (40, 60), "l_hip": (60, 60), "nose": (99, 76)})
    images = {"0003_c1_a.jpg": PG2 / "market" / "0001_c1s1_000151_01.jpg", "0003_c2_b.jpg": BAD / "wrong_size.jpg"}
    kp_a = _kp(SHOULDERS_AND_HIPS)
    root = _market_copy(tmp_path, images, {"0003_c1_a.jpg": kp_a, "0003_c2_b.jpg": kp})
    s = PG2Dataset(PG2Config(root, kind="market", split="test", pairs="annotations"))[0]
    assert s["image_b"].shape == (3, 128, 64)
    want = (kp + 0.5) * np.array([64 / 100, 128 / 77]) - 0.5
    np.testing.assert_allclose(s["keypoints_b"].numpy(), want, atol=1e-4)
    np.testing.assert_array_equal(s["keypoints_a"].numpy(), kp_a.astype(np.float32))  # right size: untouched
    np.testing.assert_allclose(scale_keypoints(want, (128, 64), (77, 100)), kp, atol=1e-4)
    strict = PG2Dataset(PG2Config(root, kind="market", split="test", pairs="annotations", wrong_size="error"))
    with pytest.raises(ImageError, match=re.escape(str(root / "test" / "0003_c2_b.jpg")) + ".*100×77"):
        strict[0]


def test_keypoint_outside_its_image_names_csv_and_row(tmp_path):
    images = {"0004_c1_a.jpg": PG2 / "market" / "0001_c1s1_000151_01.jpg"}
    root = _market_copy(tmp_path, images, {"0004_c1_a.jpg": _kp({"nose": (64, 10)})})  # x = width
    # Found when the dataset is built, not when the pair is first loaded.
    with pytest.raises(FormatError, match=re.escape(f"{root / 'market-annotation-test.csv'}:2:") + ".*outside"):
        PG2Dataset(PG2Config(root, kind="market", split="test", pairs="annotations"))


@pytest.mark.parametrize("pairs", ["annotations", "csv"])
def test_rows_with_a_joint_outside_the_image_are_skipped_at_construction_when_not_strict(tmp_path, pairs):
    src = PG2 / "market" / "0001_c1s1_000151_01.jpg"  # 64×128
    names = ["0006_c1_a.jpg", "0006_c2_b.jpg", "0006_c3_c.jpg"]
    bad = _kp({**SHOULDERS_AND_HIPS, "r_ankle": (30, 200)})  # y = 200 in a 128-high image
    root = _market_copy(
        tmp_path,
        dict.fromkeys(names, src),
        {names[0]: _kp(SHOULDERS_AND_HIPS), names[1]: bad, names[2]: _kp(SHOULDERS_AND_HIPS)},
    )
    write_pg2_pairs(root / "market-pairs-test.csv", [(names[0], names[1]), (names[0], names[2]), (names[1], names[2])])
    with pytest.warns(UserWarning) as caught:
        ds = PG2Dataset(PG2Config(root, kind="market", split="test", pairs=pairs, strict=False))
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"market-annotation-test.csv:3:.*outside the 64×128 image", m) for m in messages)
    if pairs == "csv":
        assert any("skipping 2 pair(s) whose image row was skipped" in m for m in messages)
    assert names[1] not in ds.annotations
    assert all(names[1] not in p for p in ds.pairs) and len(ds) >= 1
    for i in range(len(ds)):  # nothing from the bad row is ever drawn
        s = ds[i]
        assert (s["keypoints_b"][s["visible_b"]] < torch.tensor([64.0, 128.0])).all()


@pytest.mark.parametrize("bad", ["truncated.jpg", "not_an_image.jpg"])
def test_unreadable_images_raise_image_error_naming_the_file(tmp_path, bad):
    images = {"0005_c1_a.jpg": PG2 / "market" / "0001_c1s1_000151_01.jpg", "0005_c2_b.jpg": BAD / bad}
    root = _market_copy(tmp_path, images, {n: _kp(SHOULDERS_AND_HIPS) for n in images})
    ds = PG2Dataset(PG2Config(root, kind="market", split="test", pairs="annotations"))
    with pytest.raises(ImageError, match=re.escape(str(root / "test" / "0005_c2_b.jpg"))):
        ds[0]
    with pytest.raises(ImageError, match=re.escape(str(BAD / bad))):  # and the loader itself, on the fixture
        load_image(BAD / bad)


def test_pairs_file_naming_unknown_image_fails_at_construction(tmp_path):
    shutil.copytree(PG2, tmp_path / "pg2")
    shutil.copy(BAD / "pairs-unknown-image.csv", tmp_path / "pg2" / "market-pairs-test.csv")
    with pytest.raises(FormatError, match=r"market-pairs-test.csv:2:.*does_not_exist.jpg"):
        PG2Dataset(PG2Config(tmp_path / "pg2", kind="market", split="test"))


def test_missing_files_and_bad_options_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="market-annotation-train.csv"):
        PG2Dataset(PG2Config(PG2, kind="market", split="train"))
    with pytest.raises(ValueError, match="kind"):
        PG2Dataset(PG2Config(PG2, kind="coco"))
    files = find_pg2_files(PG2, "fashion", "test")
    assert files.annotations == PG2 / "fasion-annotation-test.csv" and files.image_dir == PG2 / "fashion"


# --- Panoptic ----------------------------------------------------------------------------------------------


def test_panoptic_pairs_are_same_body_same_frame_two_cameras():
    ds = PanopticDataset(PanopticConfig(SEQ))
    pairs = {(p.camera_a, p.camera_b) for p in ds.pairs}
    assert len(ds) == 6 and len(pairs) == 6 and all(a != b for a, b in pairs)
    s = ds[0]
    assert set(s) == set(SAMPLE_KEYS)
    assert s["image_a"].shape == (3, 256, 256) and s["pose_b"].shape == (18, 256, 256)
    assert s["visible_a"].all() and s["visible_b"].all()
    assert torch.equal(s["joints3d_a"], s["joints3d_b"]) and not torch.isnan(s["joints3d_a"]).any()
    assert s["person_id"] == "171204_pose1_sample/0"
    assert -180.0 < s["yaw"] <= 180.0


def test_panoptic_crop_keeps_keypoints_on_the_person():
    ds = PanopticDataset(PanopticConfig(SEQ, cameras=("00_00", "00_05")))
    (body,) = read_panoptic_bodies(SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json")
    image, kp, vis, cam = ds.load_view("00_05", "00000000", body.joints3d)
    # The crop is the full image's keypoints moved and scaled: the same affine map the camera describes.
    full_xy, _ = ds.cameras["00_05"].project(body.joints3d)
    scale = cam.K[0, 0] / ds.cameras["00_05"].K[0, 0]
    np.testing.assert_allclose(kp, (full_xy - full_xy[0]) * scale + kp[0], atol=1e-3)
    assert (kp >= 0).all() and (kp < 256).all()
    # The fixture images mark each joint with a red dot on a grey background: the crop's keypoints land on them.
    rgb = image.astype(float)
    redness = rgb[:, :, 0] - rgb[:, :, 2]
    at_joints = np.array([redness[int(round(y)), int(round(x))] for x, y in kp[vis]])
    assert np.median(redness) < 10 and (at_joints > 100).mean() > 0.9


def test_panoptic_yaw_follows_the_camera_convention():
    (body,) = read_panoptic_bodies(SEQ / "hdPose3d_stage1_coco19" / "body3DScene_00000000.json")
    from posegen_lite.geometry.skeleton import hip_centre

    hips = hip_centre(body.joints3d)
    cam_a = orbit_camera(30.0, 10.0, 4.0, hips, 256, 256)
    cam_b = orbit_camera(120.0, 10.0, 4.0, hips, 256, 256)
    yaw = viewpoint_yaw(cam_a, cam_b, hips)
    assert yaw == pytest.approx(-90.0)
    # Camera B's view = camera A's view of the body turned by yaw.
    turned, _ = cam_a.project(rotate_about_body_axis(body.joints3d, yaw))
    np.testing.assert_allclose(turned, cam_b.project(body.joints3d)[0], atol=1e-3)
    assert viewpoint_yaw(cam_b, cam_a, hips) == pytest.approx(90.0)
    assert viewpoint_yaw(
        orbit_camera(-170, 0, 4, hips, 64, 64), orbit_camera(170, 0, 4, hips, 64, 64), hips
    ) == pytest.approx(20.0)


def test_crop_square_pads_outside_the_image():
    image = np.full((10, 20, 3), 200, np.uint8)
    out = crop_square(image, -10, -10, 20, 20)
    assert out.shape == (20, 20, 3)
    assert (out[:9, :9] == 0).all() and (out[11:, 11:] == 200).all()


def test_panoptic_truncated_frame_is_a_clear_error(tmp_path):
    root = tmp_path / "171204_pose1_sample"
    shutil.copytree(SEQ, root)
    shutil.copy(BAD / "body3DScene_bad.json", root / "hdPose3d_stage1_coco19" / "body3DScene_00000001.json")
    with pytest.raises(FormatError, match=r"body3DScene_00000001.json.*not valid JSON"):
        PanopticDataset(PanopticConfig(root))
    with pytest.raises(ValueError, match="no hd cameras named"):
        PanopticDataset(PanopticConfig(SEQ, cameras=("99_99",)))


def test_real_datasets_carry_the_proxy_flow_with_extras():
    # Panoptic: 3D joints and both cameras; PG2: lifted keypoints with fitted orthographic cameras.
    # (The Market fixture's views have too few joints to lift: its samples get no warp, the fashion ones do.)
    for ds in (
        PanopticDataset(PanopticConfig(SEQ, cameras=("00_00", "00_05"), image_size=64, extras=True)),
        PG2Dataset(PG2Config(PG2, kind="fashion", split="test", extras=True)),
    ):
        s = ds[0]
        h, w = s["image_b"].shape[1:]
        assert s["flow"].shape == (2, h, w) and s["visibility"].shape == (1, h, w)
        assert s["proxy_parts_b"].shape == (h, w) and s["proxy_surface_b"].shape == (5, h, w)
        assert torch.equal(s["proxy_surface_b"][0] > 0, s["proxy_parts_b"] >= 0)
        assert torch.isfinite(s["flow"]).all()
        assert set(s["visibility"].unique().tolist()) <= {0.0, 1.0}
        assert (s["proxy_parts_b"] >= 0).sum() > 0.02 * h * w  # the proxy covers the person
    market = PG2Dataset(PG2Config(PG2, kind="market", split="test", extras=True))[0]
    assert market["visibility"].sum() == 0 and (market["flow"] == 0).all()  # cannot lift: no warp, no crash
    assert (market["proxy_surface_b"] == 0).all()
    assert "flow" not in PG2Dataset(PG2Config(PG2, kind="market", split="test"))[0]
