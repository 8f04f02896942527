"""The background the input's body covered: the networks' pixels there against a fill from the background around it.

Where the input's body was and the target's is not (``geometry/warp.uncovered_background``), the target view
shows background the input never showed. A U-Net whose first skip carries I_A to the same place in the image
paints faint copies of the input's limbs there ("ghosts"); ``warp.fill_uncovered`` replaces them by a pull-push
fill from the background around them, as ``NovelViewSynthesizer`` does by default. For every held-out pair of
``--splits`` this measures the L1 (in [0, 1] units, against the rendered target) of G1+G2's output and of the
filled output:

* in the uncovered region (its pixels the renderer shows as background),
* in the rest of the background (outside the grown target silhouette and the region): what "clean" looks like,
* in the target body (unchanged by construction), and over the whole image.

Run: ``python benchmarks/bench_background.py [--checkpoint posegen_lite/assets/demo_128x64.pt] [--limit N]``.
Writes ``<out>/background.md`` (table + provenance), ``<out>/bench_background.json`` and
``<out>/background.png`` (per row: input, G1+G2, the uncovered region, filled, target — side views of ``test``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info

from posegen_lite.data.datasets import DataSpec, synthetic_config
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.data.synthetic.pairs import plan_pair
from posegen_lite.geometry.warp import (
    UNCOVER_GROW_TARGET,
    fill_uncovered,
    grow_mask,
    proxy_maps,
    proxy_silhouette,
    uncovered_background,
)
from posegen_lite.images import save_image, to_uint8
from posegen_lite.models.inputs import g1_extras, g2_extras
from posegen_lite.models.weights import load_models
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

RESULTS = Path(__file__).resolve().parent / "results" / "background"
REGIONS = ("uncovered", "rest of background", "body", "image")


def source_silhouettes(config, split: str, indices: list[int]) -> torch.Tensor:
    """The body proxy's silhouette in each pair's *input* view ``(B, 1, H, W)``."""
    plans = [plan_pair(config, split, i) for i in indices]
    joints = np.stack([p.body.joints3d for p in plans])
    cams = [p.cameras[0] for p in plans]
    return proxy_maps(joints, joints, cams, cams).source_silhouette


def outputs(models: dict, batch: dict) -> torch.Tensor:
    """G1+G2 (or G1 alone) on a batch with the proxy extras, ``(B, 3, H, W)`` in [-1, 1]."""
    g1, g2 = models["g1"], models.get("g2")
    coarse = g1(batch["image_a"], batch["pose_b"], **g1_extras(g1, batch))
    return coarse if g2 is None else g2(batch["image_a"], coarse, batch["mask_b"], **g2_extras(g2, batch))


def region_masks(batch: dict, source: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four regions of ``REGIONS`` as ``(B, 1, H, W)`` masks, from the renderer's exact parts."""
    target = proxy_silhouette(batch["proxy_parts_b"])
    background = (batch["parts_b"] < 0)[:, None].float()
    uncovered = uncovered_background(source, target)
    rest = background * (1 - grow_mask(target, UNCOVER_GROW_TARGET)) * (1 - uncovered)
    return {
        "uncovered": uncovered * background,
        "rest of background": rest,
        "body": 1 - background,
        "image": torch.ones_like(background),
    }


def evaluate_split(models: dict, config, split: str, limit: int, batch_size: int) -> dict:
    ds = SyntheticPairs(config, split, extras=True)
    indices = list(range(min(limit, len(ds))))
    sums = {(r, k): 0.0 for r in REGIONS for k in ("raw", "filled")}
    pixels = dict.fromkeys(REGIONS, 0.0)
    for start in range(0, len(indices), batch_size):
        chunk = indices[start : start + batch_size]
        batch = next(iter(DataLoader(Subset(ds, chunk), batch_size=len(chunk))))
        source = source_silhouettes(config, split, chunk)
        raw = outputs(models, batch)
        filled = fill_uncovered(raw, source, proxy_silhouette(batch["proxy_parts_b"]))
        err = {k: (x - batch["image_b"]).abs().mean(1, keepdim=True) / 2 for k, x in (("raw", raw), ("filled", filled))}
        for name, mask in region_masks(batch, source).items():
            pixels[name] += float(mask.sum())
            for k in ("raw", "filled"):
                sums[(name, k)] += float((err[k] * mask).sum())
    total = float(len(indices) * np.prod(ds[0]["image_b"].shape[1:]))
    out = {"pairs": len(indices), "uncovered_share": pixels["uncovered"] / total}
    for name in REGIONS:
        for k in ("raw", "filled"):
            out[f"l1_{name.replace(' ', '_')}_{k}"] = sums[(name, k)] / max(pixels[name], 1.0)
    return out


def picture(models: dict, config, rows: int = 4) -> np.ndarray:
    """Side views (|yaw| 60–120°) of ``test``: input, G1+G2, the uncovered region, filled, target."""
    ds = SyntheticPairs(config, "test", extras=True)
    picks = [i for i in range(len(ds)) if 60 <= abs(float(ds[i]["yaw"])) <= 120][:rows]
    batch = next(iter(DataLoader(Subset(ds, picks), batch_size=len(picks))))
    source = source_silhouettes(config, "test", picks)
    raw = outputs(models, batch)
    target = proxy_silhouette(batch["proxy_parts_b"])
    filled = fill_uncovered(raw, source, target)
    region = uncovered_background(source, target).expand_as(raw) * 2 - 1
    columns = [batch["image_a"], raw, region, filled, batch["image_b"]]
    tiles = [np.concatenate([to_uint8(c[i : i + 1])[0] for c in columns], axis=1) for i in range(len(picks))]
    return np.concatenate(tiles, axis=0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEMO_WEIGHTS, help="checkpoint file or run dir")
    parser.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--limit", type=int, default=320, help="pairs per split")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    models = {k: m.eval() for k, m in load_models(args.checkpoint, device="cpu").items()}
    if models["g1"].config.warp == "none" and "g2" not in models:
        parser.error("the fill needs a G1 or G2 that builds the body proxy (PG2's networks do not)")
    h, w = models["g1"].config.height, models["g1"].config.width
    config = synthetic_config(DataSpec(size=(h, w), people=args.people, views=args.views, extras=True))
    results = {}
    for split in args.splits:
        results[split] = evaluate_split(models, config, split, args.limit, args.batch_size)
        print(split, json.dumps(results[split]), flush=True)
    header = "| split | pairs | region share | " + " | ".join(f"L1 {r}: output → filled" for r in REGIONS) + " |"
    lines = [header, "|---|--:|--:|" + "--:|" * len(REGIONS)]
    for split, r in results.items():
        keys = [f"l1_{n.replace(' ', '_')}" for n in REGIONS]
        cells = [f"{r[k + '_raw']:.4f} → {r[k + '_filled']:.4f}" for k in keys]
        lines.append(f"| {split} | {r['pairs']} | {100 * r['uncovered_share']:.1f} % | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "background.md").write_text(table + f"\n\ncheckpoint: {args.checkpoint}\n")
    image = picture(models, config)
    zoom = max(1, 256 // h)
    save_image(args.out / "background.png", image.repeat(zoom, axis=0).repeat(zoom, axis=1))
    summary = {"machine": machine_info(), "checkpoint": str(args.checkpoint), "results": results}
    (args.out / "bench_background.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
