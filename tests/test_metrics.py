"""Tests for posegen_lite.evaluation.metrics: the evaluation protocol's measures and their input checks."""

import math
import warnings

import numpy as np
import pytest
import torch

from posegen_lite.evaluation import metrics
from posegen_lite.geometry.skeleton import JOINT_INDEX, NUM_JOINTS
from posegen_lite.images import to_uint8

H, W = 64, 48


def _image(seed: int, height: int = H, width: int = W) -> np.ndarray:
    """A smooth-ish random uint8 RGB image (blocks plus noise), so SSIM has structure to compare."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (height // 8, width // 8, 3))
    img = np.kron(blocks, np.ones((8, 8, 1))) + rng.normal(0, 10, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _body_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.float32)
    mask[10:56, 16:32] = 1
    return mask


def _keypoints() -> tuple[np.ndarray, np.ndarray]:
    """A standing figure in the middle of the 64×48 image; the left ankle is missing."""
    xy = np.full((NUM_JOINTS, 2), np.nan, np.float32)
    for name, (x, y) in {
        "nose": (24, 10), "neck": (24, 16), "r_shoulder": (19, 17), "l_shoulder": (29, 17),
        "r_elbow": (17, 26), "l_elbow": (31, 26), "r_wrist": (16, 34), "l_wrist": (32, 34),
        "r_hip": (21, 35), "l_hip": (27, 35), "r_knee": (21, 45), "l_knee": (27, 45), "r_ankle": (21, 55),
        "l_eye": (25, 9), "r_eye": (23, 9), "l_ear": (27, 10), "r_ear": (21, 10),
    }.items():  # fmt: skip
        xy[JOINT_INDEX[name]] = (x, y)
    return xy, np.isfinite(xy).all(axis=1)


def test_ssim_of_an_image_with_itself_is_one():
    img = _image(0)
    assert metrics.ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert metrics.mask_ssim(img, img, _body_mask()) == pytest.approx(1.0, abs=1e-12)
    assert metrics.bbox_ssim(img, img, _body_mask()) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssim(img, _image(1)) < 0.5


def test_ssim_uses_the_protocol_parameters():
    from skimage.metrics import structural_similarity

    a, b = _image(0), _image(1)
    expected = structural_similarity(
        a, b, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim(a, b) == expected
    assert metrics.SSIM_WINDOW == 11


def test_mask_ssim_ignores_what_lies_outside_the_mask():
    target, pred = _image(0), _image(0).copy()
    pred[20:40, 20:28] = 255 - pred[20:40, 20:28]  # an error inside the body
    mask = _body_mask()
    before = metrics.mask_ssim(pred, target, mask)
    changed = pred.copy()
    changed[mask == 0] = _image(7)[mask == 0]  # replace only the background
    assert metrics.mask_ssim(changed, target, mask) == before
    assert metrics.l1_in_mask(changed, target, mask) == metrics.l1_in_mask(pred, target, mask)
    assert metrics.ssim(changed, target) != metrics.ssim(pred, target)  # plain SSIM does see it
    changed[30, 24] = 0 if changed[30, 24, 0] > 127 else 255  # a change inside the mask does count
    assert metrics.mask_ssim(changed, target, mask) != before


def test_bbox_ssim_looks_only_at_the_persons_box():
    target, pred = _image(0), _image(0).copy()
    pred[0:5, :] = 0  # outside the box rows 10..55
    mask = _body_mask()
    assert metrics.bbox_ssim(pred, target, mask) == pytest.approx(1.0, abs=1e-12)
    assert metrics.mask_bbox(mask) == (10, 56, 16, 32)
    tiny = np.zeros((H, W))
    tiny[0, 0] = 1
    assert metrics.mask_bbox(tiny, min_size=11) == (0, 11, 0, 11)  # grown so SSIM's window fits


def test_psnr_and_l1_against_hand_computed_values():
    target = np.full((16, 16, 3), 100, np.uint8)
    pred = target + np.uint8(5)
    assert metrics.psnr(pred, target) == pytest.approx(20 * math.log10(255 / 5))
    assert metrics.psnr(target, target) == math.inf
    assert metrics.l1(pred, target) == pytest.approx(5 / 255)
    mask = np.zeros((16, 16))
    mask[:4] = 1
    pred[4:] = 0  # large errors only outside the mask
    assert metrics.l1_in_mask(pred, target, mask) == pytest.approx(5 / 255)
    assert metrics.l1(pred, target) == pytest.approx((4 * 5 + 12 * 100) / 16 / 255)


def test_undefined_values_are_nan_with_a_warning():
    img = _image(0)
    empty = np.zeros((H, W))
    for fn in (metrics.l1_in_mask, metrics.bbox_ssim, metrics.sharpness_ratio):
        with pytest.warns(RuntimeWarning, match="NaN"):
            assert math.isnan(fn(img, img, empty))
    flat = np.full((H, W, 3), 9, np.uint8)
    with pytest.warns(RuntimeWarning, match="flat"):
        assert math.isnan(metrics.sharpness_ratio(img, flat, _body_mask()))


def test_region_l1_measures_only_its_region():
    xy, vis = _keypoints()
    target = _image(0)
    face = metrics.region_mask(xy, vis, H, W, "face")
    assert face[10, 24] and face[9, 27] and not face[40, 24]
    torso = metrics.region_mask(xy, vis, H, W, "torso")
    assert torso[16:36, 19:30].all()  # the box over neck, shoulders and hips covers the shirt
    pred = target.copy()
    pred[face] = 255 - pred[face]  # damage the face only
    assert metrics.region_l1(pred, target, xy, vis, "face") > 0.1
    assert metrics.region_l1(pred, target, xy, vis, "feet") == 0.0
    vis_no_face = vis.copy()
    for j in metrics.REGION_JOINTS["face"]:
        vis_no_face[j] = False
    with pytest.warns(RuntimeWarning, match="face"):
        assert math.isnan(
            metrics.region_l1(pred, target, np.where(vis_no_face[:, None], xy, np.nan), vis_no_face, "face")
        )
    with pytest.raises(ValueError, match="region"):
        metrics.region_l1(pred, target, xy, vis, "elbows")


def test_sharpness_ratio_falls_for_a_blurred_prediction():
    from scipy.ndimage import uniform_filter

    target = _image(0)
    blurred = uniform_filter(target.astype(np.float64), size=(5, 5, 1)).round().astype(np.uint8)
    mask = _body_mask()
    assert metrics.sharpness_ratio(target, target, mask) == pytest.approx(1.0)
    assert metrics.sharpness_ratio(blurred, target, mask) < 0.7
    assert metrics.sharpness_ratio(target, blurred, mask) > 1.4


@pytest.mark.parametrize("fn", [metrics.ssim, metrics.psnr, metrics.l1])
def test_metrics_reject_bad_images(fn):
    img = _image(0)
    with pytest.raises(ValueError, match="differ in shape"):
        fn(img, _image(0, H, W + 8))
    with pytest.raises(ValueError, match="uint8"):
        fn(img.astype(np.float32) / 255, img)
    with pytest.raises(ValueError, match="uint8"):
        fn(img, img.astype(np.int64))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        fn(img[:, :, 0], img[:, :, 0])
    with pytest.raises(ValueError, match="numpy"):
        fn(torch.zeros(H, W, 3), img)


def test_masked_metrics_reject_bad_masks():
    img = _image(0)
    with pytest.raises(ValueError, match="mask must be"):
        metrics.mask_ssim(img, img, np.ones((H, W + 1)))
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.l1_in_mask(img, img, np.full((H, W), 0.5))
    with pytest.raises(ValueError, match="0 or 1"):
        metrics.bbox_ssim(img, img, np.full((H, W), 255))
    with pytest.raises(ValueError, match="too small"):
        metrics.ssim(_image(0, 8, 8), _image(1, 8, 8))


def test_batch_metrics_match_the_per_image_functions():
    gen = torch.Generator().manual_seed(0)
    target = torch.from_numpy(np.stack([_image(0), _image(1)])).permute(0, 3, 1, 2).float() / 127.5 - 1
    pred = (target + 0.2 * torch.randn(target.shape, generator=gen)).clamp(-1, 1)
    mask = torch.from_numpy(np.stack([_body_mask()] * 2))[:, None]
    xy, vis = _keypoints()
    out = metrics.batch_metrics(pred, target, mask, np.stack([xy, xy]), np.stack([vis, vis]))
    assert set(out) == {
        "ssim",
        "mask_ssim",
        "bbox_ssim",
        "psnr",
        "l1",
        "masked_l1",
        "sharpness_ratio",
        "region_l1_face",
        "region_l1_hands",
        "region_l1_feet",
        "region_l1_torso",
    }
    p8, t8 = to_uint8(pred), to_uint8(target)
    for i in range(2):
        assert out["ssim"][i] == metrics.ssim(p8[i], t8[i])
        assert out["mask_ssim"][i] == metrics.mask_ssim(p8[i], t8[i], _body_mask())
        assert out["masked_l1"][i] == metrics.l1_in_mask(p8[i], t8[i], _body_mask())
        assert out["region_l1_face"][i] == metrics.region_l1(p8[i], t8[i], xy, vis, "face")
    assert all(v.shape == (2,) for v in out.values())
    assert "region_l1_face" not in metrics.batch_metrics(pred, target, mask)


def test_batch_metrics_reject_bad_tensors():
    x = torch.zeros(2, 3, H, W)
    mask = torch.ones(2, 1, H, W)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.batch_metrics(x * 0 + 200.0, x, mask)  # a [0, 255] image passed by mistake
    with pytest.raises(ValueError, match="NaN"):
        metrics.batch_metrics(x.clone().fill_(math.nan), x, mask)
    with pytest.raises(ValueError, match="float tensor"):
        metrics.batch_metrics(x.to(torch.uint8), x, mask)
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.batch_metrics(x, x[:1], mask)
    with pytest.raises(ValueError, match="mask must be"):
        metrics.batch_metrics(x, x, mask[:, :, :, :-1])
    with pytest.raises(ValueError, match="both"):
        metrics.batch_metrics(x, x, mask, keypoints=np.zeros((2, 18, 2)))
    with pytest.raises(ValueError, match=r"\(B, 18, 2\)"):
        metrics.batch_metrics(x, x, mask, np.zeros((2, 17, 2)), np.zeros((2, 17), bool))


def test_summarize_leaves_out_and_counts_nans():
    summary = metrics.summarize({"masked_l1": np.array([0.1, math.nan, 0.3]), "psnr": np.array([20.0, 30.0])})
    assert summary["masked_l1"] == {"mean": pytest.approx(0.2), "std": pytest.approx(0.1), "count": 2, "nan": 1}
    assert summary["psnr"]["mean"] == 25.0 and summary["psnr"]["nan"] == 0


def _flat(rgb, h=12, w=12):
    return np.tile(np.asarray(rgb, np.uint8), (h, w, 1))


def test_print_leak_counts_pixels_nearer_the_print_than_the_truth():
    target = _flat([0, 0, 200])  # a blue back
    pred = target.copy()
    pred[:3] = [250, 250, 250]  # a quarter of the rows painted in the (white) print colour
    chest = np.ones((12, 12), bool)
    colours = np.array([[1.0, 1.0, 1.0], [np.nan] * 3])
    assert metrics.print_leak(pred, target, chest, colours) == pytest.approx(0.25)
    assert metrics.print_leak(target, target, chest, colours) == 0.0
    with pytest.warns(RuntimeWarning):  # the back itself has the print's colour: undefined
        assert math.isnan(metrics.print_leak(pred, _flat([255, 255, 255]), chest, colours))


def test_detail_metrics_need_the_right_views():
    target = _flat([10, 20, 30], 16, 16)
    pred = target.copy()
    pred[:, :8] += 51  # an error of 51/255 = 0.2 on the left half
    parts = np.full((16, 16), -1)
    parts[:, :8] = metrics.HEAD_PART
    parts[:, 8:] = metrics.FOOT_PARTS[0]
    print_mask = np.zeros((16, 16), bool)
    print_mask[4:8, 4:12] = True
    cols = np.array([[1.0, 1.0, 1.0], [np.nan] * 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        front = metrics.detail_metrics(pred, target, parts, print_mask, 0.9, 0.9, cols)
        back = metrics.detail_metrics(pred, target, parts, print_mask, 0.9, -0.9, cols)
    assert front["gt_l1_face"] == pytest.approx(0.2)
    assert front["gt_l1_print"] == pytest.approx(0.1)  # half of the print box is in the wrong half
    assert front["gt_l1_shoes"] == pytest.approx(0.0)
    assert 0 < front["print_ssim"] < 1 and math.isnan(front["print_leak"])
    assert math.isnan(back["gt_l1_face"]) and math.isnan(back["print_ssim"])


def test_body_l1_splits_into_the_pixels_the_input_saw_and_the_rest():
    target = torch.zeros(1, 3, 16, 16)
    pred = target.clone()
    pred[..., :, :8] += 0.4  # the left half is off by 50 grey levels (to_uint8: 0 → 128, 0.4 → 178)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1  # the body: 8×8 pixels, half of them in the left half
    details = {
        "parts_b": np.full((1, 16, 16), -1),
        "print_b": np.zeros((1, 16, 16)),
        "facing_a": np.array([0.9]),
        "facing_b": np.array([0.9]),
        "print_colours": np.full((1, 2, 3), np.nan),
        "visibility": torch.zeros(1, 1, 16, 16),
    }
    details["visibility"][..., :, :6] = 1  # the input saw columns 0–5: body columns 4–5, all with error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the detail metrics have no parts here
        out = metrics.batch_metrics(pred, target, mask, details=details)
        no_vis = {k: v for k, v in details.items() if k != "visibility"}
        without = metrics.batch_metrics(pred, target, mask, details=no_vis)
    assert out["masked_l1_seen"][0] == pytest.approx(50 / 255)
    assert out["masked_l1_unseen"][0] == pytest.approx(50 / 255 * 2 / 6)  # body columns 6–11: 2 of 6 in error
    assert out["masked_l1"][0] == pytest.approx(50 / 255 / 2)
    assert "masked_l1_seen" not in without
