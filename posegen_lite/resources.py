"""Files shipped inside the package (demo weights, whose G1 is a conditional VAE, the texture completion network,
the learned lifter, PG2's reference weights), found through ``importlib.resources``.

They live in ``posegen_lite/assets/`` and are package data, so an installed wheel finds them as well as a
checkout does: never build their paths from ``__file__``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEMO_WEIGHTS_NAME = "demo_128x64.pt"
LIFTER_WEIGHTS_NAME = "lifter.pt"
PG2_WEIGHTS_NAME = "pg2_64x64.pt"
COMPLETION_WEIGHTS_NAME = "texture_completion.pt"


def asset_path(name: str) -> Path:
    """Path of the shipped file ``posegen_lite/assets/<name>`` (it may not exist yet, e.g. before training)."""
    return Path(str(files("posegen_lite") / "assets" / name))


def demo_weights() -> Path:
    """The demo weights the main job, the widget and the notebooks load by default."""
    return asset_path(DEMO_WEIGHTS_NAME)


def lifter_weights() -> Path:
    """The learned 2D→3D lifter's weights."""
    return asset_path(LIFTER_WEIGHTS_NAME)


def cvae_weights() -> Path:
    """A G1 trained as a conditional VAE (``posegen train --g1.latent-channels K``): it samples the sides the
    input never saw. The demo weights' G1 is one (in the body proxy's texture space; its prior's mean is the
    deterministic answer the main job shows), so this is the same file as ``demo_weights()``."""
    return demo_weights()


def completion_weights() -> Path:
    """The texture completion network (``models/texture_completion.py``) that completes, in albedo, the texture the
    synthesizer's blend paints the unseen side from (``NovelViewSynthesizer.from_checkpoint`` loads it)."""
    return asset_path(COMPLETION_WEIGHTS_NAME)


def pg2_weights() -> Path:
    """PG2's plain G1 + G2 at 64×64 (no warp; the former demo weights): the fixed reference the classroom
    assignments grade against, so that new demo weights never change an assignment's expected answers."""
    return asset_path(PG2_WEIGHTS_NAME)
