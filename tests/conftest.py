"""Shared test helpers: tiny deterministic pair datasets that follow the sample contract (data/sample.py)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import Dataset


class TinyPairs(Dataset):
    """``n`` fixed random pair samples of size ``height × width`` (no rendering, so training tests are fast).

    The target is a deterministic function of the input (dimmed and shifted colours), so a network can
    actually learn it. ``poison_after`` makes every sample's target NaN once ``poisoned`` is set.
    """

    def __init__(self, n: int = 8, height: int = 16, width: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.a = torch.rand(n, 3, height, width, generator=g) * 2 - 1
        self.pose = torch.rand(n, 18, height, width, generator=g) * 2 - 1
        self.mask = (torch.rand(n, 1, height, width, generator=g) > 0.5).float()
        self.b = (self.a * 0.5 + 0.2).clamp(-1, 1)
        self.poisoned = False

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        nan2 = torch.full((18, 2), math.nan)
        target = self.b[i] * math.nan if self.poisoned else self.b[i]
        return {
            "image_a": self.a[i],
            "image_b": target,
            "pose_b": self.pose[i],
            "mask_b": self.mask[i],
            "keypoints_a": nan2,
            "keypoints_b": nan2,
            "visible_a": torch.zeros(18, dtype=torch.bool),
            "visible_b": torch.zeros(18, dtype=torch.bool),
            "joints3d_a": torch.full((18, 3), math.nan),
            "joints3d_b": torch.full((18, 3), math.nan),
            "yaw": 0.0,
            "person_id": f"p{i}",
            "name_a": f"a{i}",
            "name_b": f"b{i}",
        }


@pytest.fixture
def tiny_pairs() -> TinyPairs:
    return TinyPairs()


def tiny_synthesizer(size: tuple[int, int] = (32, 32)):
    """A seeded, untrained G1 + G2 synthesizer at ``size``, small enough for fast tests."""
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

    torch.manual_seed(0)
    g1 = G1(G1Config(*size, base_channels=4, z_dim=8))
    return NovelViewSynthesizer(g1, G2(G2Config(*size, base_channels=4)), device="cpu")
