"""One training loop for Stage II (G1) and Stage III (G2 + D): config, progress, validation, checkpoints,
exact resume, a NaN guard, clean Ctrl-C, time budgets, and DDP under ``torchrun``.

Use it from Python::

    cfg = TrainConfig(stage=2, run_dir="runs/g1", steps=2000, g1=G1Config(64, 64, base_channels=16))
    result = train(cfg, train_set, val_set)

or from the shell: ``posegen train --stage 2 --run-dir runs/g1 --steps 2000``.

Guarantees (each is a test in ``tests/test_train.py``):

* **Exact resume.** The data order is a pure function of (seed, epoch) — ``DistributedSampler`` with
  ``set_epoch`` — and a checkpoint stores step, weights, optimizer, grad-scaler and RNG state. Training N
  steps, stopping, and resuming for N more gives the same weights as 2N steps in one go (CPU).
* **Crash-safe checkpoints** (see ``checkpoints.py``): atomic writes, the last ``keep_last`` kept.
* **NaN guard.** A non-finite loss stops training *before* the update with ``NonFiniteLossError``; no checkpoint
  is written after it, so the last good one is untouched.
* **Ctrl-C** (SIGINT) finishes the current step, saves a checkpoint and returns with ``interrupted=True``.

Learning rate: PG2 uses Adam(2e-5, β1 = 0.5). On the small CPU demo 2e-4 learned and 2e-5 barely beat the
identity baseline within 90 s (docs/architecture.md), so the default is 2e-4; pass ``lr=2e-5`` for PG2's setting.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from posegen_lite.models.checkpoints import load_latest, resolve_checkpoint, save_checkpoint
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.steps import NonFiniteLossError, Stage, Stage2, Stage3

__all__ = ["TrainConfig", "TrainResult", "train", "NonFiniteLossError"]


@dataclass
class TrainConfig:
    """Everything a training run needs; saved inside every checkpoint.

    ``batch_size`` is per process (under ``torchrun`` the global batch is ``batch_size × world_size``).
    Stage III fields are ignored by Stage II.
    """

    stage: int = 2
    run_dir: str = "runs/stage2"
    steps: int = 2000
    batch_size: int = 16
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (see steps.resolve_precision)
    channels_last: bool = True  # faster convolutions on CPU and on tensor cores
    num_workers: int = 0
    checkpoint_every: int = 500
    keep_last: int = 3
    val_every: int = 500
    val_samples: int = 8
    resume: bool = True  # continue from run_dir's newest checkpoint if there is one
    max_minutes: float | None = None  # stop (and save) after this much wall-clock time
    g1: G1Config = field(default_factory=G1Config)
    # Stage III
    g2: G2Config | None = None  # None: derived from g1 (same size and width, PG2's depth rule)
    disc: DiscriminatorConfig | None = None
    g1_checkpoint: str | None = None  # Stage II checkpoint (file or run dir) to take G1 from
    finetune_g1: bool = False
    lambda_l1: float = 10.0  # PG2: 10 at 128×64, 50 at 256×256
    adv_loss: str = "bce"
    d_steps_per_g: int = 1
    real_label: float = 1.0  # < 1: one-sided label smoothing
    condition_fake: bool = False
    d_lr: float | None = None  # None: same as lr
    # Beyond PG2 (see training/losses.py, models/g2.py, models/discriminator.py)
    part_weights: dict[str, float] | None = None  # extra L1 weight per region, e.g. losses.DEFAULT_PART_WEIGHTS
    lambda_part_fm: float = 0.0  # Stage III: feature matching on D's features over face and torso
    mask_difference: bool = False  # Stage III: G2's difference kept inside the target body mask
    d_spectral_norm: bool = False  # Stage III: spectral norm on every layer of D (with norm "none")

    def __post_init__(self) -> None:
        if self.stage not in (2, 3):
            raise ValueError(f"stage must be 2 or 3, got {self.stage}")
        for name in ("steps", "batch_size", "checkpoint_every", "keep_last", "val_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.lr <= 0 or (self.d_lr is not None and self.d_lr <= 0):
            raise ValueError("learning rates must be positive")
        if self.adv_loss not in ("bce", "hinge"):
            raise ValueError(f"adv_loss must be 'bce' or 'hinge', got {self.adv_loss!r}")
        if not 0.5 < self.real_label <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1], got {self.real_label}")
        self.betas = tuple(self.betas)

    def g2_config(self) -> G2Config:
        return self.g2 or G2Config(
            self.g1.height, self.g1.width, base_channels=self.g1.base_channels, mask_difference=self.mask_difference
        )

    def disc_config(self) -> DiscriminatorConfig:
        if self.disc is not None:
            return self.disc
        if self.d_spectral_norm:
            return DiscriminatorConfig(self.g1.height, self.g1.width, norm="none", spectral_norm=True)
        return DiscriminatorConfig(self.g1.height, self.g1.width)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of ``to_dict`` (unknown keys are rejected, so a typo does not pass silently)."""
        nested = {"g1": G1Config, "g2": G2Config, "disc": DiscriminatorConfig}
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig keys: {sorted(unknown)}")
        kw = {k: (nested[k](**v) if k in nested and isinstance(v, dict) else v) for k, v in d.items()}
        return cls(**kw)


@dataclass
class TrainResult:
    """What ``train`` returns: the stage (its ``models``/``predict``), the loss history, the last checkpoint
    written, and why training stopped (``"done"``, ``"interrupted"`` or ``"time budget"``)."""

    stage: Stage
    step: int
    history: list[dict]
    checkpoint: Path | None
    stopped: str = "done"

    @property
    def interrupted(self) -> bool:
        return self.stopped == "interrupted"


def _model_configs(cfg: TrainConfig) -> dict[str, dict]:
    out = {"g1": asdict(cfg.g1)}
    if cfg.stage == 3:
        out["g2"] = asdict(cfg.g2_config())
        out["d"] = asdict(cfg.disc_config())
    return out


def _with_defaults(saved: dict[str, dict]) -> dict[str, dict]:
    """Saved model configs with fields added since they were written filled in (e.g. ``G1Config.warp``), so a
    run from before such a field still resumes."""
    kinds = {"g1": G1Config, "g2": G2Config, "d": DiscriminatorConfig}
    return {k: asdict(kinds[k](**v)) if k in kinds else v for k, v in saved.items()}


def _build_stage(cfg: TrainConfig, ctx: DistContext) -> Stage:
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts rank 0's)
    g1 = G1(cfg.g1)
    if cfg.stage == 2:
        return Stage2(g1, cfg.lr, cfg.betas, ctx, cfg.precision, cfg.channels_last, part_weights=cfg.part_weights)
    if cfg.g1_checkpoint:
        _, state = resolve_checkpoint(cfg.g1_checkpoint)
        saved = G1Config(**state["model_configs"]["g1"])
        if saved != cfg.g1:
            raise ValueError(f"G1 checkpoint {cfg.g1_checkpoint} was trained with {saved}, config asks for {cfg.g1}")
        g1.load_state_dict(state["models"]["g1"])
    elif not cfg.finetune_g1:
        raise ValueError("Stage III with a frozen G1 needs g1_checkpoint (a Stage II checkpoint or run dir)")
    return Stage3(
        g1,
        G2(cfg.g2_config()),
        Discriminator(cfg.disc_config()),
        lr=cfg.lr,
        d_lr=cfg.d_lr or cfg.lr,
        betas=cfg.betas,
        ctx=ctx,
        lambda_l1=cfg.lambda_l1,
        adv_loss=cfg.adv_loss,
        d_steps_per_g=cfg.d_steps_per_g,
        real_label=cfg.real_label,
        condition_fake=cfg.condition_fake,
        finetune_g1=cfg.finetune_g1,
        precision=cfg.precision,
        channels_last=cfg.channels_last,
        part_weights=cfg.part_weights,
        lambda_part_fm=cfg.lambda_part_fm,
    )


def _batches(dataset: Dataset, cfg: TrainConfig, ctx: DistContext, start_step: int) -> Iterator[dict]:
    """Endless batches whose order depends only on (seed, epoch, rank): resuming at ``start_step`` skips
    exactly the batches already seen."""
    sampler = DistributedSampler(
        dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True
    )
    per_epoch = len(sampler) // cfg.batch_size
    if per_epoch == 0:
        raise ValueError(
            f"the training set ({len(dataset)} samples over {ctx.world_size} process(es)) is "
            f"smaller than one batch of {cfg.batch_size}"
        )
    epoch, skip = divmod(start_step, per_epoch)
    while True:
        sampler.set_epoch(epoch)
        order = list(sampler)[skip * cfg.batch_size :]
        loader = DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=order,
            drop_last=True,
            num_workers=cfg.num_workers,
            pin_memory=ctx.device.type == "cuda",
        )
        yield from loader
        epoch, skip = epoch + 1, 0


class _SigintFlag:
    """Turns Ctrl-C into a flag checked between steps, so a step is never cut in half."""

    def __init__(self) -> None:
        self.raised = False
        self._previous = None

    def __enter__(self) -> _SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # the signal module passes both; unused
        if self.raised:  # a second Ctrl-C: the user really wants out now
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _rng_state(ctx: DistContext) -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _validate(stage: Stage, val_batch: dict, run_dir: Path, step: int) -> dict[str, float]:
    """Predict the fixed validation batch, write a comparison grid PNG, return mean metrics."""
    from posegen_lite.evaluation.grids import comparison_rows, image_grid
    from posegen_lite.evaluation.metrics import batch_metrics
    from posegen_lite.images import save_image

    stage.eval()
    outputs = stage.predict(val_batch)
    stage.train()
    grid = image_grid(comparison_rows(val_batch, outputs))
    zoom = max(1, 256 // val_batch["image_a"].shape[-2])  # small images are enlarged so a person can see them
    save_image(run_dir / f"val_{step:08d}.png", grid.repeat(zoom, axis=0).repeat(zoom, axis=1))
    last = list(outputs)[-1]
    scores = batch_metrics(outputs[last].cpu(), val_batch["image_b"], val_batch["mask_b"])
    return {f"val_{k}": float(np.mean(v)) for k, v in scores.items()}


def _checkpoint(stage: Stage, cfg: TrainConfig, ctx: DistContext, step: int, history: list[dict]) -> Path | None:
    for m in stage.models.values():
        ctx.sync_buffers(m)
    path = None
    if ctx.is_main:
        state = {
            "stage": cfg.stage,
            "step": step,
            "config": cfg.to_dict(),
            "model_configs": _model_configs(cfg),
            **stage.state_dict(),
            "rng": _rng_state(ctx),
            "history": history,
        }
        path = save_checkpoint(state, cfg.run_dir, cfg.keep_last)
    ctx.barrier()
    return path


def train(
    cfg: TrainConfig,
    train_set: Dataset,
    val_set: Dataset | None = None,
    callbacks: Sequence[Callable[[int, dict, Stage], None]] = (),
    progress: bool = True,
) -> TrainResult:
    """Train Stage II or III as ``cfg`` says; returns a ``TrainResult``.

    ``callbacks`` are called after every step as ``cb(step, losses, stage)`` on every rank — the notebooks
    use one to draw the live loss curve. Raises ``NonFiniteLossError`` if the loss diverges.
    """
    ctx = DistContext.from_env(cfg.device)
    run_dir = Path(cfg.run_dir)
    try:
        stage = _build_stage(cfg, ctx)
        start, history, last_ckpt = 0, [], None
        if cfg.resume:
            found = load_latest(run_dir, map_location=ctx.device)
            if found is not None:
                last_ckpt, state = found
                if state["stage"] != cfg.stage or _with_defaults(state["model_configs"]) != _model_configs(cfg):
                    raise ValueError(
                        f"{last_ckpt} belongs to a different stage or model configuration; "
                        "use another run_dir or resume=False"
                    )
                stage.load_state_dict(state)
                _set_rng_state(state["rng"])
                start, history = int(state["step"]), list(state["history"])
        if start >= cfg.steps:
            stage.release()
            return TrainResult(stage, start, history, last_ckpt)
        val_batch = None
        if val_set is not None and ctx.is_main:
            # Evenly spaced samples, so the grid shows several people rather than one person's views.
            picks = np.linspace(0, len(val_set) - 1, min(cfg.val_samples, len(val_set))).round().astype(int)
            val_batch = next(iter(DataLoader(Subset(val_set, picks.tolist()), batch_size=len(picks))))
        batches = _batches(train_set, cfg, ctx, start)
        stage.train()
        t0, stopped, step = time.monotonic(), "done", start
        bar = tqdm(
            total=cfg.steps,
            initial=start,
            desc=f"stage {cfg.stage}",
            disable=not (progress and ctx.is_main),
            dynamic_ncols=True,
        )
        with _SigintFlag() as sigint, bar:
            while step < cfg.steps:
                losses = stage.train_step(next(batches), step)
                step += 1
                history.append({"step": step, **losses})
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()})
                for cb in callbacks:
                    cb(step, losses, stage)
                if val_batch is not None and step % cfg.val_every == 0:
                    history[-1].update(_validate(stage, val_batch, run_dir, step))
                over_time = cfg.max_minutes is not None and time.monotonic() - t0 > 60.0 * cfg.max_minutes
                halt = ctx.all_flags(sigint.raised or over_time)
                if halt or step % cfg.checkpoint_every == 0 or step == cfg.steps:
                    last_ckpt = _checkpoint(stage, cfg, ctx, step, history) or last_ckpt
                if halt:
                    stopped = "interrupted" if sigint.raised else "time budget"
                    if ctx.is_main:
                        bar.write(f"stopped at step {step} ({stopped}); saved {last_ckpt}")
                    break
        stage.eval()
        stage.release()
        return TrainResult(stage, step, history, last_ckpt, stopped)
    finally:
        ctx.close()
