"""Weights in and out: build the networks a checkpoint describes, and write slim inference-only files.

A checkpoint (see ``checkpoints.py``) records each network's config dataclass beside its state dict, so the
networks can be rebuilt without knowing how they were trained. Inference (the synthesizer, the evaluation)
loads weights through here and never imports the training loop.
"""

from __future__ import annotations

from pathlib import Path

import torch

from posegen_lite.models.checkpoints import FORMAT, resolve_checkpoint, save_atomic, state_checksum
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config


def load_models(checkpoint: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.nn.Module]:
    """The networks of a checkpoint (file or run dir) in eval mode: ``{"g1": G1}`` for Stage II,
    ``{"g1", "g2", "d"}`` for Stage III."""
    _, state = resolve_checkpoint(checkpoint, map_location=device)
    builders = {"g1": (G1, G1Config), "g2": (G2, G2Config), "d": (Discriminator, DiscriminatorConfig)}
    models = {}
    for name, cfg_dict in state["model_configs"].items():
        cls, cfg_cls = builders[name]
        model = cls(cfg_cls(**cfg_dict))
        model.load_state_dict(state["models"][name])
        models[name] = model.to(device).eval()
    return models


def export_weights(
    checkpoint: str | Path, out: str | Path, models: tuple[str, ...] = ("g1", "g2"), meta: dict | None = None
) -> Path:
    """Write a small inference-only checkpoint (no optimizer state, no discriminator by default) that
    ``load_models`` and ``NovelViewSynthesizer.from_checkpoint`` read — what ships in ``assets/``."""
    _, state = resolve_checkpoint(checkpoint)
    keep = [m for m in models if m in state["models"]]
    slim = {
        "stage": state["stage"],
        "step": state["step"],
        "config": state["config"],
        "model_configs": {k: state["model_configs"][k] for k in keep},
        "models": {
            k: {n: t.float() if t.is_floating_point() else t for n, t in state["models"][k].items()} for k in keep
        },
        "meta": meta or {},
    }
    slim = {"format": FORMAT, **slim}
    slim["checksum"] = state_checksum(slim)
    return save_atomic(slim, out)
