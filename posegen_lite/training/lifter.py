"""Training the learned 2D → 3D lifter (``geometry/lifter.py``) on the embedded renderer's poses;
``posegen train-lifter`` reproduces the shipped weights."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from posegen_lite.data.synthetic.lifting import synthetic_lifting_data
from posegen_lite.geometry.lifter import LifterConfig, MLPLifter, normalize_2d, predict, save_lifter
from posegen_lite.geometry.skeleton import NUM_JOINTS


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


def mean_joint_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error (metres) over joints finite in both ``(N, 18, 3)`` arrays."""
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(target, np.float64), axis=-1)
    return float(np.nanmean(err))


def train_lifter(
    config: LifterTrainConfig | None = None,
    model_config: LifterConfig | None = None,
    out: str | Path | None = None,
    log_every: int = 0,
) -> tuple[MLPLifter, dict]:
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


def _train(
    config: LifterTrainConfig, model_config: LifterConfig, out: str | Path | None, log_every: int
) -> tuple[MLPLifter, dict]:
    torch.manual_seed(config.seed)
    start = time.perf_counter()
    kp, vis, target = synthetic_lifting_data(config.poses, config.seed, config.views, config.elevation, config.distance)
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
    stats = {
        "train_s": time.perf_counter() - start,
        "data_s": data_s,
        "heldout_mpjpe_m": evaluate_lifter(model, config.heldout_poses, seed=config.seed + 1000),
    }
    if out is not None:
        save_lifter(model, out, extra={"train_config": asdict(config), "stats": stats})
    return model, stats


def evaluate_lifter(model: MLPLifter, n_poses: int = 1000, seed: int = 1000) -> float:
    """MPJPE (metres, hip-centred) on ``n_poses`` held-out synthetic poses (``seed`` ≠ the training seed)."""
    kp, vis, target = synthetic_lifting_data(n_poses, seed, views=1)
    return mean_joint_error(predict(model, kp, vis), target)
