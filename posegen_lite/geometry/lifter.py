"""A learned 2D → 3D lifter: a small MLP in the spirit of Martinez et al. 2017 ("A simple yet effective
baseline for 3D human pose estimation"), trained on the embedded renderer's poses.

Input: 18 keypoints (x, y) pixels + visibility, normalized per pose (centred on the mean visible joint, divided
by the RMS spread) so the image size and the person's size in it do not matter; missing joints are zeros with a
0 flag. Output: the 18 joints in metres, relative to the hip centre, **y up**, in the frame where the camera sits
at azimuth 0 (in front of a person facing +z, ``camera.py``) — the frame Stage I rotates about the body axis.

Network: linear → ``blocks`` residual blocks (2 × [linear, batch norm, ReLU, dropout]) → linear, as Martinez's,
narrower (256 instead of 1024 units) so the weights ship in ``assets/lifter.pt`` (~1.2 MB).

Training (``training/lifter.py``, ``posegen train-lifter``) uses the embedded renderer's poses seen from random
orbit cameras (``data/synthetic/lifting.py``); random joints are hidden so the lifter copes with missing ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posegen_lite.geometry.skeleton import NUM_JOINTS
from posegen_lite.resources import lifter_weights

DEFAULT_WEIGHTS = lifter_weights()
INPUT_DIM = NUM_JOINTS * 3  # (x, y, visible) per joint


@dataclass(frozen=True)
class LifterConfig:
    """Architecture: ``hidden`` units, ``blocks`` residual blocks, ``dropout`` probability."""

    hidden: int = 256
    blocks: int = 2
    dropout: float = 0.1


class _ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(width, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MLPLifter(nn.Module):
    """``(B, 54)`` normalized 2D (see ``normalize_2d``) → ``(B, 18, 3)`` metres, hip-centred, y up."""

    def __init__(self, config: LifterConfig | None = None):
        super().__init__()
        self.config = config or LifterConfig()
        c = self.config
        self.net = nn.Sequential(
            nn.Linear(INPUT_DIM, c.hidden),
            nn.BatchNorm1d(c.hidden),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            *[_ResidualBlock(c.hidden, c.dropout) for _ in range(c.blocks)],
            nn.Linear(c.hidden, NUM_JOINTS * 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != INPUT_DIM:
            raise ValueError(f"lifter input must be (B, {INPUT_DIM}), got {tuple(x.shape)}")
        return self.net(x).view(-1, NUM_JOINTS, 3)


def normalize_2d(keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``(N, 18, 2)`` pixels + ``(N, 18)`` bool → ``(N, 54)`` float32 lifter input.

    Centred on the mean visible joint and divided by the RMS distance of the visible joints from it (y flipped
    so up is positive); hidden joints are 0 with flag 0. Raises ``ValueError`` for a pose with < 2 visible joints.
    """
    kp = np.asarray(keypoints, np.float64).reshape(-1, NUM_JOINTS, 2)
    vis = np.asarray(visible, bool).reshape(-1, NUM_JOINTS) & np.isfinite(kp).all(axis=2)
    counts = vis.sum(axis=1)
    if (counts < 2).any():
        raise ValueError("lifting needs at least 2 visible joints per pose")
    pts = np.where(vis[..., None], kp, 0.0)
    centre = pts.sum(axis=1) / counts[:, None]
    rel = np.where(vis[..., None], kp - centre[:, None], 0.0)
    scale = np.sqrt((rel**2).sum(axis=(1, 2)) / counts)
    rel = rel / np.maximum(scale, 1e-6)[:, None, None] * np.array([1.0, -1.0])
    return np.concatenate([rel, vis[..., None].astype(np.float64)], axis=2).reshape(-1, INPUT_DIM).astype(np.float32)


@torch.no_grad()
def predict(model: MLPLifter, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Lift ``(N, 18, 2)`` / ``(N, 18)`` → ``(N, 18, 3)`` float32 (all 18 joints predicted, missing ones too)."""
    was_training = model.training
    model.eval()
    out = model(torch.from_numpy(normalize_2d(keypoints, visible))).numpy()
    model.train(was_training)
    return out


def lift_pose_mlp(keypoints: np.ndarray, visible: np.ndarray, model: MLPLifter | None = None) -> np.ndarray:
    """Lift one pose ``(18, 2)`` px + ``(18,)`` → ``(18, 3)`` metres, y up, hip-centred, camera at azimuth 0.

    Joints missing in the input are NaN in the output (the network guesses them, but Stage I should not draw
    a guess as if it were seen). Uses the shipped weights when ``model`` is None.
    """
    model = model or load_lifter()
    vis = np.asarray(visible, bool)
    out = predict(model, np.asarray(keypoints)[None], vis[None])[0]
    out[~(vis & np.isfinite(keypoints).all(axis=1))] = np.nan
    return out


def save_lifter(model: MLPLifter, path: str | Path, extra: dict | None = None) -> Path:
    """Save weights (float32) + architecture (+ ``extra`` metadata) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "state_dict": model.state_dict(), **(extra or {})}, path)
    return path


def load_lifter(path: str | Path = DEFAULT_WEIGHTS) -> MLPLifter:
    """Load a lifter saved by ``save_lifter`` (default: the shipped ``assets/lifter.pt``), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no lifter weights; train them with `posegen train-lifter`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises IndexError, RuntimeError, UnpicklingError... for a bad file
        raise ValueError(f"{path}: not a lifter weights file, or a truncated one ({type(err).__name__})") from err
    if not isinstance(blob, dict) or not {"config", "state_dict"} <= blob.keys():
        raise ValueError(f"{path}: not a lifter weights file (saved by save_lifter / posegen train-lifter)")
    model = MLPLifter(LifterConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval()
