"""Experiment: how much fine texture the L1-best answer can have on the unseen side, and what one plausible draw costs.

On the held-out pairs that turn the person by 90° or more, the unseen body (the renderer's part interiors the input
never saw, as the mottle ratio reads it) is scored for: the demo (G1+G2 as the synthesizer shows them); the L1-best
guess that knows everything but what one view cannot show — the per-pixel median of 16 renders of the true target
with the shirt's print and back redrawn (``hidden_detail_guess``, the error budget's oracle); and single renders with
one redrawn print and back (what a perfect sampler of the embedded people's distribution would paint). Per guess:
the mottle ratio (median over pairs), the same on the torso alone, the L1 on unseen pixels (mean) and the L1 on the
body pixels the input saw (mean); and by body region, the share of the truth's squared-Laplacian energy on the unseen
body (summed over the pairs), and the demo's energy there against the truth's.
Run: ``python benchmarks/notes/2026-12-mottle-and-l1.py [SPLIT ...]`` (default ``test test_hard``).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic.hidden_detail import hidden_detail_guess
from posegen_lite.data.synthetic.pairs import plan_pair
from posegen_lite.evaluation.baselines import SourceParts
from posegen_lite.evaluation.metrics import l1_in_mask
from posegen_lite.evaluation.predictors import checkpoint_predictors
from posegen_lite.evaluation.unseen import laplacian_terms, mottle_ratio, unseen_body, unseen_l1
from posegen_lite.geometry.proxy import PART_REGION, REGION_NAMES
from posegen_lite.images import to_uint8
from posegen_lite.models.texture_completion import TEXTURE_SHARE, load_completion
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS

SEEDS = (1, 2, 3, 4)  # one draw each; seed 0 is the median's first draw
TORSO = REGION_NAMES.index("torso")
REGION_OF_PART = np.array((0, *PART_REGION))  # renderer part id + 1 → region


ENERGY: dict[str, np.ndarray] = {}  # "truth" / "demo" → (regions,) summed squared Laplacian on the unseen body


def scores(split: str) -> dict[str, dict[str, list[float]]]:
    spec = DataSpec(data="synthetic", size=(128, 64), people=400, views=8, seed=0, extras=True)
    base = build_dataset(spec, split)
    pairs = SourceParts(base)
    far = [i for i in range(len(base)) if abs((float(base[i]["yaw"]) + 180) % 360 - 180) >= 90]
    net = load_completion(COMPLETION_WEIGHTS)
    demo = checkpoint_predictors(DEMO_WEIGHTS, "cpu", " + blend", 6, TEXTURE_SHARE, net)["G1+G2 + blend"]
    names = ["demo", "median of 16", *[f"one draw (seed {s})" for s in SEEDS]]
    out: dict[str, dict[str, list[float]]] = {k: {"mottle": [], "torso": [], "l1": [], "seen": []} for k in names}
    ENERGY.update(truth=np.zeros(len(REGION_NAMES)), demo=np.zeros(len(REGION_NAMES)))
    for start in range(0, len(far), 16):
        idx = far[start : start + 16]
        batch = next(iter(DataLoader(Subset(pairs, idx), batch_size=len(idx))))
        plans = [plan_pair(base.config, split, i) for i in idx]
        with torch.no_grad():
            guesses = {"demo": to_uint8(demo(batch))}
        guesses["median of 16"] = hidden_detail_guess(plans, samples=16, supersample=base.config.supersample)
        for seed in SEEDS:
            one = hidden_detail_guess(plans, samples=1, seed=seed, supersample=base.config.supersample)
            guesses[f"one draw (seed {seed})"] = one
        truth = to_uint8(batch["image_b"])
        for i in range(len(idx)):
            region = unseen_body(batch, i)
            parts = np.asarray(batch["parts_b"][i]).astype(int)
            regions = REGION_OF_PART[(parts + 1).clip(0, len(REGION_OF_PART) - 1)]
            torso = region & (regions == TORSO)
            for who, image in (("truth", truth[i]), ("demo", np.asarray(guesses["demo"][i]))):
                terms = laplacian_terms(image, region)[0]
                ENERGY[who] += np.bincount(regions.ravel(), terms.ravel(), len(REGION_NAMES))
            mask, vis = np.asarray(batch["mask_b"][i, 0]), np.asarray(batch["visibility"][i, 0])
            for name, guess in guesses.items():
                g = np.asarray(guess[i])
                out[name]["mottle"].append(mottle_ratio(g, truth[i], region))
                out[name]["torso"].append(mottle_ratio(g, truth[i], torso))
                out[name]["l1"].append(unseen_l1(g, truth[i], mask, vis))
                out[name]["seen"].append(l1_in_mask(g, truth[i], (mask > 0.5) & (vis > 0.5)))
    return out


def main(splits: list[str]) -> None:
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", RuntimeWarning)  # a pair with no unseen torso has an undefined torso ratio
    for split in splits:
        t0 = time.time()
        rows = scores(split)
        draws = [k for k in rows if k.startswith("one draw")]
        rows[f"one draw, {len(draws)} seeds pooled"] = {m: sum((rows[k][m] for k in draws), []) for m in rows["demo"]}
        print(f"\n{split}: {len(rows['demo']['l1'])} pairs with |yaw| ≥ 90°, {time.time() - t0:.0f} s\n")
        print("| guess | mottle (median) | mottle on the torso (median) | L1 on unseen pixels | L1 on seen pixels |")
        print("|---|--:|--:|--:|--:|")
        share, ratio = ENERGY["truth"] / ENERGY["truth"].sum(), ENERGY["demo"] / np.maximum(ENERGY["truth"], 1e-12)
        print("by region (truth's share, demo ÷ truth):", {n: (round(float(a), 2), round(float(b), 2))
              for n, a, b in zip(REGION_NAMES[1:], share[1:], ratio[1:], strict=True)})  # fmt: skip
        for name, r in rows.items():
            figures = f"{np.nanmedian(r['mottle']):.2f} | {np.nanmedian(r['torso']):.2f} | {np.nanmean(r['l1']):.4f}"
            figures += f" | {np.nanmean(r['seen']):.4f}"
            print(f"| {name} | {figures} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["test", "test_hard"])
