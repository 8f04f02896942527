"""The shapes G1's ``forward`` accepts beyond PG2's two inputs, each mistake refused with one line that names it:
the proxy warp's flow and visibility, the conditional VAE's noise / target / mask, the texture-space surface map."""

from __future__ import annotations

import torch

from posegen_lite.models.cvae import SURFACE_CHANNELS


def check_warp(image_a: torch.Tensor, flow: torch.Tensor | None, visibility: torch.Tensor | None, mode: str) -> None:
    if flow is None or visibility is None:
        raise ValueError(
            f"G1 (warp={mode!r}) needs the body-proxy flow and visibility "
            "(e.g. SyntheticPairs(extras=True) or geometry.warp.proxy_maps)"
        )
    b, _, h, w = image_a.shape
    if tuple(flow.shape) != (b, 2, h, w) or tuple(visibility.shape) != (b, 1, h, w):
        raise ValueError(
            f"G1: flow must be (B, 2, H, W) and visibility (B, 1, H, W) = {(b, 2, h, w)}, {(b, 1, h, w)}; "
            f"got {tuple(flow.shape)}, {tuple(visibility.shape)}"
        )


def check_latent(
    image_a: torch.Tensor,
    noise: torch.Tensor | None,
    image_b: torch.Tensor | None,
    mask_b: torch.Tensor | None,
    latent_shape: tuple[int, ...],
) -> None:
    mask_shape = (image_a.shape[0], 1, *image_a.shape[2:])
    if mask_b is not None and (image_b is None or tuple(mask_b.shape) != mask_shape):
        raise ValueError(
            f"G1: mask_b goes with image_b (training) and must be (B, 1, H, W) = {mask_shape}, "
            f"got {tuple(mask_b.shape)}"
        )
    if noise is not None and tuple(noise.shape) != latent_shape:
        raise ValueError(f"G1: noise must be {latent_shape}, got {tuple(noise.shape)}")
    if image_b is not None and tuple(image_b.shape) != tuple(image_a.shape):
        raise ValueError(f"G1: image_b must be shaped like image_a {tuple(image_a.shape)}, got {tuple(image_b.shape)}")


def check_surface(image_a: torch.Tensor, surface: torch.Tensor | None, wanted: bool) -> None:
    if not wanted:
        if surface is not None:
            raise ValueError("surface is for a G1 with G1Config.latent_surface (texture-space latent)")
        return
    if surface is None:
        raise ValueError(
            "this G1's latent works in the body proxy's texture space: pass surface (B, 5, H, W) "
            "(geometry.warp.surface_map; the dataset key proxy_surface_b with extras)"
        )
    expected = (image_a.shape[0], SURFACE_CHANNELS, *image_a.shape[2:])
    if tuple(surface.shape) != expected:
        raise ValueError(f"G1: surface must be (B, {SURFACE_CHANNELS}, H, W) = {expected}, got {tuple(surface.shape)}")
