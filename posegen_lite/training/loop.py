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
* **NaN guard.** A non-finite loss stops training *before* the update with ``NonFiniteLossError``; an update
  that leaves weights or optimizer state non-finite (a far too large learning rate) stops it with
  ``NonFiniteWeightsError`` naming the last finite step. No checkpoint is written after either, so the last
  good one is untouched — and never holds a NaN/inf tensor.
* **Resume means: continue this run, with the options you give now.** Weights, optimizer moments, step and
  RNG come from the newest checkpoint; the configuration passed now is applied from the resumed step on and is
  what later checkpoints record (a changed ``lr`` is applied to the restored optimizer, so "lower the
  learning rate" works in the same run directory). Options that define the networks or the optimizer's
  parameter groups (stage, model configs, ``finetune_g1``, ``latent_lr_scale``) cannot change: that is
  refused with a message naming them. Stale ``*.tmp`` files of a write killed mid-way are removed.
* **Ctrl-C** (SIGINT) finishes the current step, saves a checkpoint and returns with ``interrupted=True``.

Learning rate: PG2 uses Adam(2e-5, β1 = 0.5). On the small CPU demo 2e-4 learned and 2e-5 barely beat the
identity baseline within 90 s (docs/architecture.md), so the default is 2e-4; pass ``lr=2e-5`` for PG2's setting.
"""

from __future__ import annotations

import math
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

from posegen_lite.allocator import keep_freed_memory
from posegen_lite.models.checkpoints import load_latest, remove_temporary_files, resolve_checkpoint, save_checkpoint
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.steps import NonFiniteLossError, NonFiniteWeightsError, Stage, Stage2, Stage3

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "lr_factor",
    "NonFiniteLossError",
    "NonFiniteWeightsError",
    "saved_config",
]

MAX_LR = 1.0  # Adam moves each weight by about lr per step: beyond 1 a run only diverges


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
    # None: a constant lr. A step: from it on, the learning rates fall linearly to 0 at ``steps`` (``lr_factor``)
    lr_decay_start: int | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (see steps.resolve_precision)
    channels_last: bool = True  # faster convolutions on CPU and on tensor cores
    num_workers: int = 0
    keep_freed_memory: bool = True  # CPU on Linux/glibc: malloc keeps freed memory (posegen_lite/allocator.py)
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
    silhouette_difference: bool = False  # Stage III: … and within a pixel of the body proxy's silhouette
    g2_warped_input: bool = False  # Stage III: G2 reads I_A warped into the target view by the body proxy
    g2_visible_difference: bool = False  # Stage III: … and edits only where the input saw the body point
    d_spectral_norm: bool = False  # Stage III: spectral norm on every layer of D (with norm "none")
    # Stage II with a conditional-VAE G1 (g1.latent_channels > 0, models/cvae.py): β · mean KL(q ‖ p)
    kl_weight: float = 0.005  # β per latent element; ≈ the ELBO's with a Laplace likelihood of scale 0.1
    kl_warmup: int = 250  # steps over which β rises linearly from 0 (losses.kl_weight_at)
    kl_free_bits: float = 0.0  # nats per latent element the KL term leaves unpaid (losses.kl_free_bits)
    noise_warmup: int = 0  # steps over which the posterior's sampling noise rises from 0 (losses.noise_scale_at)
    latent_regression: float = 0.0  # weight of |posterior(G1(z)) − z| (Latents.regression; site output/decoder)
    latent_lr_scale: float = 1.0  # the latent path's learning rate, as a multiple of lr
    # Stage II: start G1 from this Stage II checkpoint's weights (file or run dir) instead of at random — e.g.
    # a deterministic G1 to become a conditional VAE: its config may differ only in the latent path, which
    # then starts where a fresh one does (at the prior's mean the start answers exactly as the given G1).
    init_g1: str | None = None

    def __post_init__(self) -> None:
        # Every option is checked here, up front: a NaN or inf learning rate would otherwise train "fine"
        # for a step and leave a poisoned checkpoint behind.
        if self.stage not in (2, 3):
            raise ValueError(f"stage must be 2 or 3, got {self.stage}")
        counts = ("steps", "batch_size", "checkpoint_every", "keep_last", "val_every", "val_samples", "d_steps_per_g")
        for name in counts:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ValueError(f"num_workers must be an integer ≥ 0, got {self.num_workers!r}")
        for name in ("lr", "d_lr"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and 0 < value <= MAX_LR):
                raise ValueError(f"{name} must be a finite number in (0, {MAX_LR:g}], got {value!r}")
        if len(self.betas) != 2 or not all(_is_number(b) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.lr_decay_start is not None and (
            isinstance(self.lr_decay_start, bool)
            or not isinstance(self.lr_decay_start, int)
            or not 0 <= self.lr_decay_start < self.steps
        ):
            decay = self.lr_decay_start
            raise ValueError(f"lr_decay_start must be an integer in [0, steps = {self.steps}), got {decay!r}")
        for name in ("kl_warmup", "noise_warmup"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
        for name in ("lambda_l1", "lambda_part_fm", "kl_weight", "kl_free_bits", "latent_regression"):
            if not (_is_number(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {getattr(self, name)!r}")
        if self.part_weights is not None and not all(_is_number(w) and w >= 0 for w in self.part_weights.values()):
            raise ValueError(f"part_weights must be finite numbers ≥ 0, got {self.part_weights!r}")
        if self.max_minutes is not None and not (_is_number(self.max_minutes) and self.max_minutes >= 0):
            raise ValueError(f"max_minutes must be a finite number ≥ 0, got {self.max_minutes!r}")
        if not (_is_number(self.latent_lr_scale) and 0 < self.latent_lr_scale <= 1000):
            raise ValueError(f"latent_lr_scale must be a number in (0, 1000], got {self.latent_lr_scale!r}")
        if self.init_g1 is not None and self.stage != 2:
            raise ValueError("init_g1 starts a Stage II G1 from a checkpoint; Stage III takes g1_checkpoint")
        if self.adv_loss not in ("bce", "hinge"):
            raise ValueError(f"adv_loss must be 'bce' or 'hinge', got {self.adv_loss!r}")
        if not (_is_number(self.real_label) and 0.5 < self.real_label <= 1.0):
            raise ValueError(f"real_label must be in (0.5, 1], got {self.real_label!r}")
        self.betas = tuple(self.betas)

    def g2_config(self) -> G2Config:
        return self.g2 or G2Config(
            self.g1.height,
            self.g1.width,
            base_channels=self.g1.base_channels,
            mask_difference=self.mask_difference,
            silhouette_difference=self.silhouette_difference,
            warped_input=self.g2_warped_input,
            visible_difference=self.g2_visible_difference,
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


def _is_number(value: object) -> bool:
    """A real, finite number (not a bool, not a string, not NaN/inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Options that define the networks and their optimizers' parameter groups: a resumed run cannot change them.
_FIXED_ON_RESUME = ("stage", "finetune_g1", "latent_lr_scale")
# Options that only steer this invocation; a change is neither reported nor refused.
_INVOCATION = ("run_dir", "resume", "steps", "max_minutes", "device", "num_workers", "keep_freed_memory")


def lr_factor(step: int, steps: int, decay_start: int | None) -> float:
    """The learning rates' multiplier for the update from ``step`` to ``step + 1``: 1 before ``decay_start``
    (and always when it is None), then falling linearly to reach 0 at ``steps`` (pix2pix's "linear" policy,
    Isola et al. 2017): ``(steps − step) / (steps − decay_start)``. Why: at a constant rate Adam's steps keep
    the weights jittering about where the loss is low; shrinking the steps at the end settles them (the demo
    G1's L1 in the body fell 10 % over its 750 decaying steps). A pure function of the step, so a resumed run
    follows the same schedule."""
    if decay_start is None or step < decay_start:
        return 1.0
    return max(0.0, (steps - step) / max(steps - decay_start, 1))


def saved_config(run_dir: str | Path) -> dict | None:
    """The ``TrainConfig`` dict recorded in the newest loadable checkpoint of ``run_dir`` (None: no checkpoint).
    The CLI fills the options a user does not repeat on resume from it."""
    found = load_latest(run_dir)
    return None if found is None else dict(found[1]["config"])


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": _plain(v)})
    return out


def _resume_changes(state: dict, cfg: TrainConfig, path: Path) -> dict[str, tuple[object, object]]:
    """The options ``cfg`` changes against the checkpoint's recorded config, ``{name: (old, new)}``.

    Raises ``ValueError`` naming every differing option that defines the networks."""
    saved_models, now_models = _flat(_with_defaults(state["model_configs"])), _flat(_model_configs(cfg))
    saved, now = state.get("config", {}), cfg.to_dict()
    fixed = {k: (saved_models.get(k), now_models.get(k)) for k in saved_models.keys() | now_models.keys()}
    # An option added after a checkpoint was written counts as its default there.
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    fixed.update({k: (state["stage"] if k == "stage" else saved.get(k, defaults[k]), now[k]) for k in _FIXED_ON_RESUME})
    fixed = {k: v for k, v in sorted(fixed.items()) if v[0] != v[1]}
    if fixed:
        listed = ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in fixed.items())
        raise ValueError(
            f"{path} belongs to a different stage or model configuration ({listed}); these cannot change when "
            "resuming: repeat the run's values, or use another run_dir or resume=False (--no-resume)"
        )
    skip = set(_INVOCATION) | set(_FIXED_ON_RESUME) | {"g1", "g2", "disc"}
    return {k: (saved.get(k), now[k]) for k in now if k not in skip and _plain(saved.get(k, now[k])) != _plain(now[k])}


@dataclass
class TrainResult:
    """What ``train`` returns: the stage (its ``models``/``predict``), the loss history, the last checkpoint
    written, and why training stopped (``"done"``, ``"interrupted"`` or ``"time budget"``)."""

    stage: Stage
    step: int
    history: list[dict]
    checkpoint: Path | None
    stopped: str = "done"
    resumed_from: int | None = None  # the checkpoint step training continued from (None: started fresh)

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


_LATENT_FIELDS = ("latent_channels", "latent_kind", "latent_site", "latent_surface")


def _init_g1(g1: G1, path: str) -> None:
    """Load the G1 weights of the Stage II checkpoint ``path`` into ``g1`` (``TrainConfig.init_g1``).

    The two configs may differ only in the latent path (``_LATENT_FIELDS``); weights ``g1`` has and the
    checkpoint lacks must all belong to it (they keep their initial values). Anything else is refused."""
    _, state = resolve_checkpoint(path)
    saved = asdict(G1Config(**state["model_configs"]["g1"]))
    wanted = asdict(g1.config)
    differ = sorted(k for k in wanted if k not in _LATENT_FIELDS and saved[k] != wanted[k])
    if differ:
        listed = ", ".join(f"{k} {saved[k]!r} → {wanted[k]!r}" for k in differ)
        raise ValueError(f"init_g1 {path}: its G1 differs beyond the latent path ({listed})")
    result = g1.load_state_dict(state["models"]["g1"], strict=False)
    stray = [k for k in result.missing_keys if not k.startswith("latent.")] + list(result.unexpected_keys)
    if stray:
        raise ValueError(f"init_g1 {path}: weights that do not fit this G1: {', '.join(stray[:6])}")


def _build_stage(cfg: TrainConfig, ctx: DistContext) -> Stage:
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts rank 0's)
    g1 = G1(cfg.g1)
    if cfg.stage == 2:
        if cfg.init_g1:
            _init_g1(g1, cfg.init_g1)
        return Stage2(
            g1,
            cfg.lr,
            cfg.betas,
            ctx,
            cfg.precision,
            cfg.channels_last,
            part_weights=cfg.part_weights,
            kl_weight=cfg.kl_weight,
            kl_warmup=cfg.kl_warmup,
            kl_free_bits=cfg.kl_free_bits,
            noise_warmup=cfg.noise_warmup,
            latent_regression=cfg.latent_regression,
            latent_lr_scale=cfg.latent_lr_scale,
        )
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
    # The checkpoint was loaded onto the training device (map_location), but RNG states must be CPU byte
    # tensors: a run resumed on a GPU would otherwise fail here. A run saved with more GPUs than this machine
    # has restores the states of the GPUs it has.
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), index)


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


def _divergence_advice(cfg: TrainConfig, last_ckpt: Path | None) -> str:
    kept = f"the last good checkpoint ({last_ckpt}) is untouched" if last_ckpt else "no checkpoint was written"
    return (
        f"{kept}. To lower the learning rate, train again in the same run directory with a smaller one "
        f"(e.g. lr={cfg.lr / 10:g}; CLI: the same command with --lr {cfg.lr / 10:g}): resuming keeps the weights and "
        "optimizer state and applies the new rate. Or try precision='fp32', or check the data for NaN"
    )


def _check_state_finite(stage: Stage, ctx: DistContext, cfg: TrainConfig, step: int, last_ckpt: Path | None) -> None:
    """Raise ``NonFiniteWeightsError`` if the update of ``step`` left any weight or optimizer state NaN/inf — so
    a checkpoint never holds one (a finite loss does not prove finite weights: lr=1e6 gives finite losses
    for a step or two while the weights blow up)."""
    bad = stage.non_finite_tensors()
    if ctx.all_flags(bool(bad)):
        where = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "") or "(on another rank)"
        raise NonFiniteWeightsError(
            f"the update of step {step} made weights or optimizer state NaN/inf ({where}); step {step - 1} was "
            f"the last finite one and nothing after it was saved. {_divergence_advice(cfg, last_ckpt)}"
        )


def train(
    cfg: TrainConfig,
    train_set: Dataset,
    val_set: Dataset | None = None,
    callbacks: Sequence[Callable[[int, dict, Stage], None]] = (),
    progress: bool = True,
) -> TrainResult:
    """Train Stage II or III as ``cfg`` says; returns a ``TrainResult``.

    ``callbacks`` are called after every step as ``cb(step, losses, stage)`` on every rank — the notebooks
    use one to draw the live loss curve. Raises ``NonFiniteLossError`` if the loss diverges (its subclass
    ``NonFiniteWeightsError`` if the weights do), ``ValueError`` if ``run_dir`` holds a run of other networks.
    Prints ``resumed from step N of run DIR`` (and any changed options) when it continues a run.
    """
    ctx = DistContext.from_env(cfg.device)
    if cfg.keep_freed_memory:
        keep_freed_memory()  # else every step faults its activations in again: the demo G1 steps 1.1-1.3x faster
    run_dir = Path(cfg.run_dir)
    try:
        if ctx.is_main:
            remove_temporary_files(run_dir)  # left by a process killed while writing a checkpoint
        stage = _build_stage(cfg, ctx)
        start, history, last_ckpt, resumed_from = 0, [], None, None
        if cfg.resume:
            found = load_latest(run_dir, map_location=ctx.device)
            if found is not None:
                last_ckpt, state = found
                changes = _resume_changes(state, cfg, last_ckpt)
                stage.load_state_dict(state)
                # The restored optimizers carry the old run's lr/betas: the configuration given now is the truth.
                stage.set_hyperparameters(cfg.lr, cfg.betas, cfg.d_lr or cfg.lr)
                _set_rng_state(state["rng"])
                start, history = int(state["step"]), list(state["history"])
                resumed_from = start
                if ctx.is_main:
                    changed = "; ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in changes.items())
                    print(f"resumed from step {start} of run {run_dir}" + (f" (changed: {changed})" if changed else ""))
        if start >= cfg.steps:
            stage.release()
            return TrainResult(stage, start, history, last_ckpt, resumed_from=resumed_from)
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
                if cfg.lr_decay_start is not None:
                    f = lr_factor(step, cfg.steps, cfg.lr_decay_start)
                    stage.set_hyperparameters(cfg.lr * f, cfg.betas, (cfg.d_lr or cfg.lr) * f)
                try:
                    losses = stage.train_step(next(batches), step)
                except NonFiniteLossError as err:
                    raise NonFiniteLossError(f"{err}. {_divergence_advice(cfg, last_ckpt)}") from None
                step += 1
                history.append({"step": step, **losses})
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()})
                for cb in callbacks:
                    cb(step, losses, stage)
                _check_state_finite(stage, ctx, cfg, step, last_ckpt)
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
        return TrainResult(stage, step, history, last_ckpt, stopped, resumed_from)
    finally:
        ctx.close()
