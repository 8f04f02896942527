"""The networks' optional inputs, assembled in one place from Stage I's body-proxy maps (``geometry/warp.ProxyMaps``).

G1 and G2 take tensors: a G1 that warps needs ``flow`` and ``visibility``, a texture-space latent ``surface``; a G2
needs whatever its add-ons read (``g2.PROXY_INPUTS``). ``g1_inputs``/``g2_inputs`` pick them for a config from
``ProxyMaps`` (the pipeline's) or from the maps a collated batch holds (``batch_maps``: the training step and the
evaluation), and refuse with one line naming what is missing and how to get it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import torch

from posegen_lite.geometry.warp import ProxyMaps, proxy_silhouette
from posegen_lite.models.g1 import G1Config
from posegen_lite.models.g2 import G2Config, proxy_inputs

# A collated batch's optional keys (``data/sample.py``) under their ``ProxyMaps`` names.
BATCH_KEYS = {
    "flow": "flow",
    "visibility": "visibility",
    "parts": "proxy_parts_b",
    "surface": "proxy_surface_b",
    "source_silhouette": "proxy_silhouette_a",
}
EXTRAS_HINT = (
    "the batch has none (keys flow, visibility, proxy_parts_b, proxy_surface_b): build the dataset with extras "
    "(SyntheticPairs(extras=True) / DataSpec(extras=True))"
)
PIPELINE_HINT = "pass the body proxy's maps (geometry.warp.source_maps)"

ConfigT = TypeVar("ConfigT", G1Config, G2Config)
Maps = ProxyMaps | Mapping[str, torch.Tensor | None] | None
"""Body-proxy maps: ``ProxyMaps``, or some of its fields by name (``batch_maps``), or None (no proxy at all)."""


def batch_maps(batch: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """The body-proxy maps a collated batch holds, under their ``ProxyMaps`` names (``BATCH_KEYS``); the target
    ``silhouette`` too when the batch has the parts. A batch without extras gives ``{}``."""
    maps: dict[str, torch.Tensor] = {}
    for name, key in BATCH_KEYS.items():
        value = batch.get(key)
        if isinstance(value, torch.Tensor):
            maps[name] = value
    if "parts" in maps:
        maps["silhouette"] = proxy_silhouette(maps["parts"])
    return maps


def _available(maps: Maps) -> dict[str, torch.Tensor | None]:
    if maps is None:
        return {}
    if isinstance(maps, ProxyMaps):
        return {**maps._asdict(), "silhouette": maps.silhouette}
    return dict(maps)


def g1_inputs(
    config: G1Config, maps: Maps, device: torch.device | str | None = None, how: str = PIPELINE_HINT
) -> dict[str, torch.Tensor]:
    """``G1.forward``'s body-proxy keyword inputs for ``config``, moved to ``device``: ``flow`` and ``visibility``
    for a G1 that warps I_A, ``surface`` for a texture-space latent (``latent_surface``); ``{}`` for PG2's G1.
    ``ValueError`` naming what ``maps`` lacks, and ``how`` to get it."""
    needs: dict[str, str] = {}  # input → why this G1 needs it
    if config.warp != "none":
        warps = f"warps the input with the body proxy (warp={config.warp!r})"
        needs.update(flow=warps, visibility=warps)
    if config.latent_surface:
        needs["surface"] = "has a latent that works in the body proxy's texture space"
    available = _available(maps)
    missing = [k for k in needs if available.get(k) is None]
    if missing:
        why = "; ".join(dict.fromkeys(needs[k] for k in missing))
        raise ValueError(f"this G1 {why}, so it needs the body proxy's {missing}: {how}")
    return {k: _on(available[k], device) for k in needs}


def g2_inputs(
    config: G2Config, maps: Maps, device: torch.device | str | None = None, how: str = PIPELINE_HINT
) -> dict[str, torch.Tensor]:
    """``G2.forward``'s body-proxy keyword inputs for ``config`` (``g2.PROXY_INPUTS``: the target ``silhouette``,
    ``flow``, ``visibility``), moved to ``device``; ``{}`` for PG2's G2. ``ValueError`` as ``g1_inputs``."""
    return proxy_inputs(config, _available(maps), how, device)


def _on(t: torch.Tensor | None, device: torch.device | str | None) -> torch.Tensor:
    assert t is not None  # checked by the caller
    return t.to(device)


def g1_extras(g1: torch.nn.Module, batch: Mapping[str, object], device: torch.device | str | None = None) -> dict:
    """``g1_inputs`` from a collated batch (``batch_maps``) for the G1 ``g1`` (its ``config``)."""
    return g1_inputs(_config(g1, G1Config), batch_maps(batch), device, EXTRAS_HINT)


def g2_extras(g2: torch.nn.Module, batch: Mapping[str, object], device: torch.device | str | None = None) -> dict:
    """``g2_inputs`` from a collated batch (``batch_maps``; the silhouette from its ``proxy_parts_b``)."""
    how = EXTRAS_HINT + "; the silhouette comes from its proxy_parts_b"
    return g2_inputs(_config(g2, G2Config), batch_maps(batch), device, how)


def _config(net: torch.nn.Module, kind: type[ConfigT]) -> ConfigT:
    config = getattr(net, "config", None)
    if not isinstance(config, kind):
        raise TypeError(f"expected a network with a {kind.__name__}, got {type(net).__name__}")
    return config


def chunks(n: int, size: int) -> list[slice]:
    """``n`` rows in slices of at most ``size`` (one empty slice for ``n = 0``)."""
    return [slice(i, i + size) for i in range(0, max(n, 1), size)]


def maps_rows(warp: Maps, rows: slice) -> Maps:
    """The body proxy's maps (``ProxyMaps``, a dict of some of its fields, or None) of ``rows`` of the batch."""
    if warp is None:
        return None
    if isinstance(warp, ProxyMaps):
        return ProxyMaps(*(t[rows] for t in warp))
    return {k: None if v is None else v[rows] for k, v in warp.items()}
