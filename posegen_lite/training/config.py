"""What a training run is: ``TrainConfig`` (saved inside every checkpoint) and its conditional-VAE group.

Each setting lives in one dataclass field; ``metadata["help"]`` is its one-line help, from which the CLI's
options are generated (``posegen_lite/cli/options.py``). The networks' shapes live in their own configs
(``G1Config``, ``G2Config``, ``DiscriminatorConfig``), never repeated here; they are imported on first use,
so that ``posegen train --help`` runs without torch. ``upgrade_config_dict`` reads the flat dict that
checkpoints written before this grouping recorded.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from posegen_lite.models.discriminator import DiscriminatorConfig
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.models.g2 import G2Config

MAX_LR = 1.0  # Adam moves each weight by about lr per step: beyond 1 a run only diverges


def model_configs() -> dict[str, type]:
    """The network configs ``TrainConfig`` nests, by field name (imports torch)."""
    from posegen_lite.models.discriminator import DiscriminatorConfig
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.models.g2 import G2Config

    return {"g1": G1Config, "g2": G2Config, "disc": DiscriminatorConfig}


def _default_g1() -> G1Config:
    return model_configs()["g1"]()


def _help(text: str, **extra: object) -> dict:
    return {"help": text, **extra}


def parse_part_weights(text: str) -> dict[str, float] | None:
    """``part_weights`` as text: "default" (``losses.DEFAULT_PART_WEIGHTS``), "none", or "head=3,hands=2"."""
    from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS

    if text == "none":
        return None
    if text == "default":
        return dict(DEFAULT_PART_WEIGHTS)
    try:
        return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError as err:
        raise ValueError(f"part_weights must be 'default', 'none' or 'region=weight,...'; got {text!r}") from err


@dataclass
class CVAETrainConfig:
    """Stage II with a conditional-VAE G1 (``g1.latent_channels > 0``, models/cvae.py): β · mean KL(q ‖ p)."""

    kl_weight: float = field(default=0.005, metadata=_help("β per latent element of the KL term"))
    kl_warmup: int = field(default=250, metadata=_help("steps over which β rises linearly from 0"))
    kl_free_bits: float = field(default=0.0, metadata=_help("nats per latent element the KL term leaves unpaid"))
    noise_warmup: int = field(default=0, metadata=_help("steps over which the posterior's sampling noise rises"))
    latent_regression: float = field(default=0.0, metadata=_help("weight of |posterior(G1(z)) − z|, z from prior"))
    latent_lr_scale: float = field(default=1.0, metadata=_help("the latent path's learning rate, × lr"))

    def __post_init__(self) -> None:
        for name in ("kl_warmup", "noise_warmup"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
        for name in ("kl_weight", "kl_free_bits", "latent_regression"):
            if not (_is_number(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {getattr(self, name)!r}")
        if not (_is_number(self.latent_lr_scale) and 0 < self.latent_lr_scale <= 1000):
            raise ValueError(f"latent_lr_scale must be a number in (0, 1000], got {self.latent_lr_scale!r}")


STAGE3 = {"group": "stage 3"}  # the CLI lists these options together


@dataclass
class TrainConfig:
    """Everything a training run needs; saved inside every checkpoint.

    ``batch_size`` is per process (under ``torchrun`` the global batch is ``batch_size × world_size``).
    Stage III fields are ignored by Stage II. Learning rate: PG2 uses Adam(2e-5, β1 = 0.5); on the small CPU
    demo 2e-4 learned and 2e-5 barely beat the identity baseline (docs/architecture.md), hence 2e-4.
    """

    stage: int = field(default=2, metadata=_help("2 (G1) or 3 (G2 + D)"))
    run_dir: str = field(
        default="runs/stage2", metadata=_help("checkpoints and validation images go here; the CLI needs one")
    )
    steps: int = field(default=2000, metadata=_help("total steps"))
    batch_size: int = field(default=16, metadata=_help("per process"))
    lr: float = field(default=2e-4, metadata=_help("Adam learning rate in (0, 1]"))
    lr_decay_start: int | None = field(
        default=None, metadata=_help("from this step on the learning rates fall linearly to 0 at steps")
    )
    betas: tuple[float, float] = field(default=(0.5, 0.999), metadata=_help("Adam's β1 β2"))
    seed: int = field(default=0, metadata=_help("initial weights and data order"))
    device: str = field(default="auto", metadata=_help("auto, cpu, cuda, cuda:1, mps"))
    precision: str = field(default="auto", metadata=_help("auto, fp32, bf16 or fp16 (steps.resolve_precision)"))
    channels_last: bool = field(default=True, metadata=_help("the networks' memory format (benchmarks/README.md)"))
    num_workers: int = field(default=0, metadata=_help("DataLoader worker processes"))
    keep_freed_memory: bool = field(default=True, metadata=_help("malloc keeps freed memory (allocator.py)"))
    checkpoint_every: int = field(default=500, metadata=_help("steps between checkpoints"))
    keep_last: int = field(default=3, metadata=_help("checkpoints kept"))
    val_every: int = field(default=500, metadata=_help("steps between validation grids"))
    val_samples: int = field(default=8, metadata=_help("validation pairs in the grid"))
    resume: bool = field(default=True, metadata=_help("continue from run_dir's newest checkpoint if any"))
    max_minutes: float | None = field(default=None, metadata=_help("stop and save after this long"))
    g1: G1Config = field(default_factory=_default_g1)
    init_g1: str | None = field(
        default=None, metadata=_help("stage 2: start G1 from this Stage II checkpoint (only the latent path new)")
    )
    part_weights: dict[str, float] | None = field(
        default=None,
        metadata=_help("extra L1 weight per body region: default, none or head=3,hands=2", parse=parse_part_weights),
    )
    cvae: CVAETrainConfig = field(default_factory=CVAETrainConfig)
    g2: G2Config | None = None  # None: derived from g1 (same size and width, PG2's depth rule)
    disc: DiscriminatorConfig | None = None  # None: PG2's discriminator of g1's size
    g1_checkpoint: str | None = field(default=None, metadata=_help("the Stage II checkpoint or run dir", **STAGE3))
    finetune_g1: bool = field(default=False, metadata=_help("train G1 too", **STAGE3))
    lambda_l1: float = field(default=10.0, metadata=_help("weight of the L1 (PG2: 10 at 128×64)", **STAGE3))
    adv_loss: str = field(default="bce", metadata=_help("bce or hinge", **STAGE3))
    d_steps_per_g: int = field(default=1, metadata=_help("D updates per G2 update", **STAGE3))
    real_label: float = field(default=1.0, metadata=_help("< 1: one-sided label smoothing", **STAGE3))
    condition_fake: bool = field(default=False, metadata=_help("D also sees (I_A, fake) pairs", **STAGE3))
    d_lr: float | None = field(default=None, metadata=_help("D's learning rate (default: lr)", **STAGE3))
    lambda_part_fm: float = field(default=0.0, metadata=_help("feature matching on face and torso", **STAGE3))

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
        for name in ("lambda_l1", "lambda_part_fm"):
            if not (_is_number(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {getattr(self, name)!r}")
        if self.part_weights is not None and not all(_is_number(w) and w >= 0 for w in self.part_weights.values()):
            raise ValueError(f"part_weights must be finite numbers ≥ 0, got {self.part_weights!r}")
        if self.max_minutes is not None and not (_is_number(self.max_minutes) and self.max_minutes >= 0):
            raise ValueError(f"max_minutes must be a finite number ≥ 0, got {self.max_minutes!r}")
        if self.init_g1 is not None and self.stage != 2:
            raise ValueError("init_g1 starts a Stage II G1 from a checkpoint; Stage III takes g1_checkpoint")
        if self.adv_loss not in ("bce", "hinge"):
            raise ValueError(f"adv_loss must be 'bce' or 'hinge', got {self.adv_loss!r}")
        if not (_is_number(self.real_label) and 0.5 < self.real_label <= 1.0):
            raise ValueError(f"real_label must be in (0.5, 1], got {self.real_label!r}")
        self.betas = tuple(self.betas)

    def g2_config(self) -> G2Config:
        g2 = model_configs()["g2"]
        return self.g2 or g2(self.g1.height, self.g1.width, base_channels=self.g1.base_channels)

    def disc_config(self) -> DiscriminatorConfig:
        return self.disc or model_configs()["disc"](self.g1.height, self.g1.width)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of ``to_dict`` (unknown keys are rejected, so a typo does not pass silently); a checkpoint's
        flat dict of before the grouping is read too (``upgrade_config_dict``)."""
        d = upgrade_config_dict(d)
        nested = {**model_configs(), "cvae": CVAETrainConfig}
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig keys: {sorted(unknown)}")
        for name, kind in nested.items():
            inner = d.get(name)
            if isinstance(inner, dict):  # init-only names too: a config's retired options, which it judges itself
                wrong = set(inner) - set(inspect.signature(kind).parameters)
                if wrong:
                    raise ValueError(f"unknown TrainConfig keys: {sorted(f'{name}.{k}' for k in wrong)}")
        kw = {k: (nested[k](**v) if k in nested and isinstance(v, dict) else v) for k, v in d.items()}
        return cls(**kw)


# The flat dict's keys (checkpoints written before the grouping) → where they live now.
LEGACY_CVAE = tuple(f.name for f in fields(CVAETrainConfig))
LEGACY_G2 = {
    "mask_difference": "mask_difference",
    "silhouette_difference": "silhouette_difference",
    "g2_warped_input": "warped_input",
    "g2_visible_difference": "visible_difference",
}


def upgrade_config_dict(d: dict) -> dict:
    """A checkpoint's ``config`` in today's nesting: the flat dict of before the grouping (cVAE settings, G2's
    regions and ``d_spectral_norm`` at the top) moved into ``cvae``, ``g2`` and ``disc``; today's unchanged."""
    d = dict(d)
    kinds = model_configs()
    cvae = {k: d.pop(k) for k in LEGACY_CVAE if k in d}
    if cvae:
        d["cvae"] = {**(d.get("cvae") or {}), **cvae}
    regions = {new: d.pop(old) for old, new in LEGACY_G2.items() if old in d}
    spectral = d.pop("d_spectral_norm", None)
    g1 = d.get("g1") or {}
    shape = {f.name: g1.get(f.name, f.default) for f in fields(kinds["g1"])}
    size = (shape["height"], shape["width"])
    if any(regions.values()) and d.get("g2") is None:  # the old g2_config() derived G2 with these regions
        d["g2"] = asdict(kinds["g2"](*size, base_channels=shape["base_channels"], **regions))
    if spectral and d.get("disc") is None:  # the old disc_config() for d_spectral_norm and no disc
        d["disc"] = asdict(kinds["disc"](*size, norm="none", spectral_norm=True))
    return d


def _is_number(value: object) -> bool:
    """A real, finite number (not a bool, not a string, not NaN/inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
