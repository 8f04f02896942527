"""Experiment: the whole proxy body rendered from the re-lit texture, against painting only what the input did not see.

Rules, each applied to the shipped G1+G2 (and G1 alone) as the demo shows them, on ``val``: ``unseen`` (the rule
shipped before: the texture paints the target pixels the input did not see, the squarely seen ones are the input's
colour re-lit, every other seen pixel the networks'); ``body`` (the texture paints every pixel of the target proxy's
body, then the squarely seen ones are re-lit); ``body, whole pixels`` (as ``body``, but where the input saw the
point from a second texture unwrapped only from the input pixels the proxy covers wholly: an outline pixel mixes
the body with the background — the rule shipped since). Prints the protocol's L1 in the body (and × identity), on
the seen and unseen body, the print leak, the sharpness ratio and SSIM. Run:
``python benchmarks/notes/2026-12-rendered-body.py [PAIRS]`` (default 320).
"""

from __future__ import annotations

import sys
import warnings

import torch

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation.predictors import G1G2Predictor, G1Predictor, IdentityBaseline, blend_inputs
from posegen_lite.evaluation.protocol import evaluate
from posegen_lite.geometry.shading import RENDER_LIGHT
from posegen_lite.geometry.texture import mix_texture
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.texture_completion import TEXTURE_SHARE, albedo_texture, load_completion
from posegen_lite.models.warping import relight_seen
from posegen_lite.models.weights import load_models
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS

RULES = ("unseen", "body", "body, whole pixels")


def painted(predictor: G1Predictor, rule: str, images: torch.Tensor, batch: dict) -> torch.Tensor:
    """``G1Predictor._unseen`` under ``rule`` (the shipped rule is the predictor's own)."""
    if rule == "body, whole pixels":
        return G1Predictor._unseen(predictor, images, batch)
    cams, ja, inputs, shade_a, shade_b, facing_a, views, surface = blend_inputs(images, batch)
    body = batch["proxy_parts_b"] >= 0
    where = body if rule == "body" else body & (batch["visibility"][:, 0] < 0.5)
    mixed = torch.stack([
        mix_texture(views[k : k + 1], albedo_texture(inputs[k].numpy(), ja[k], cams[k][0], RENDER_LIGHT,
                                                        completion=predictor.completion),
                    batch["proxy_parts_b"][k : k + 1], surface[k : k + 1], where[k : k + 1], predictor.texture_share,
                    shade_b[k : k + 1])[0]
        for k in range(len(views))
    ]).permute(0, 3, 1, 2)  # fmt: skip
    seen = relight_seen(mixed, inputs.permute(0, 3, 1, 2), batch["flow"].float(), batch["visibility"].float(),
                        shade_a, facing_a, shade_b[:, None])  # fmt: skip
    out = (seen.clamp(0, 255) / 127.5 - 1).to(images.device, images.dtype)
    touched = where[:, None] | (seen != mixed).any(1, keepdim=True)
    return torch.where(touched & ~predictor._same_view(batch), out, images)


class Rule(G1G2Predictor):
    """The shipped G1+G2 (``with_g2=False``: G1 alone) with the texture painted by ``rule``."""

    def __init__(self, g1, g2, net, rule: str, with_g2: bool = True) -> None:
        super().__init__(g1, g2, None, OUTLINE_RING, TEXTURE_SHARE, net)
        self.rule, self.with_g2 = rule, with_g2

    def _unseen(self, images: torch.Tensor, batch: dict) -> torch.Tensor:
        return painted(self, self.rule, images, batch)

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        return super().__call__(batch) if self.with_g2 else G1Predictor.__call__(self, batch)


def main(pairs: int) -> None:
    models, net = load_models(DEMO_WEIGHTS), load_completion(COMPLETION_WEIGHTS)
    ds = build_dataset(DataSpec(data="synthetic", size=(128, 64), people=400, views=8, seed=0, extras=True), "val")
    predictors = {f"G1+G2, {r}": Rule(models["g1"], models["g2"], net, r) for r in RULES}
    predictors["G1, body, whole pixels"] = Rule(models["g1"], models["g2"], net, "body, whole pixels", False)
    predictors = {"identity": IdentityBaseline(), **predictors}
    summary = evaluate(predictors, ds, batch_size=32, limit=pairs, split="val").summary
    identity = summary.pop("identity")["masked_l1"]["mean"]
    keys = ("masked_l1", "masked_l1_seen", "masked_l1_unseen", "print_leak", "sharpness_ratio", "ssim")
    print(f"val, {pairs} pairs; identity L1 in the body {identity:.4f}")
    print("| rule | L1 in the body (× identity) | seen | unseen | print leak | sharpness ratio | SSIM |")
    for name, s in summary.items():
        m = {k: s[k]["mean"] for k in keys}
        print(
            f"| {name} | {m['masked_l1']:.4f} ({m['masked_l1'] / identity:.3f}×) | {m['masked_l1_seen']:.4f} | "
            f"{m['masked_l1_unseen']:.4f} | {m['print_leak']:.4f} | {m['sharpness_ratio']:.3f} | {m['ssim']:.4f} |"
        )


if __name__ == "__main__":
    torch.set_num_threads(2)
    warnings.simplefilter("ignore", RuntimeWarning)  # pairs without a print leak to measure
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 320)
