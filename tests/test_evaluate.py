"""The evaluation protocol: baselines, predictors, result files, the table, the G1/G2 report, failure cases, CLI.

The metric formulas have their own tests (test_metrics.py); these check the evaluation built on them.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from conftest import TinyPairs
from torch.utils.data import Dataset

from posegen_lite.cli import main as cli_main
from posegen_lite.data.synthetic import SyntheticConfig, SyntheticPairs
from posegen_lite.evaluation import (
    TABLE_COLUMNS,
    EvalResult,
    G1G2Predictor,
    G1Predictor,
    IdentityBaseline,
    MeanImageBaseline,
    evaluate,
    failure_grid,
    markdown_table,
    refinement_report,
    sample_indices,
    write_results,
    yaw_table,
)
from posegen_lite.geometry.outline import soften_outline
from posegen_lite.geometry.warp import OUTLINE_RING, fill_uncovered
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.models.texture_completion import TextureCompletionConfig, TextureCompletionNet

SIZE = (32, 32)


class SameView(Dataset):
    """A dataset whose target is its condition image (I_B = I_A), keeping the real masks and keypoints."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        s = dict(self.base[i])
        s["image_b"] = s["image_a"].clone()
        return s


@pytest.fixture(scope="module")
def pairs() -> SyntheticPairs:
    return SyntheticPairs(SyntheticConfig(size=SIZE, test_people=2, views_per_person=2), "test")


@pytest.fixture(scope="module")
def tiny_models() -> tuple[G1, G2]:
    torch.manual_seed(0)
    return G1(G1Config(*SIZE, base_channels=4, z_dim=8)), G2(G2Config(*SIZE, base_channels=4))


def test_identity_on_a_dataset_with_b_equal_a_is_perfect(pairs):
    result = evaluate({"identity": IdentityBaseline()}, SameView(pairs), batch_size=3, progress=False, split="same")
    s = result.summary["identity"]
    assert len(result) == 4 and s["ssim"]["count"] == 4
    for name in ("ssim", "mask_ssim", "bbox_ssim", "sharpness_ratio"):
        assert s[name]["mean"] == pytest.approx(1.0), name
    for name in ("l1", "masked_l1", "region_l1_torso"):
        assert s[name]["mean"] == 0.0, name
    assert math.isinf(s["psnr"]["mean"])


def test_identity_on_real_pairs_is_imperfect_and_metadata_align(pairs):
    result = evaluate({"identity": IdentityBaseline()}, pairs, batch_size=4, progress=False, split="test")
    assert result.mean("identity", "masked_l1") > 0.01
    assert result.meta["index"] == [0, 1, 2, 3]
    assert result.meta["name_b"] == [pairs[i]["name_b"] for i in range(4)]
    assert result.meta["yaw"] == pytest.approx([pairs[i]["yaw"] for i in range(4)])


def test_mean_image_baseline_is_the_per_pixel_mean_of_targets():
    data = TinyPairs(n=6)
    base = MeanImageBaseline.fit(data, n=100)  # more than the dataset: uses all 6
    torch.testing.assert_close(base.mean, data.b.mean(0))
    batch = {"image_b": data.b[:3]}
    out = base(batch)
    assert out.shape == (3, 3, 16, 16) and torch.equal(out[0], out[2])
    sub = MeanImageBaseline.fit(data, n=3, seed=1)  # a seeded subset of 3 targets
    assert not torch.allclose(sub.mean, base.mean)
    torch.testing.assert_close(sub.mean, MeanImageBaseline.fit(data, n=3, seed=1).mean)
    with pytest.raises(ValueError, match="batch"):
        base({"image_b": torch.zeros(1, 3, 8, 8)})


def test_g1_and_g1g2_predictors_run_and_an_untouched_g2_changes_nothing(pairs, tiny_models):
    g1, g2 = tiny_models
    predictors = {"G1": G1Predictor(g1), "G1+G2": G1G2Predictor(g1, g2)}
    result = evaluate(predictors, pairs, batch_size=4, progress=False, split="test")
    for name in ("masked_l1", "ssim", "bbox_ssim", "region_l1_face"):
        assert result.per_sample["G1"][name].shape == (4,)
    # G2's last layer starts at zero: the refined image is G1's, so the report sees no change
    np.testing.assert_array_equal(result.per_sample["G1"]["masked_l1"], result.per_sample["G1+G2"]["masked_l1"])
    rep = refinement_report(result)
    assert rep["mask_ssim_drop"] == 0.0 and rep["sharper"] is False and rep["passes"] is False
    with pytest.raises(ValueError, match="G9"):
        refinement_report(result, coarse="G9")


def test_predictors_fill_the_background_as_the_synthesizer_does(tiny_models):
    g1, g2 = tiny_models
    data = SyntheticPairs(SyntheticConfig(size=SIZE, test_people=2, views_per_person=2), "test", extras=True)
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    source, target = batch["proxy_silhouette_a"], (batch["proxy_parts_b"] >= 0).unsqueeze(1)
    cover = batch["proxy_coverage_b"]  # the synthetic extras carry the target proxy's sub-pixel coverage
    assert ((cover > 0) & (cover < 1)).any()

    def shown(images: torch.Tensor) -> torch.Tensor:  # filled, then the outline antialiased: the synthesizer's steps
        return soften_outline(fill_uncovered(images, source, target, ring=OUTLINE_RING), target.float(), cover)

    raw, filled = G1Predictor(g1)(batch), G1Predictor(g1, fill_ring=OUTLINE_RING)(batch)
    torch.testing.assert_close(filled, shown(raw))
    whole = (cover == 1).expand_as(raw)
    assert torch.equal(filled[whole], raw[whole])  # the body is never touched where the proxy covers whole pixels …
    assert not torch.equal(filled, raw)  # … the ring round it is
    # G1+G2 refines the filled coarse image (its outline hard) and is filled again, as NovelViewSynthesizer does it
    coarse = fill_uncovered(g1(batch["image_a"], batch["pose_b"]), source, target, ring=OUTLINE_RING)
    with torch.no_grad():
        refined = g2(batch["image_a"], coarse, batch["mask_b"])
    torch.testing.assert_close(G1G2Predictor(g1, g2, fill_ring=OUTLINE_RING)(batch), shown(refined))
    # a pair at a whole number of turns is the input's own view: I_A itself, as the synthesizer returns it
    assert not (torch.remainder(batch["yaw"], 360.0) == 0).any()
    turns = {**batch, "yaw": torch.tensor([0.0, -360.0, float("nan"), 30.0], dtype=torch.float64)}
    for predictor in (G1Predictor(g1, fill_ring=OUTLINE_RING), G1G2Predictor(g1, g2, fill_ring=OUTLINE_RING)):
        out = predictor(turns)
        assert torch.equal(out[:2], batch["image_a"][:2])
        torch.testing.assert_close(out[2:], predictor(batch)[2:])
    assert not torch.equal(G1Predictor(g1)(turns)[:2], batch["image_a"][:2])  # the raw network is left alone
    with pytest.raises(ValueError, match="extras"):
        G1Predictor(g1, fill_ring=0)({k: v for k, v in batch.items() if k != "proxy_silhouette_a"})
    with pytest.raises(ValueError, match="fill_ring"):
        G1Predictor(g1, fill_ring=-1)


def test_predictors_mix_the_unseen_side_with_the_relit_texture_and_relight_the_seen_side(tiny_models):
    g1, g2 = tiny_models
    data = SyntheticPairs(SyntheticConfig(size=SIZE, test_people=2, views_per_person=2), "test", extras=True)
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    assert batch["cameras"].shape == (4, 2, 26)
    body = batch["proxy_parts_b"] >= 0
    unseen = (batch["visibility"][:, 0] < 0.5) & body
    # what it saw is re-lit where it saw it squarely (inside the seen region), and the outline's antialiasing, the
    # step after, reads each pixel's 3×3 neighbours: nothing changes beyond a pixel of the body
    near = torch.nn.functional.max_pool2d(body[:, None].float(), 3, 1, 1)[:, 0] > 0
    torch.manual_seed(0)
    noisy = TextureCompletionNet(TextureCompletionConfig(width=4, levels=1)).eval()
    torch.nn.init.normal_(noisy.head.weight, std=0.5)  # a correction far from 0
    for cls, nets in ((G1Predictor, (g1,)), (G1G2Predictor, (g1, g2))):
        shown = cls(*nets, fill_ring=OUTLINE_RING)(batch)
        mixed = cls(*nets, fill_ring=OUTLINE_RING, texture_share=0.7)(batch)
        changed = (mixed != shown).any(1)
        assert changed[unseen].float().mean() > 0.5 and not changed[~near].any()
        # a completion network changes the texture, so the unseen side only
        learned = cls(*nets, fill_ring=OUTLINE_RING, texture_share=0.7, completion=noisy)(batch)
        differs = (learned != mixed).any(1)
        assert differs[unseen].float().mean() > 0.3 and not differs[~near].any()
        # a share of 0 leaves the unseen side to the networks: only what the input saw is re-lit
        zero = cls(*nets, fill_ring=OUTLINE_RING, texture_share=0.0)(batch)
        seen = torch.nn.functional.max_pool2d((body & ~unseen)[:, None].float(), 3, 1, 1)[:, 0] > 0
        moved = (zero - shown).abs().amax(1) > 1e-4  # beyond the 0–255 scale's rounding
        assert moved.any() and not moved[~seen].any()
        # without the fill, or without the cameras (real data), the networks' guess is left as it is
        assert torch.equal(cls(*nets, texture_share=0.7)(batch), cls(*nets)(batch))
        no_cameras = {k: v for k, v in batch.items() if k != "cameras"}
        assert torch.equal(cls(*nets, fill_ring=OUTLINE_RING, texture_share=0.7)(no_cameras), shown)
    turns = {**batch, "yaw": torch.tensor([0.0, 360.0, 10.0, 30.0], dtype=torch.float64)}
    out = G1Predictor(g1, fill_ring=OUTLINE_RING, texture_share=0.7)(turns)
    assert torch.equal(out[:2], batch["image_a"][:2])  # the input's own view stays the input
    with pytest.raises(ValueError, match="texture_share"):
        G1Predictor(g1, fill_ring=OUTLINE_RING, texture_share=1.5)


def test_limit_spreads_samples_over_the_split():
    assert sample_indices(5, None) == [0, 1, 2, 3, 4]
    idx = sample_indices(100, 5)
    assert idx == [0, 25, 50, 74, 99]
    with pytest.raises(ValueError):
        sample_indices(10, 0)


def test_results_files_are_written_and_parseable(tmp_path, pairs):
    result = evaluate(
        {"identity": IdentityBaseline(), "mean": MeanImageBaseline.fit(pairs, n=4)},
        SameView(pairs),
        batch_size=4,
        progress=False,
        split="test",
    )
    paths = write_results(result, tmp_path / "eval")
    with paths["csv"].open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 4 and {r["model"] for r in rows} == {"identity", "mean"}
    assert float(rows[0]["ssim"]) == pytest.approx(1.0) and float(rows[0]["masked_l1"]) == 0.0

    def reject(token):  # strict JSON: no NaN / Infinity tokens
        raise AssertionError(f"non-standard JSON constant {token}")

    summary = json.loads(paths["json"].read_text(), parse_constant=reject)
    assert summary["samples"] == 4 and set(summary["models"]) == {"identity", "mean"}
    assert summary["models"]["identity"]["psnr"]["mean"] == "inf"
    assert summary["protocol"]["ssim"]["sigma"] == 1.5


def test_table_has_a_row_per_split_and_model_and_leads_with_masked_l1(pairs):
    predictors = {"identity": IdentityBaseline(), "mean image": MeanImageBaseline.fit(pairs, n=4)}
    results = [evaluate(predictors, pairs, batch_size=4, limit=2, progress=False, split=s) for s in ("test", "hard")]
    table = markdown_table(results)
    lines = table.splitlines()
    assert len(lines) == 2 + 4
    assert lines[0].split("|")[4].strip().startswith("L1 in mask")
    for split in ("test", "hard"):
        for model in predictors:
            assert any(line.startswith(f"| {split} | {model} | 2 |") for line in lines), (split, model)
    assert len(lines[2].split("|")) == 2 + 3 + len(TABLE_COLUMNS)  # edges, split/model/n, metrics


def test_bad_predictions_are_rejected(pairs):
    with pytest.raises(ValueError, match="returned"):
        evaluate({"half": lambda b: b["image_a"][:, :, :16]}, pairs, progress=False)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluate({"bright": lambda b: b["image_a"] * 3}, pairs, progress=False)
    with pytest.raises(ValueError, match="predictor"):
        evaluate({}, pairs, progress=False)


def test_worst_samples_and_failure_grid(pairs):
    result = evaluate({"identity": IdentityBaseline()}, pairs, batch_size=4, progress=False)
    l1 = result.per_sample["identity"]["masked_l1"]
    worst = result.worst("identity", "masked_l1", k=2)
    assert worst == [int(i) for i in np.argsort(-l1)[:2]]
    assert result.worst("identity", "ssim", k=1) == [int(np.argmin(result.per_sample["identity"]["ssim"]))]
    grid = failure_grid({"identity": IdentityBaseline()}, pairs, worst)
    h, w = SIZE
    # 2 rows × (I_A, skeleton, identity, I_B), 2 px padding
    assert grid.shape == (2 * (h + 2) + 2, 4 * (w + 2) + 2, 3) and grid.dtype == np.uint8


def test_evaluate_command_on_a_tiny_checkpoint(tmp_path, tiny_models, capsys):
    g1, g2 = tiny_models
    state = {
        "stage": 3,
        "step": 1,
        "config": {},
        "history": [],
        "model_configs": {"g1": vars(g1.config).copy(), "g2": vars(g2.config).copy()},
        "models": {"g1": g1.state_dict(), "g2": g2.state_dict()},
    }
    ckpt = save_checkpoint(state, tmp_path / "run")
    argv = [
        "evaluate",
        str(ckpt),
        "--splits",
        "test",
        "test_hard",
        "--out",
        str(tmp_path / "out"),
        "--limit",
        "3",
        "--batch-size",
        "2",
        "--size",
        f"{SIZE[0]}x{SIZE[1]}",
        "--people",
        "8",
        "--views",
        "1",
    ]
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    for model in ("identity", "mean image", "G1", "G1+G2"):
        assert f"| test_hard | {model} | 3 |" in out
    assert (tmp_path / "out" / "table.md").is_file()
    assert json.loads((tmp_path / "out" / "test_summary.json").read_text())["refinement"]["mask_ssim_drop"] == 0.0
    capsys.readouterr()
    # --fill-ring adds the same networks with the background filled; --texture-share, as the demo shows them
    assert cli_main([*argv, "--fill-ring", "6", "--texture-share", "0.7", "--splits", "test"]) == 0
    out = capsys.readouterr().out
    for model in ("G1", "G1+G2", "G1 + fill", "G1+G2 + fill", "G1 + blend", "G1+G2 + blend"):
        assert f"| test | {model} | 3 |" in out
    with pytest.raises(SystemExit):
        cli_main([*argv, "--fill-ring", "6", "--texture-share", "1.5"])
    assert "between 0 and 1" in capsys.readouterr().err
    argv[argv.index("--size") + 1] = "64x64"
    assert cli_main(argv) == 2
    assert "--size" in capsys.readouterr().err


def test_yaw_table_bins_by_the_size_of_the_turn_and_divides_by_the_baseline():
    # Hand-made per-sample values: |yaw| 5 and -10 fall in 0–15°, 20 in 15–30°, -180 in the closed last bin.
    per_sample = {
        "identity": {"masked_l1": np.array([0.1, 0.3, 0.4, 0.5])},
        "G1": {"masked_l1": np.array([0.05, np.nan, 0.2, 0.25])},
    }
    meta = {"index": [0, 1, 2, 3], "person_id": [""] * 4, "name_a": [""] * 4, "name_b": [""] * 4}
    result = EvalResult("test", per_sample, {**meta, "yaw": [5.0, -10.0, 20.0, -180.0]})
    rows = yaw_table(result, bins=(0, 15, 30, 180)).splitlines()
    assert rows[0] == "| \\|yaw\\| | pairs | identity | G1 | G1 / identity |"
    assert rows[2] == "| 0–15° | 2 | 0.200 | 0.050 | 0.25× |"  # the NaN is left out of G1's mean
    assert rows[3] == "| 15–30° | 1 | 0.400 | 0.200 | 0.50× |"
    assert rows[4] == "| 30–180° | 1 | 0.500 | 0.250 | 0.50× |"
    with pytest.raises(ValueError, match="increasing"):
        yaw_table(result, bins=(0, 30, 15))
