"""A learned 2D → 3D lifter: a small MLP in the spirit of Martinez et al. 2017 ("A simple yet effective
baseline for 3D human pose estimation"), trained on the embedded renderer's poses.

Input: 18 keypoints (x, y) pixels + visibility, normalized per pose (centred on the mean visible joint, divided
by the RMS spread) so the image size and the person's size in it do not matter; missing joints are zeros with a
0 flag. Output: the 18 joints in metres, relative to the hip centre, **y up**, in the frame where the camera sits
at azimuth 0 (in front of a person facing +z, ``camera.py``) — the frame Stage I rotates about the body axis.

Network: linear → ``blocks`` residual blocks (2 × [linear, batch norm, ReLU, dropout]) → linear, as Martinez's,
narrower (256 instead of 1024 units) so the weights ship in ``assets/lifter.pt`` (~1.2 MB).

Training data: ``data.poses.sample_pose`` × ``data.body.sample_person`` (random proportions), seen from random
``camera.orbit_camera`` views; random joints are hidden during training so the lifter copes with missing ones.
``train_lifter`` reproduces the shipped weights (``posegen train-lifter``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .camera import orbit_camera, rotation_y
from .skeleton import NUM_JOINTS, hip_centre

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "lifter.pt"
INPUT_DIM = NUM_JOINTS * 3  # (x, y, visible) per joint


@dataclass(frozen=True)
class LifterConfig:
    """Architecture: ``hidden`` units, ``blocks`` residual blocks, ``dropout`` probability."""

    hidden: int = 256
    blocks: int = 2
    dropout: float = 0.1


@dataclass(frozen=True)
class LifterTrainConfig:
    """Training run of ``train_lifter`` (defaults reproduce ``assets/lifter.pt``).

    Attributes:
        poses: training poses (each with a random person); ``views``: cameras per pose.
        steps, batch_size, lr: Adam optimisation (learning rate decayed by cosine to 0).
        hide_prob: probability that a joint is hidden from the input during training.
        elevation: camera elevation range in degrees; distance: camera distance range in metres.
        seed: seeds data, initialisation and batches.
        heldout_poses: poses (seed ``seed + 1000``, one view each) for the held-out MPJPE in the stats.
        num_threads: torch CPU threads during training (restored afterwards); 1 is fastest for this small
            MLP on a shared machine, where more threads oversubscribe the cores. ``None`` leaves torch's setting.
    """

    poses: int = 12000
    views: int = 4
    steps: int = 4000
    batch_size: int = 256
    lr: float = 1e-3
    hide_prob: float = 0.1
    elevation: tuple[float, float] = (-10.0, 30.0)
    distance: tuple[float, float] = (2.5, 6.0)
    seed: int = 0
    heldout_poses: int = 1000
    num_threads: int | None = 1


class _ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
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
            nn.Linear(INPUT_DIM, c.hidden), nn.BatchNorm1d(c.hidden), nn.ReLU(), nn.Dropout(c.dropout),
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


def synthetic_lifting_data(n_poses: int, config: LifterTrainConfig, seed: int,
                           image_size: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poses of the embedded renderer seen from random orbit cameras.

    Returns ``(keypoints (M, 18, 2) px, visible (M, 18), target (M, 18, 3))`` with ``M = n_poses · views``;
    ``target`` is the pose relative to its hip centre, turned so that the camera sits at azimuth 0.
    """
    from .data.body import pose_body, sample_person
    from .data.poses import sample_pose

    rng = np.random.default_rng(seed)
    kps, viss, targets = [], [], []
    for _ in range(n_poses):
        joints = pose_body(sample_person(rng), sample_pose(rng)).joints3d.astype(np.float64)
        hips = hip_centre(joints)
        for _ in range(config.views):
            azimuth = rng.uniform(-180.0, 180.0)
            camera = orbit_camera(azimuth, rng.uniform(*config.elevation), rng.uniform(*config.distance),
                                  hips, image_size, image_size)
            xy, vis = camera.project(joints)
            if vis.sum() < NUM_JOINTS // 2:
                continue
            kps.append(xy)
            viss.append(vis)
            # A camera at azimuth φ sees the body as the φ = 0 camera sees it turned by −φ (camera.py).
            targets.append((joints - hips) @ rotation_y(-azimuth).T)
    return np.stack(kps), np.stack(viss), np.stack(targets).astype(np.float32)


def mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error (metres) over joints finite in both ``(N, 18, 3)`` arrays."""
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(target, np.float64), axis=-1)
    return float(np.nanmean(err))


def train_lifter(config: LifterTrainConfig | None = None, model_config: LifterConfig | None = None,
                 out: str | Path | None = None, log_every: int = 0) -> tuple[MLPLifter, dict]:
    """Train the lifter on synthetic poses; optionally save it to ``out`` (e.g. ``assets/lifter.pt``).

    Returns ``(model in eval mode, stats)`` where stats hold the held-out MPJPE (metres, ``heldout_poses`` poses
    from a different seed) and the training time. Deterministic for a given config on a given machine.
    """
    config = config or LifterTrainConfig()
    model_config = model_config or LifterConfig()
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        return _train(config, model_config, out, log_every)
    finally:
        torch.set_num_threads(threads)


def _train(config: LifterTrainConfig, model_config: LifterConfig, out: str | Path | None,
           log_every: int) -> tuple[MLPLifter, dict]:
    torch.manual_seed(config.seed)
    start = time.perf_counter()
    kp, vis, target = synthetic_lifting_data(config.poses, config, seed=config.seed)
    targets = torch.from_numpy(target).reshape(len(target), -1)
    data_s = time.perf_counter() - start
    model = MLPLifter(model_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
    gen = np.random.default_rng(config.seed + 1)
    model.train()
    for step in range(config.steps):
        idx = gen.integers(0, len(kp), config.batch_size)
        hide = gen.random((config.batch_size, NUM_JOINTS)) < config.hide_prob
        x = torch.from_numpy(normalize_2d(kp[idx], vis[idx] & ~hide))
        loss = (model(x).reshape(config.batch_size, -1) - targets[idx]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  L1 {loss.item():.4f} m")
    model.eval()
    stats = {"train_s": time.perf_counter() - start, "data_s": data_s,
             "heldout_mpjpe_m": evaluate_lifter(model, config.heldout_poses, seed=config.seed + 1000)}
    if out is not None:
        save_lifter(model, out, extra={"train_config": asdict(config), "stats": stats})
    return model, stats


def evaluate_lifter(model: MLPLifter, n_poses: int = 1000, seed: int = 1000) -> float:
    """MPJPE (metres, hip-centred) on ``n_poses`` held-out synthetic poses (``seed`` ≠ the training seed)."""
    kp, vis, target = synthetic_lifting_data(n_poses, LifterTrainConfig(views=1), seed=seed)
    return mpjpe(predict(model, kp, vis), target)


@torch.no_grad()
def predict(model: MLPLifter, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Lift ``(N, 18, 2)`` / ``(N, 18)`` → ``(N, 18, 3)`` float32 (all 18 joints predicted, missing ones too)."""
    was_training = model.training
    model.eval()
    out = model(torch.from_numpy(normalize_2d(keypoints, visible))).numpy()
    model.train(was_training)
    return out


def lift_pose(keypoints: np.ndarray, visible: np.ndarray, model: MLPLifter | None = None) -> np.ndarray:
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
        raise FileNotFoundError(f"{path}: no lifter weights; train them with posegen_lite.lifting_mlp.train_lifter")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = MLPLifter(LifterConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval()
