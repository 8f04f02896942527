"""One training loop for Stage II (G1) and Stage III (G2 + D): ``train(cfg, train_set, val_set)`` with a
``TrainConfig`` (training/config.py), or ``posegen train``. Guarantees, each a test in ``tests/test_train.py``:

* **Exact resume.** The data order is a pure function of (seed, epoch) and a checkpoint stores step, weights,
  optimizer, grad-scaler and RNG state: N steps, stop, N more = 2N steps in one go (CPU).
* **Crash-safe checkpoints** (``checkpoints.py``): atomic writes, the last ``keep_last`` kept; stale ``*.tmp``
  files of a killed write are removed.
* **NaN guard.** A non-finite loss stops training *before* the update (``NonFiniteLossError``); an update
  that leaves weights or optimizer state non-finite stops it (``NonFiniteWeightsError``, naming the last finite
  step). Nothing is saved after either, so no checkpoint ever holds a NaN/inf tensor.
* **Resume continues the run with the options given now**, applied from the resumed step on (a lower ``lr``
  reaches the restored optimizer). Options that define the networks or the optimizer's parameter groups
  (stage, model configs, ``finetune_g1``, ``cvae.latent_lr_scale``) cannot change: refused, naming them.
* **Ctrl-C** finishes the current step, saves a checkpoint and returns with ``interrupted=True``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset
from tqdm.auto import tqdm

from posegen_lite.allocator import keep_freed_memory
from posegen_lite.models.checkpoints import load_latest, remove_temporary_files, resolve_checkpoint, save_checkpoint
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.training.config import TrainConfig, upgrade_config_dict
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

# Options that define the networks and their optimizers' parameter groups: a resumed run cannot change them.
_FIXED_ON_RESUME = ("stage", "finetune_g1", "cvae.latent_lr_scale")
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
    The CLI fills the options a user does not repeat on resume from it. A flat dict of before the grouping comes
    back in today's nesting (``config.upgrade_config_dict``)."""
    found = load_latest(run_dir)
    return None if found is None else upgrade_config_dict(found[1]["config"])


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
    # An option added after a checkpoint was written counts as its default there.
    defaults = _flat(TrainConfig().to_dict())
    saved = {**defaults, **_flat(upgrade_config_dict(state.get("config", {})))}
    saved["stage"] = state["stage"]
    now = _flat(cfg.to_dict())
    fixed = {k: (saved_models.get(k), now_models.get(k)) for k in saved_models.keys() | now_models.keys()}
    fixed.update({k: (saved.get(k), now[k]) for k in _FIXED_ON_RESUME})
    fixed = {k: v for k, v in sorted(fixed.items()) if v[0] != v[1]}
    if fixed:
        listed = ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in fixed.items())
        raise ValueError(
            f"{path} belongs to a different stage or model configuration ({listed}); these cannot change when "
            "resuming: repeat the run's values, or use another run_dir or resume=False (--no-resume)"
        )
    skip = set(_INVOCATION) | set(_FIXED_ON_RESUME)
    models = ("g1", "g2", "disc")  # compared above, as the networks built
    return {
        k: (saved.get(k), now[k])
        for k in now
        if k not in skip and k.split(".")[0] not in models and saved.get(k, now[k]) != now[k]
    }


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


_LATENT_FIELDS = ("latent_channels", "latent_surface")


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
            **asdict(cfg.cvae),
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
    order = _EpochOrder()
    # One loader for the whole run: its workers live across epochs (``persistent_workers``), so they start once
    # and keep what their copy of the dataset computed (``SyntheticPairs``' proxy maps); each epoch only changes
    # the order the loader reads.
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        sampler=order,
        drop_last=True,
        num_workers=cfg.num_workers,
        pin_memory=ctx.device.type == "cuda",
        persistent_workers=cfg.num_workers > 0,
    )
    while True:
        sampler.set_epoch(epoch)
        order.indices = list(sampler)[skip * cfg.batch_size :]
        yield from loader
        epoch, skip = epoch + 1, 0


class _EpochOrder(Sampler[int]):
    """The indices of the current epoch, in order; ``_batches`` sets them before each pass over the loader."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


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
