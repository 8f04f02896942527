"""Tests for posegen_lite.evaluation.budget: the error budget's shares, against hand-computed values."""

import numpy as np
import pytest
import torch

from posegen_lite.evaluation.budget import BODY_REGIONS, error_budget, pixel_error, silhouette_band
from posegen_lite.geometry.proxy import PART_REGION, REGION_NAMES


def _part_of(region: str) -> int:
    """A part id (renderer/proxy numbering) in ``region``."""
    return PART_REGION.index(REGION_NAMES.index(region))


def _toy():
    """One 4×4 sample: the target is grey level 100; the prediction is off by 51 grey levels (0.2) at three
    pixels."""
    target = torch.full((1, 3, 4, 4), 100 / 127.5 - 1)
    pred = target.clone()
    step = 51 / 127.5  # 51 grey levels in [-1, 1] units
    pred[0, :, 0, 0] += step  # torso, seen
    pred[0, :, 1, 1] -= step  # torso, unseen
    pred[0, 0, 2, 2] += step  # legs, unseen, one channel only: 0.2 / 3
    mask = torch.zeros(1, 1, 4, 4)
    mask[0, 0, :3, :3] = 1  # 9 mask pixels
    parts = torch.full((1, 4, 4), -1, dtype=torch.int64)
    parts[0, :2, :2] = _part_of("torso")
    parts[0, 2, :3] = _part_of("legs")  # (2, 0), (2, 1), (2, 2); (0, 2) and (1, 2) stay background in the mask
    seen = torch.zeros(1, 1, 4, 4)
    seen[0, 0, 0, :2] = 1
    return pred, target, mask, parts, seen


def test_shares_match_hand_computed_values():
    out = error_budget(*_toy(), band=0)
    total = (0.2 + 0.2 + 0.2 / 3) / 9
    assert out["masked_l1"][0] == pytest.approx(total)
    assert out["seen"][0] == pytest.approx(0.2 / 9)
    assert out["unseen"][0] == pytest.approx((0.2 + 0.2 / 3) / 9)
    assert out["torso seen"][0] == pytest.approx(0.2 / 9)
    assert out["torso unseen"][0] == pytest.approx(0.2 / 9)
    assert out["legs unseen"][0] == pytest.approx(0.2 / 3 / 9)
    assert out["background unseen"][0] == 0.0
    # pixel fractions: 4 torso (2 seen), 3 legs, 2 background of the 9 mask pixels
    assert out["px torso seen"][0] == pytest.approx(2 / 9)
    assert out["px torso unseen"][0] == pytest.approx(2 / 9)
    assert out["px legs unseen"][0] == pytest.approx(3 / 9)
    assert out["px background unseen"][0] == pytest.approx(2 / 9)
    assert out["band"][0] == 0.0 and out["px band"][0] == 0.0  # band 0: no silhouette band


def test_every_partition_adds_up_to_the_l1_in_the_body():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 3, 16, 12, generator=g) * 2 - 1, torch.rand(3, 3, 16, 12, generator=g) * 2 - 1
    mask = (torch.rand(3, 1, 16, 12, generator=g) > 0.3).float()
    parts = torch.randint(-1, len(PART_REGION), (3, 16, 12), generator=g)
    seen = (torch.rand(3, 1, 16, 12, generator=g) > 0.5).float()
    out = error_budget(pred, target, mask, parts, seen)
    total = out["masked_l1"]
    np.testing.assert_allclose(out["seen"] + out["unseen"], total)
    np.testing.assert_allclose(out["band"] + out["interior"], total)
    regions = sum(out[f"{r} {s}"] for r in BODY_REGIONS for s in ("seen", "unseen"))
    np.testing.assert_allclose(regions, total)
    fractions = sum(out[f"px {r} {s}"] for r in BODY_REGIONS for s in ("seen", "unseen"))
    np.testing.assert_allclose(fractions, np.ones(3))
    # and the total is the protocol's L1 in the mask
    err = pixel_error(pred, target).numpy()
    m = mask[:, 0].numpy() > 0.5
    np.testing.assert_allclose(total, [err[i][m[i]].mean() for i in range(3)])


def test_silhouette_band_reaches_both_sides_of_the_edge():
    parts = torch.full((1, 7, 7), -1, dtype=torch.int64)
    parts[0, 2:5, 2:5] = 0  # a 3×3 body in the middle
    band = silhouette_band(parts, 1)[0]
    expected = torch.zeros(7, 7, dtype=torch.bool)
    expected[1:6, 1:6] = True  # one pixel outside the body …
    expected[3, 3] = False  # … and every body pixel but the centre, which is 2 pixels from the background
    assert torch.equal(band, expected)
    assert not silhouette_band(parts, 0).any()


def test_an_empty_mask_gives_nan_and_bad_shapes_raise():
    pred, target, mask, parts, seen = _toy()
    out = error_budget(pred, target, torch.zeros_like(mask), parts, seen)
    assert np.isnan(out["masked_l1"][0]) and np.isnan(out["torso seen"][0])
    with pytest.raises(ValueError, match="mask"):
        error_budget(pred, target, mask[:, 0], parts, seen)
    with pytest.raises(ValueError, match="parts"):
        error_budget(pred, target, mask, parts[:, :2], seen)
    with pytest.raises(ValueError, match="pred and target"):
        error_budget(pred[:, :2], target, mask, parts, seen)


def test_split_budget_averages_the_budgets_and_adds_the_oracle():
    from posegen_lite.data.synthetic import SyntheticConfig, SyntheticPairs
    from posegen_lite.evaluation import IdentityBaseline
    from posegen_lite.evaluation.budget import ORACLE, budget_markdown, split_budget

    config = SyntheticConfig(size=(64, 32), test_people=2, views_per_person=2)
    data = SyntheticPairs(config, "test", extras=True)
    budget = split_budget({"identity": IdentityBaseline()}, data, batch_size=3, oracle_samples=3, progress=False)
    assert set(budget) == {"identity", ORACLE, "proxy silhouette"}
    ident, oracle = budget["identity"], budget[ORACLE]
    assert ident["seen"] + ident["unseen"] == pytest.approx(ident["masked_l1"])
    assert oracle["seen"] == 0.0  # where the input saw the point, the oracle is the target itself
    assert 0.0 <= oracle["masked_l1"] < ident["masked_l1"]
    assert 0.5 < budget["proxy silhouette"]["iou"] <= 1.0
    table = budget_markdown("test", budget, regions=3)
    assert "| identity | " in table and f"| {ORACLE} | " in table and "IoU" in table
    assert table.splitlines()[3].count("|") == 2 + 4 + 3  # model, 4 lead columns, 3 regions
    # the oracle needs the embedded data's plans; the budget needs the extras
    with pytest.raises(ValueError, match="extras"):
        split_budget({"identity": IdentityBaseline()}, SyntheticPairs(config, "test"), progress=False)
    with pytest.raises(ValueError, match="synthetic"):
        split_budget({"identity": IdentityBaseline()}, list(data), oracle_samples=2, progress=False)
