"""Experiment: the input's outline pixels in its unwrapped texture, and the re-lit texture on the whole body, on `val`.

``rim``: the blend's texture (``texture_completion.albedo_texture``) unwrapped from every input pixel on the proxy
(``all``, as shipped), only those the proxy covers wholly at 2×2 sub-pixels (``whole``; a pixel at the outline mixes
the body with the background), those covered more than half (``half``), every pixel weighted by its coverage
(``soft``), the outline pixels unmixed (``unmix``: less the background's share, the background pulled in from around
the body), or ``whole`` with the parts' mean colours that the completion network reads taken from every pixel
(``stats``): the protocol's L1 in the body, L1 on unseen pixels and print leak of G1+G2 as the demo shows them.
``paint``: with the ``whole`` rule, every pixel of the target proxy's body painted from the re-lit texture (the
squarely seen ones still re-lit from the input), after G2 (``after``: G2's edits painted over) or on G1's view before
G2 (``before``: G2 refines the painted image; ``before, no G2``), against the shipped rule: L1 in the body × identity,
and on the seen body. Run: ``python benchmarks/notes/2026-12-rim-pixels.py rim|paint [PAIRS] [RULE,…]`` (default
320 / 128 pairs, every ``rim`` rule).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

import posegen_lite.models.texture_completion as completion_module
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation.budget import pixel_error
from posegen_lite.evaluation.predictors import EXTRAS_HINT, G1G2Predictor, batch_maps, checkpoint_predictors
from posegen_lite.evaluation.protocol import evaluate, sample_indices
from posegen_lite.geometry.outline import outline_coverage
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS
from posegen_lite.geometry.shading import shading_maps
from posegen_lite.geometry.texture import Texture, unwrap, view_surface
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.images import pull_push_fill
from posegen_lite.models.g2 import keep_pasted
from posegen_lite.models.inputs import g2_inputs
from posegen_lite.models.texture_completion import TEXTURE_SHARE, CompletionInputs, learned_completion, load_completion
from posegen_lite.models.weights import load_models
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS

RIM = {"rule": "all"}
RULES = {
    "all": lambda c: np.ones_like(c),
    "whole": lambda c: (c >= 1.0).astype(np.float32),
    "half": lambda c: (c > 0.5).astype(np.float32),
    "soft": lambda c: c,
    "unmix": lambda c: np.ones_like(c),
    "stats": lambda c: (c >= 1.0).astype(np.float32),
}
STATISTICS: dict[str, Texture | None] = {"texture": None}  # ``stats``: the texture the parts' means are read from
shipped_inputs = completion_module.completion_inputs


def completion_inputs(texture: Texture) -> CompletionInputs:
    """``texture_completion.completion_inputs`` with every part's mean kept colour from ``STATISTICS`` when set."""
    out = shipped_inputs(texture)
    if STATISTICS["texture"] is None:
        return out
    means = 3 * NUM_PROXY_PARTS  # the last channels: every part's mean kept colour
    features = out.features.clone()
    features[:, -means:] = shipped_inputs(STATISTICS["texture"]).features[:, -means:]
    return CompletionInputs(features, out.fill, out.fixed)


def unmixed(colours: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """``colours`` ``(H, W, 3)`` with each partly covered pixel's colour less the background's share, the background
    there pulled in from the uncovered pixels around it (``images.pull_push_fill``)."""
    image = torch.from_numpy(colours).permute(2, 0, 1)[None]
    body = torch.from_numpy(cover > 0)[None, None].float()
    background = pull_push_fill(image, body, 1 - body)[0].permute(1, 2, 0).numpy()
    share = np.clip(cover, 0.25, 1.0)[..., None]
    body_colour = np.clip((colours - (1 - share) * background) / share, 0, 255)
    return np.where(((cover > 0) & (cover < 1))[..., None], body_colour, colours).astype(np.float32)


def albedo_texture(image, joints3d, camera, light, radius_scale=None, person=None, completion=None):
    """``texture_completion.albedo_texture`` with the input pixels weighted by ``RULES[RIM["rule"]]`` of their
    coverage (the embedded people: no ``person`` mask, a light fixed to the camera)."""
    seen = view_surface(joints3d, camera, radius_scale)
    shade = shading_maps(np.asarray(joints3d)[None], [camera], light, radius_scale)[0].numpy()
    cover = outline_coverage(np.asarray(joints3d)[None], [camera], radius_scale=radius_scale)[0, 0].numpy()
    colours = np.asarray(image, np.float32)
    colours = (unmixed(colours, cover) if RIM["rule"] == "unmix" else colours) / shade[..., None]
    weight = seen.facing * RULES[RIM["rule"]](cover)
    partial = unwrap(colours, seen.parts, seen.surface, weight)
    every = unwrap(colours, seen.parts, seen.surface, seen.facing)
    STATISTICS["texture"] = every if RIM["rule"] == "stats" else None
    return learned_completion(completion, partial)


class WholeBody(G1G2Predictor):
    """The blend painting the whole body (``before``: G1's view, before G2; ``after``: G2's), or the shipped rule."""

    rule = "shipped"
    _whole = False

    def _painted(self, batch: dict, facing_a: torch.Tensor) -> torch.Tensor:
        return batch["proxy_parts_b"] >= 0 if self._whole else super()._painted(batch, facing_a)

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        a, mask = batch["image_a"].to(self.device), batch["mask_b"].to(self.device)
        coarse, paste = self._coarse(batch)
        self._whole = True
        if self.rule.startswith("before"):
            coarse = self._unseen(coarse, batch)
        refined = coarse
        if self.rule != "before, no G2":
            extras = g2_inputs(self.g2.config, batch_maps(batch), self.device, EXTRAS_HINT)
            refined = keep_pasted(coarse, self.g2(a, coarse, mask, **extras), paste)
        self._whole = self.rule == "after"
        return self._outline(self._unseen(self._fill(refined, batch), batch), batch).float().cpu()


def rim(pairs: int) -> None:
    spec = DataSpec(data="synthetic", size=(128, 64), people=400, views=8, seed=0, extras=True)
    ds = build_dataset(spec, "val")
    net = load_completion(COMPLETION_WEIGHTS)
    demo = checkpoint_predictors(DEMO_WEIGHTS, "cpu", " + blend", OUTLINE_RING, TEXTURE_SHARE, net)["G1+G2 + blend"]
    print(f"val, {pairs} pairs: L1 in the body, L1 unseen, print leak (means)")
    for rule in sys.argv[3].split(",") if len(sys.argv) > 3 else RULES:
        RIM["rule"] = rule
        summary = evaluate({"demo": demo}, ds, batch_size=32, limit=pairs, split="val").summary["demo"]
        print(rule, *(f"{summary[k]['mean']:.4f}" for k in ("masked_l1", "masked_l1_unseen", "print_leak")))


def paint(pairs: int) -> None:
    RIM["rule"] = "whole"
    models, net = load_models(DEMO_WEIGHTS), load_completion(COMPLETION_WEIGHTS)
    rules = ("shipped", "after", "before", "before, no G2")
    predictors = {}
    for rule in rules:
        predictors[rule] = WholeBody(models["g1"], models["g2"], None, OUTLINE_RING, TEXTURE_SHARE, net)
        predictors[rule].rule = rule
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), extras=True), "val")
    idx = sample_indices(len(ds), pairs)
    body_sum, seen_sum = dict.fromkeys(rules, 0.0), dict.fromkeys(rules, 0.0)
    identity = seen_count = 0.0
    for start in range(0, len(idx), 32):
        b = next(iter(DataLoader(Subset(ds, idx[start : start + 32]), batch_size=len(idx[start : start + 32]))))
        body = b["mask_b"][:, 0] > 0.5
        seen = body & (b["visibility"][:, 0] > 0.5)
        identity += float((pixel_error(b["image_a"], b["image_b"]) * body).sum())
        seen_count += float(seen.sum())
        for rule, predict in predictors.items():
            error = pixel_error(predict(b), b["image_b"])
            body_sum[rule] += float((error * body).sum())
            seen_sum[rule] += float((error * seen).sum())
    print(f"val, {len(idx)} pairs, the 'whole' texture: L1 in the body (× identity), L1 on the seen body")
    for rule in rules:
        print(f"{rule:14s} {body_sum[rule] / identity:.4f}×  seen {seen_sum[rule] / seen_count:.4f}")


if __name__ == "__main__":
    if not hasattr(G1G2Predictor, "_painted"):  # the blend's rule this experiment patches
        sys.exit("this experiment patches the blend as it was before 2026-12-08: run it on a checkout of 6cba50b")
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", RuntimeWarning)  # pairs without a print leak to measure
    completion_module.albedo_texture = albedo_texture  # the predictors import it from the module when they paint
    completion_module.completion_inputs = completion_inputs  # learned_completion reads it from the module
    what = sys.argv[1] if len(sys.argv) > 1 else "rim"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else (320 if what == "rim" else 128)
    {"rim": rim, "paint": paint}[what](count)
