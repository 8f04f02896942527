"""Tests for posegen_lite.evaluation.unseen and .turntable: the measures of the side the input never saw."""

import warnings

import numpy as np
import pytest
import torch

from posegen_lite.evaluation import metrics
from posegen_lite.evaluation.predictors import IdentityBaseline
from posegen_lite.evaluation.unseen import (
    UnseenRecorder,
    laplacian_energy,
    mottle_ratio,
    part_interior,
    turntable_difference,
    turntable_ratio,
    unseen_l1,
    unseen_scores,
)
from posegen_lite.images import to_tensor

H, W = 32, 16


def _texture(seed: int, amplitude: float = 20.0) -> np.ndarray:
    """A shirt-like uint8 texture: 4×3-px checks plus mild noise around mid-grey."""
    rng = np.random.default_rng(seed)
    checks = (np.arange(H)[:, None, None] // 4 + np.arange(W)[None, :, None] // 3) % 2
    stripes = 120.0 + 30.0 * checks
    img = stripes + rng.normal(0.0, amplitude / 4, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _region() -> np.ndarray:
    region = np.zeros((H, W), bool)
    region[4:28, 3:13] = True
    return region


# --- L1 on the unseen pixels ---------------------------------------------------------------------------


def test_unseen_l1_is_the_protocols_masked_l1_unseen() -> None:
    pred, target = _texture(0), _texture(1)
    mask = np.zeros((H, W), np.float32)
    mask[2:30, 2:14] = 1
    vis = np.zeros((H, W), np.float32)
    vis[:, :8] = 1  # the input saw the left half
    value = unseen_l1(pred, target, mask, vis)
    expected = np.abs(pred.astype(float) - target.astype(float))[2:30, 8:14].mean() / 255
    assert value == pytest.approx(expected)
    details = {"visibility": torch.from_numpy(vis)[None, None], "parts_b": torch.full((1, H, W), -1),
               "print_b": torch.zeros(1, 1, H, W), "facing_a": [1.0], "facing_b": [1.0],
               "print_colours": torch.full((1, 2, 3), float("nan"))}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the detail metrics are undefined here
        protocol = metrics.batch_metrics(
            to_tensor(pred)[None], to_tensor(target)[None], torch.from_numpy(mask)[None, None], details=details
        )
    assert protocol["masked_l1_unseen"][0] == pytest.approx(value)


# --- mottle ----------------------------------------------------------------------------------------------


def test_laplacian_energy_of_a_checkerboard_and_a_flat_patch() -> None:
    a = 40
    board = np.full((H, W, 3), 128, np.uint8)
    board += (a * ((np.arange(H)[:, None] + np.arange(W)[None]) % 2)).astype(np.uint8)[:, :, None]
    region = _region()
    # ±a/2 around the mean: the Laplacian is ±8·(a/2)/255 at every inner pixel.
    assert laplacian_energy(board, region) == pytest.approx(64 * (a / 2 / 255) ** 2)
    flat = np.full((H, W, 3), 200, np.uint8)
    flat[region] = 60  # a flat body on a different background: the outline must not count
    assert laplacian_energy(flat, region) == 0.0
    with pytest.warns(RuntimeWarning, match="neighbours"):
        thin = np.zeros((H, W), bool)
        thin[5, :] = True  # a one-pixel line has no inner pixel
        assert np.isnan(laplacian_energy(board, thin))


def test_mottle_ratio_tells_flat_speckled_and_true_textures_apart() -> None:
    truth, region = _texture(0), _region()
    flat = np.full_like(truth, 135)
    rng = np.random.default_rng(1)
    speckled = np.clip(truth + rng.normal(0.0, 25.0, truth.shape), 0, 255).astype(np.uint8)
    other = _texture(2)  # another draw of the same kind of texture
    assert mottle_ratio(truth, truth, region) == 1.0
    assert mottle_ratio(flat, truth, region) == 0.0
    assert mottle_ratio(speckled, truth, region) > 3.0
    assert 0.7 < mottle_ratio(other, truth, region) < 1.4
    with pytest.warns(RuntimeWarning, match="flat"):
        assert np.isnan(mottle_ratio(truth, flat, region))


def test_part_interior_keeps_edges_between_parts_out() -> None:
    parts = np.full((H, W), -1)
    parts[4:28, 3:8] = 0  # two parts side by side: a sleeve and a shirt
    parts[4:28, 8:13] = 1
    inner = part_interior(parts)
    assert inner[10, 5] and inner[10, 10]
    assert not inner[10, 7] and not inner[10, 8]  # on either side of the edge between the parts
    assert not inner[10, 3] and not inner[4, 5]  # the outline against the background
    assert not inner[parts < 0].any()
    # Two flat parts of different colours: their edge gives no "texture" within the parts.
    image = np.where(parts[:, :, None] == 0, 60, 180).astype(np.uint8).repeat(3, axis=2)
    assert laplacian_energy(image, inner) == 0.0


def test_unseen_scores_and_the_recorder_follow_the_batch() -> None:
    rng = np.random.default_rng(0)
    images = [to_tensor(_texture(s)) for s in range(4)]
    vis = torch.from_numpy(rng.random((2, 1, H, W)) > 0.5).float()
    mask = torch.zeros(2, 1, H, W)
    mask[:, :, 2:30, 2:14] = 1
    batch = {"image_a": torch.stack(images[:2]), "image_b": torch.stack(images[2:]), "mask_b": mask,
             "visibility": vis}  # fmt: skip
    recorder = UnseenRecorder(IdentityBaseline())
    assert torch.equal(recorder(batch), batch["image_a"])
    recorder(batch)
    scores = recorder.scores()
    direct = unseen_scores(batch["image_a"], batch)
    assert scores["masked_l1_unseen"].shape == (4,)
    assert np.allclose(scores["masked_l1_unseen"], np.tile(direct["masked_l1_unseen"], 2))
    assert recorder.undefined == 0
    seen_all = batch | {"visibility": torch.ones(2, 1, H, W)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # counted, not warned
        recorder(seen_all)
    assert recorder.undefined == 4 and np.isnan(recorder.scores()["mottle_ratio"][4:]).all()
    with pytest.raises(ValueError, match="visibility"):
        unseen_scores(batch["image_a"], {k: v for k, v in batch.items() if k != "visibility"})


# --- turntable consistency -------------------------------------------------------------------------------


def _turn(view: np.ndarray, shift: int, light: int) -> np.ndarray:
    """``view`` moved ``shift`` px to the right (a surface turning past the camera), ``light`` grey levels
    brighter (its shading changes as it turns)."""
    out = np.full_like(view, 90)
    out[:, shift:] = view[:, : W - shift]
    return np.clip(out.astype(int) + light, 0, 255).astype(np.uint8)


def test_a_consistent_render_scores_the_truths_value() -> None:
    shift, light = 2, 10
    flow = np.zeros((2, H, W), np.float32)
    flow[0] = shift  # view-1 pixel (x, y) shows the point view 2 shows at (x + 2, y)
    both = _region()
    truth_1 = _texture(0)
    truth_2 = _turn(truth_1, shift, light)
    assert turntable_difference(truth_1, truth_2, flow, both) == pytest.approx(light / 255)
    pred_1 = _texture(5)  # another texture, rendered the same way in both views
    consistent = turntable_ratio(pred_1, _turn(pred_1, shift, light), truth_1, truth_2, flow, both)
    assert consistent == pytest.approx(1.0)
    stuck = turntable_ratio(pred_1, pred_1, truth_1, truth_2, flow, both)  # painted on the screen, not the body
    redrawn = turntable_ratio(pred_1, _texture(6), truth_1, truth_2, flow, both)  # a new guess per view
    assert stuck > 1.5 and redrawn > 1.5
    flat = np.full_like(pred_1, 128)
    assert turntable_ratio(flat, flat, truth_1, truth_2, flow, both) == 0.0
    with pytest.warns(RuntimeWarning, match="agree exactly"):
        assert np.isnan(turntable_ratio(pred_1, pred_1, truth_1, truth_1, np.zeros_like(flow), both))


def test_turntable_pair_of_the_synthetic_people() -> None:
    from torch.utils.data import DataLoader

    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.data.synthetic.pairs import SyntheticConfig
    from posegen_lite.evaluation.turntable import turntable_pair, turntable_scores

    config = SyntheticConfig(size=(64, 32), train_people=1, val_people=1, test_people=1, hard_people=1,
                             views_per_person=1)  # fmt: skip
    pair = turntable_pair(config, "test", 0, step=5.0)
    sample = next(iter(DataLoader(SyntheticPairs(config, "test", extras=True), batch_size=1)))
    assert torch.equal(pair.batch["image_b"][:1], sample["image_b"])  # view 1 is the dataset's target
    assert torch.equal(pair.batch["flow"][:1], sample["flow"])
    assert abs(abs(float(pair.batch["yaw"][1] - pair.batch["yaw"][0])) % 360 - 5.0) < 1e-3
    assert pair.both.sum() > 0 and (pair.unseen <= pair.both).all()
    scores = turntable_scores({"truth": lambda b: b["image_b"], "identity": IdentityBaseline()}, [pair])
    assert scores["truth"]["turntable"][0] == 1.0
    assert np.isfinite(scores["identity"]["turntable"][0]) and scores["identity"]["turntable"][0] != 1.0
