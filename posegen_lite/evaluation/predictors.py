"""Predictors: anything that maps a collated pair batch to predicted target images, models and baselines alike.

* ``IdentityBaseline`` — returns ``I_A``: what a model scores if it learns nothing about the pose change.
* ``MeanImageBaseline`` — the per-pixel mean of N training targets: what a model scores if it learns only
  "a blurry person in the middle".
* ``G1Predictor`` / ``G1G2Predictor`` — the networks, loaded through ``models.weights`` (never the training loop).
* ``WarpBaseline`` — returns the warped input W(I_A) where the body proxy says it is visible, ``I_A`` elsewhere:
  what pasting the proxy warp scores without any learning.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from posegen_lite.models.g2 import keep_pasted
from posegen_lite.models.inputs import EXTRAS_HINT, batch_maps, g1_inputs, g2_inputs
from posegen_lite.models.texture_completion import TextureCompletionNet

Predictor = Callable[[dict], torch.Tensor]
"""Anything that maps a collated pair batch to predicted target images ``(B, 3, H, W)`` float in [-1, 1]."""

# --- predictors ------------------------------------------------------------------------------------------


class IdentityBaseline:
    """Predicts the condition image: ``I_B ≈ I_A`` (``(B, 3, H, W)`` in [-1, 1])."""

    def __call__(self, batch: dict) -> torch.Tensor:
        return batch["image_a"]


class WarpBaseline:
    """Predicts ``I_A`` carried by the body-proxy flow where visible, ``I_A`` elsewhere (``(B, 3, H, W)``).
    Needs a batch with ``flow``/``visibility`` (a dataset built with extras)."""

    def __call__(self, batch: dict) -> torch.Tensor:
        from posegen_lite.models.warping import warp_image

        if "flow" not in batch or "visibility" not in batch:
            raise ValueError("WarpBaseline needs flow and visibility in the batch (dataset extras)")
        vis = batch["visibility"]
        return warp_image(batch["image_a"], batch["flow"], vis) + batch["image_a"] * (1 - vis)


class MeanImageBaseline:
    """Predicts the same image for every sample: the per-pixel mean of training targets ``I_B``.

    ``mean``: ``(3, H, W)`` float in [-1, 1]. Build it with ``MeanImageBaseline.fit(train_set, n)``.
    """

    def __init__(self, mean: torch.Tensor) -> None:
        if mean.dim() != 3 or mean.shape[0] != 3:
            raise ValueError(f"the mean image must be (3, H, W), got {tuple(mean.shape)}")
        self.mean = mean.float()

    @classmethod
    def fit(cls, dataset: Dataset, n: int = 256, batch_size: int = 64, seed: int = 0) -> MeanImageBaseline:
        """Average ``image_b`` over ``n`` training samples drawn without replacement (seeded)."""
        if len(dataset) == 0:
            raise ValueError("cannot fit the mean-image baseline on an empty dataset")
        n = min(n, len(dataset))
        indices = np.random.default_rng(seed).choice(len(dataset), size=n, replace=False)
        total, count = None, 0
        for batch in DataLoader(Subset(dataset, sorted(indices.tolist())), batch_size=batch_size):
            b = batch["image_b"].double()
            total = b.sum(0) if total is None else total + b.sum(0)
            count += b.shape[0]
        return cls((total / count).float())

    def __call__(self, batch: dict) -> torch.Tensor:
        b, _, h, w = batch["image_b"].shape
        if self.mean.shape[1:] != (h, w):
            raise ValueError(f"mean image is {tuple(self.mean.shape[1:])}, the batch is {(h, w)}")
        return self.mean.unsqueeze(0).expand(b, -1, -1, -1)


class BlendInputs(NamedTuple):
    """What painting a batch's target views from each input's texture reads (``blend_inputs``)."""

    cameras: list  # per pair, the input's and the target's ``Camera``
    joints_a: np.ndarray  # (B, 18, 3) float64, the inputs' 3D joints
    inputs: torch.Tensor  # (B, H, W, 3) float32, 0–255: the inputs
    shade_a: torch.Tensor  # (B, 1, H, W): the renderer's shade of each input's proxy
    shade_b: torch.Tensor  # (B, H, W): … of each target's
    facing_a: torch.Tensor  # (B, 1, H, W): how squarely each input saw its pixels
    views: torch.Tensor  # (B, H, W, 3) float32, 0–255: the predicted views
    surface: torch.Tensor  # (B, H, W, 3): the targets' surface coordinates


def blend_inputs(images: torch.Tensor, batch: dict) -> BlendInputs:
    """``BlendInputs`` of predicted ``images`` ``(B, 3, H, W)`` in [-1, 1] and a synthetic ``batch`` with extras."""
    from posegen_lite.geometry.camera import camera_from_vector
    from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
    from posegen_lite.geometry.texture import view_surface

    H, W = images.shape[-2:]
    cams = [[camera_from_vector(c.numpy(), W, H) for c in pair] for pair in batch["cameras"]]
    ja, jb = batch["joints3d_a"].double().numpy(), batch["joints3d_b"].double().numpy()
    facing = [torch.from_numpy(view_surface(j, c[0]).facing) for j, c in zip(ja, cams, strict=True)]
    return BlendInputs(
        cams,
        ja,
        ((batch["image_a"].float() + 1) * 127.5).permute(0, 2, 3, 1),
        shading_maps(ja, [c[0] for c in cams], RENDER_LIGHT)[:, None],
        shading_maps(jb, [c[1] for c in cams], RENDER_LIGHT),
        torch.stack(facing)[:, None],
        ((images.float().cpu() + 1) * 127.5).permute(0, 2, 3, 1),
        batch["proxy_surface_b"][:, 2:].float().permute(0, 2, 3, 1),
    )


class G1Predictor:
    """Stage II alone: ``Î_B1 = G1(I_A, P_B)``. Runs in float32 under ``torch.no_grad`` on ``device``
    (default: the model's device); returns CPU float32 ``(B, 3, H, W)`` in [-1, 1].

    ``fill_ring``: ``None`` returns the network's output as it is. An int ≥ 0 fills the background as the
    synthesizer does (``warp.fill_uncovered``: the background the input's body covered, and the ring of that
    many pixels round the target's proxy silhouette), which needs the batch's ``proxy_silhouette_a`` and
    ``proxy_parts_b`` (dataset extras), and a pair whose ``yaw`` is a whole number of turns (the input's own view)
    gets ``I_A`` itself: what the demo and the widget show. ``texture_share`` (with the fill): the pixels the
    input did not see mixed with the input's texture re-lit in the target view, as the synthesizer's
    ``unseen="blend"`` (``_unseen``; synthetic extras only, whose ``cameras`` it needs), the texture completed by
    ``completion`` when given (``texture_completion.learned_completion``)."""

    def __init__(
        self,
        g1: torch.nn.Module,
        device: str | torch.device | None = None,
        fill_ring: int | None = None,
        texture_share: float | None = None,
        completion: TextureCompletionNet | None = None,
    ) -> None:
        self.completion = completion
        self.device = torch.device(device) if device is not None else next(g1.parameters()).device
        self.g1 = g1.to(self.device).eval()
        if fill_ring is not None and fill_ring < 0:
            raise ValueError(f"fill_ring must be None or ≥ 0, got {fill_ring}")
        if texture_share is not None and not 0.0 <= texture_share <= 1.0:
            raise ValueError(f"texture_share must be None or in [0, 1], got {texture_share}")
        self.fill_ring = fill_ring
        self.texture_share = texture_share

    def _fill(self, images: torch.Tensor, batch: dict) -> torch.Tensor:
        if self.fill_ring is None:
            return images
        from posegen_lite.geometry.warp import fill_uncovered

        if "proxy_silhouette_a" not in batch or "proxy_parts_b" not in batch:
            raise ValueError("filling the background needs proxy_silhouette_a and proxy_parts_b (dataset extras)")
        source = batch["proxy_silhouette_a"].to(self.device)
        target = (batch["proxy_parts_b"] >= 0).unsqueeze(1).to(self.device)
        filled = fill_uncovered(images, source, target, ring=self.fill_ring)
        # As the synthesizer: the input's own view is the input
        return torch.where(self._same_view(batch), batch["image_a"].to(self.device, filled.dtype), filled)

    def _same_view(self, batch: dict) -> torch.Tensor:
        """``(B, 1, 1, 1)`` bool: the pairs whose target is the input's own view (a pure-yaw pair of synthetic views
        at a whole number of turns; NaN, a real pair's unknown yaw, is never one)."""
        yaw = torch.as_tensor(batch["yaw"], dtype=torch.float64).reshape(-1)
        return (torch.remainder(yaw, 360.0) == 0).to(self.device).view(-1, 1, 1, 1)

    def _coarse(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G1's view, filled, and its paste weight (``G1.coarse_and_paste``)."""
        a, pose = batch["image_a"].to(self.device), batch["pose_b"].to(self.device)
        extras = g1_inputs(self.g1.config, batch_maps(batch), self.device, EXTRAS_HINT)
        out, paste = self.g1.coarse_and_paste(a, pose, **extras)
        return self._fill(out, batch), paste

    def _unseen(self, images: torch.Tensor, batch: dict) -> torch.Tensor:
        """With ``texture_share`` and the fill, the synthesizer's ``unseen="blend"`` (``unseen.blend_views``): each
        pair's target body pixels mixed with the input's completed albedo texture re-lit by the renderer's light
        (``texture_completion.albedo_texture``, ``texture.mix_texture``; where the input saw them, the texture of
        its wholly covered pixels), and those it saw squarely its own colour re-lit (``warping.relight_seen``); the
        input's own view stays the input."""
        if self.texture_share is None or self.fill_ring is None or "cameras" not in batch:
            return images
        from posegen_lite.geometry.shading import RENDER_LIGHT
        from posegen_lite.geometry.texture import mix_texture
        from posegen_lite.models.texture_completion import albedo_texture
        from posegen_lite.models.warping import relight_seen

        cams, ja, inputs, shade_a, shade_b, facing_a, views, surface = blend_inputs(images, batch)
        unseen = batch["visibility"][:, 0] < 0.5
        mixed = []
        for k in range(len(views)):  # the textures as ``unseen.lit_view`` makes them, painted as ``blend_views``
            args = (inputs[k].numpy(), ja[k], cams[k][0], RENDER_LIGHT)
            texture, seen_texture = (albedo_texture(*args, completion=self.completion, whole_pixels=whole)
                                     for whole in (False, True))  # fmt: skip
            where = (batch["proxy_parts_b"][k : k + 1], surface[k : k + 1])
            view = mix_texture(
                views[k : k + 1], texture, *where, unseen[k : k + 1], self.texture_share, shade_b[k : k + 1]
            )
            mixed.append(
                mix_texture(view, seen_texture, *where, ~unseen[k : k + 1], self.texture_share, shade_b[k : k + 1])[0]
            )
        painted = torch.stack(mixed).permute(0, 3, 1, 2)
        seen = relight_seen(painted, inputs.permute(0, 3, 1, 2), batch["flow"].float(), batch["visibility"].float(),
                            shade_a, facing_a, shade_b[:, None])  # fmt: skip
        out = (seen.clamp(0, 255) / 127.5 - 1).to(images.device, images.dtype)
        # every body pixel painted; elsewhere bit for bit (the 0–255 scale's round trip is not)
        body = (batch["proxy_parts_b"] >= 0)[:, None]
        return torch.where(body.to(images.device) & ~self._same_view(batch), out, images)

    def _outline(self, images: torch.Tensor, batch: dict) -> torch.Tensor:
        """With the fill, the outline antialiased from the target proxy's sub-pixel coverage, the synthesizer's last
        step (``geometry.outline``; the batch's ``proxy_coverage_b``, synthetic extras only); the input's own view
        stays the input."""
        if self.fill_ring is None or "proxy_coverage_b" not in batch:
            return images
        from posegen_lite.geometry.outline import soften_outline

        on = (batch["proxy_parts_b"] >= 0).unsqueeze(1).to(self.device, images.dtype)
        soft = soften_outline(images, on, batch["proxy_coverage_b"].to(self.device))
        return torch.where(self._same_view(batch), images, soft)

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        return self._outline(self._unseen(self._coarse(batch)[0], batch), batch).float().cpu()


class G1G2Predictor(G1Predictor):
    """Stage II + III: ``Î_B2 = G2(I_A, Î_B1)`` (G2 returns the refined image itself), kept to G1's view where
    G1 pasted the input (``models.g2.keep_pasted``), as the synthesizer shows it."""

    def __init__(
        self,
        g1: torch.nn.Module,
        g2: torch.nn.Module,
        device: str | torch.device | None = None,
        fill_ring: int | None = None,
        texture_share: float | None = None,
        completion: TextureCompletionNet | None = None,
    ) -> None:
        super().__init__(g1, device, fill_ring, texture_share, completion)
        self.g2 = g2.to(self.device).eval()

    @torch.no_grad()
    def __call__(self, batch: dict) -> torch.Tensor:
        # As the synthesizer: G2 refines the (filled) coarse image, and its output is filled again.
        a, mask = batch["image_a"].to(self.device), batch["mask_b"].to(self.device)
        extras = g2_inputs(self.g2.config, batch_maps(batch), self.device, EXTRAS_HINT)
        coarse, paste = self._coarse(batch)
        refined = keep_pasted(coarse, self.g2(a, coarse, mask, **extras), paste)
        return self._outline(self._unseen(self._fill(refined, batch), batch), batch).float().cpu()


def checkpoint_predictors(
    checkpoint: str | Path,
    device: str | torch.device = "cpu",
    suffix: str = "",
    fill_ring: int | None = None,
    texture_share: float | None = None,
    completion: TextureCompletionNet | None = None,
) -> dict[str, Predictor]:
    """``{"G1": …}`` for a Stage II checkpoint, ``{"G1": …, "G1+G2": …}`` for Stage III (names + ``suffix``);
    ``fill_ring``, ``texture_share``, ``completion``: see ``G1Predictor``."""
    from posegen_lite.models.weights import load_models

    models = load_models(checkpoint, device=device)
    share = (fill_ring, texture_share, completion)
    out: dict[str, Predictor] = {f"G1{suffix}": G1Predictor(models["g1"], None, *share)}
    if "g2" in models:
        out[f"G1+G2{suffix}"] = G1G2Predictor(models["g1"], models["g2"], None, *share)
    return out
