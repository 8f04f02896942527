"""Judging a G1 that samples (the conditional VAE, ``models/cvae.py``): does it vary where it should?

Two questions, per held-out pair and ``k`` samples from the learned prior:

* **Diversity where it belongs** — the per-pixel standard deviation across the samples, averaged over the
  target body's pixels the input *saw* (proxy visibility 1) and over those it never saw (visibility 0). A
  sampler that guesses only the unknown has ``unseen ≫ seen``.
* **Best of k** — the L1 in the target body of the sample closest to the truth. If the samples are
  plausible, one of ``k`` lands nearer the truth than the single averaged answer of a deterministic G1;
  if they are noise, none does.

Images are ``(K, B, 3, H, W)`` float32 in [-1, 1] (``draw_samples``); L1 is reported in [0, 1] units, as
``metrics.l1_in_mask``.
"""

from __future__ import annotations

import torch

from posegen_lite.models.inputs import g1_extras


@torch.no_grad()
def draw_samples(g1: torch.nn.Module, batch: dict, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` samples of a conditional-VAE G1 for every pair of ``batch`` (needs ``flow``/``visibility`` when
    G1 warps) → ``(k, B, 3, H, W)`` CPU float32 in [-1, 1]; reproducible for ``seed`` (a CPU generator)."""
    device = next(g1.parameters()).device
    a, pose = batch["image_a"].to(device), batch["pose_b"].to(device)
    extras = g1_extras(g1, batch, device)
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for _ in range(k):
        noise = torch.randn(g1.latent_shape(a.shape[0]), generator=gen).to(device)
        out.append(g1(a, pose, **extras, noise=noise).float().cpu())
    return torch.stack(out)


def spread_map(samples: torch.Tensor) -> torch.Tensor:
    """Per-pixel standard deviation across the samples, averaged over RGB, in [0, 1] units:
    ``(K ≥ 2, B, 3, H, W)`` in [-1, 1] → ``(B, 1, H, W)``."""
    if samples.dim() != 5 or samples.shape[0] < 2:
        raise ValueError(f"samples must be (K ≥ 2, B, 3, H, W), got {tuple(samples.shape)}")
    return (samples.float() / 2).std(dim=0, unbiased=False).mean(dim=1, keepdim=True)


def sample_spread(samples: torch.Tensor, mask_b: torch.Tensor, visibility: torch.Tensor) -> dict[str, float]:
    """Mean per-pixel standard deviation across the samples (over K, averaged over RGB; in [0, 1] units) on
    the target body's seen pixels (``mask_b · visibility``) and unseen ones (``mask_b · (1 − visibility)``).

    ``samples (K, B, 3, H, W)``, ``mask_b``/``visibility`` ``(B, 1, H, W)`` in {0, 1}. NaN for an empty set.
    """
    std = spread_map(samples)
    body = mask_b.float() > 0.5
    seen = body & (visibility.float() > 0.5)
    unseen = body & ~seen
    mean = lambda m: float(std[m].mean()) if m.any() else float("nan")  # noqa: E731
    return {"std_seen": mean(seen), "std_unseen": mean(unseen)}


def body_l1(images: torch.Tensor, target: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
    """L1 in the target body per pair (in [0, 1] units): ``images`` ``(..., B, 3, H, W)`` against ``target``
    ``(B, 3, H, W)`` with ``mask_b (B, 1, H, W)`` → ``(..., B)``; NaN where the mask is empty."""
    diff = ((images.float() - target.float()).abs() / 2).mean(dim=-3)  # (..., B, H, W)
    m = (mask_b.float() > 0.5).squeeze(1)  # (B, H, W)
    total = (diff * m).sum(dim=(-2, -1))
    count = m.sum(dim=(-2, -1)).float()
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))


def best_of_k_l1(samples: torch.Tensor, target: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
    """The L1 in the body of the sample nearest the truth, per pair: ``(K, B, 3, H, W)`` → ``(B,)``."""
    return body_l1(samples, target, mask_b).min(dim=0).values
