"""What one training step of Stage II and of Stage III does — the part of training that is the PG2 method.

The loop in ``loop.py`` (progress, checkpoints, resume, NaN guard, DDP) is the same for both stages; a stage
object owns its networks and optimizers and knows how to take one step on a batch. GAN hygiene of Stage III:

* separate Adam optimizers for the generator side (G2, and G1 when fine-tuned) and for D;
* ``d_steps_per_g`` discriminator updates per generator update;
* ``adv_loss``: ``"bce"`` (the DCGAN/PG2 loss) or ``"hinge"``; ``real_label < 1`` gives one-sided label
  smoothing (Salimans et al. 2016) for the BCE loss;
* ``condition_fake``: PG2's variant that also shows D the pair (I_A, I_A) as fake, so D must look at the pose
  change and cannot accept the condition image itself as a good answer;
* D sees real and generated pairs in ONE forward pass (a concatenated batch): one forward/backward per update
  keeps DistributedDataParallel's bookkeeping simple, at the price of batch-norm statistics over the mixed batch.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn

from posegen_lite.data.compact import expand_batch
from posegen_lite.geometry.proxy import REGION_NAMES, part_regions
from posegen_lite.models.discriminator import Discriminator
from posegen_lite.models.g1 import G1
from posegen_lite.models.g2 import G2
from posegen_lite.models.inputs import EXTRAS_HINT, batch_maps, g1_inputs, g2_inputs
from posegen_lite.training.distributed import DistContext, unwrap
from posegen_lite.training.losses import (
    discriminator_loss,
    gaussian_kl,
    generator_adversarial_loss,
    kl_free_bits,
    kl_weight_at,
    masked_l1,
    noise_scale_at,
    part_feature_matching,
    part_weighted_l1,
)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; training stops before the bad update touches the weights."""


class NonFiniteWeightsError(NonFiniteLossError):
    """An update made weights or optimizer state NaN/inf (the loss was still finite); training stops before a
    checkpoint could hold them."""


def autocast_context(device: torch.device, precision: str) -> AbstractContextManager:
    """Mixed precision for the forward pass: ``"bf16"``/``"fp16"`` autocast, ``"fp32"`` none."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"``: bf16 where the hardware has fast bf16 kernels (CUDA compute capability ≥ 8, see
    ``cuda_has_native_bf16``), fp16 with loss scaling on older CUDA GPUs (a Colab T4), else fp32.

    bf16 autocast pays off on a CPU only where oneDNN has bf16 kernels (AVX512-BF16/AMX); without them it
    falls back to reference kernels and bf16 is many times *slower* (benchmarks/README.md), so "auto" asks
    oneDNN whether it has bf16 kernels."""
    if precision != "auto":
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be auto, fp32, bf16 or fp16; got {precision!r}")
        if precision == "fp16" and device.type != "cuda":
            raise ValueError("fp16 autocast needs a CUDA device (use bf16 on the CPU)")
        return precision
    if device.type == "cuda":
        return "bf16" if cuda_has_native_bf16(device) else "fp16"
    if device.type == "cpu" and torch.backends.mkldnn.is_available() and _cpu_has_fast_bf16():
        return "bf16"
    return "fp32"


def cuda_has_native_bf16(device: torch.device) -> bool:
    """True when the GPU runs bf16 convolutions natively: compute capability ≥ 8 (Ampere and newer).

    Not ``torch.cuda.is_bf16_supported()``: that also says yes on a T4 (capability 7.5), where bf16 is
    emulated and the convolutions leave cuDNN's tensor-core kernels — fp16 with loss scaling is the fast
    choice there."""
    major, _minor = torch.cuda.get_device_capability(device)
    return major >= 8


def _cpu_has_fast_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private op: absent in some builds
        return False


def _check_finite(losses: dict[str, torch.Tensor], ctx: DistContext, step: int) -> None:
    bad = [k for k, v in losses.items() if not torch.isfinite(v.detach()).all()]
    # Every rank must agree, or one would wait forever in the next all-reduce.
    if ctx.all_flags(bool(bad)):
        raise NonFiniteLossError(
            f"loss {', '.join(bad) or '(on another rank)'} became NaN/inf at step {step + 1}; training stopped "
            "before the update"
        )


class Stage:
    """Common parts: device placement, memory format, mixed precision, optimizer state."""

    def __init__(self, ctx: DistContext, precision: str, channels_last: bool) -> None:
        self.ctx = ctx
        self.device = ctx.device
        self.precision = resolve_precision(precision, ctx.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        # fp16 needs loss scaling; bf16 and fp32 do not.
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.part_weights: dict[str, float] | None = None  # extra L1 weight per region (losses.part_weighted_l1)

    def _place(self, module: nn.Module) -> nn.Module:
        return module.to(self.device, memory_format=self.memory_format)

    def _inputs(self, batch: dict, *keys: str) -> list[torch.Tensor]:
        """The batch's tensors ``keys`` on the device, a compact batch (``data/compact.py``) expanded there:
        one byte per value crosses to the device, and the float conversion is the device's work."""
        moved = expand_batch({k: batch[k].to(self.device, non_blocking=True) for k in keys})
        return [moved[k].contiguous(memory_format=self.memory_format) for k in keys]

    def _g1_extras(self, batch: dict) -> dict[str, torch.Tensor]:
        """G1's body-proxy inputs (``models/inputs.g1_inputs``): flow/visibility for a G1 that warps I_A, the
        surface map for a texture-space latent, nothing for PG2's G1."""
        extras = g1_inputs(unwrap(self.models["g1"]).config, batch_maps(batch), how=EXTRAS_HINT)
        fmt = self.memory_format
        return {k: v.to(self.device, non_blocking=True).contiguous(memory_format=fmt) for k, v in extras.items()}

    def _l1(self, pred: torch.Tensor, batch: dict, image_b: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
        """PG2's masked L1, plus the part weights when they are set (parts: exact if the batch has them)."""
        if not self.part_weights:
            return masked_l1(pred.float(), image_b, mask_b)
        key = "parts_b" if "parts_b" in batch else "proxy_parts_b"
        if key not in batch:
            raise ValueError("part-weighted L1 needs part maps: build the dataset with extras")
        regions = part_regions(batch[key].to(self.device))
        return part_weighted_l1(pred.float(), image_b, mask_b, regions, self.part_weights)

    def autocast(self) -> AbstractContextManager:
        return autocast_context(self.device, self.precision)

    def _backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
            self.scaler.update()
        else:
            loss.backward()
            opt.step()

    def state_dict(self) -> dict:
        return {
            "models": {k: unwrap(m).state_dict() for k, m in self.models.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.models.items():
            unwrap(m).load_state_dict(state["models"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def set_hyperparameters(self, lr: float, betas: tuple[float, float], d_lr: float | None = None) -> None:
        """Apply learning rates and betas to the optimizers — after ``load_state_dict``, which restores the
        checkpoint's values, so that a resumed run trains with the configuration it records."""
        for name, opt in self.optimizers.items():
            for group in opt.param_groups:
                base = d_lr if (name == "d" and d_lr is not None) else lr
                group["lr"] = base * group.get("lr_scale", 1.0)  # e.g. the cVAE's latent path (Stage2)
                group["betas"] = tuple(betas)

    def non_finite_tensors(self) -> list[str]:
        """Names of weights, buffers and optimizer-state tensors holding NaN/inf (empty when all are finite)."""
        named = [(f"{k}.{n}", t) for k, m in self.models.items() for n, t in unwrap(m).state_dict().items()]
        for k, opt in self.optimizers.items():
            for i, st in enumerate(opt.state.values()):
                named += [(f"optimizer {k}: param {i} {n}", t) for n, t in st.items() if isinstance(t, torch.Tensor)]
        named = [(n, t) for n, t in named if t.is_floating_point()]
        if not named:
            return []
        # Fast path, run every step: a sum is NaN/inf when any element is (and it is ~25× cheaper than
        # isfinite(t).all() on a CPU); one device sync for all tensors. Only then look tensor by tensor.
        sums = torch.stack([t.detach().float().sum().to(self.device) for _, t in named])
        if bool(torch.isfinite(sums).all()):
            return []
        return [n for n, t in named if not bool(torch.isfinite(t).all())]

    def train(self) -> None:
        for m in self.models.values():
            m.train()

    def release(self) -> None:
        """Drop the DDP wrappers (once the process group is gone they only hold it alive)."""
        self.models = {k: unwrap(m) for k, m in self.models.items()}

    def eval(self) -> None:
        for m in self.models.values():
            m.eval()


class Stage2(Stage):
    """G1 alone, trained with ``L_G1 = mean(|G1(I_A, P_B) − I_B| ⊙ (1 + M_B))``.

    A conditional-VAE G1 (``G1Config.latent_channels > 0``) takes ``z`` from its posterior (it sees I_B) and
    adds ``β · mean KL(q ‖ p)``, β warming up over ``kl_warmup`` steps (``losses.kl_weight_at``), the first
    ``kl_free_bits`` nats per latent element free (``losses.kl_free_bits``), the posterior's sampling noise
    rising over ``noise_warmup`` steps (``losses.noise_scale_at``), plus ``latent_regression · mean|read − z|``
    for a ``z`` drawn from the prior and read back from its image (``models.cvae.Latents``); the latent path
    learns at ``latent_lr_scale`` × ``lr``."""

    def __init__(
        self,
        g1: G1,
        lr: float,
        betas: tuple[float, float],
        ctx: DistContext,
        precision: str = "auto",
        channels_last: bool = True,
        part_weights: dict[str, float] | None = None,
        kl_weight: float = 0.005,
        kl_warmup: int = 250,
        kl_free_bits: float = 0.0,
        latent_lr_scale: float = 1.0,
        noise_warmup: int = 0,
        latent_regression: float = 0.0,
    ) -> None:
        super().__init__(ctx, precision, channels_last)
        self.part_weights = part_weights
        self.kl_weight, self.kl_warmup, self.kl_free_bits = kl_weight, kl_warmup, kl_free_bits
        self.noise_warmup, self.latent_regression = noise_warmup, latent_regression
        self.cvae = g1.config.latent_channels > 0
        if latent_regression and not self.cvae:
            raise ValueError("latent_regression needs a conditional-VAE G1 (G1Config.latent_channels > 0)")
        self.models["g1"] = ctx.wrap(self._place(g1))
        groups: list[dict] = [{"params": list(self.models["g1"].parameters())}]
        if self.cvae and latent_lr_scale != 1.0:
            # The latent path starts near zero; Adam moves a weight by about lr per step, so at G1's rate it
            # takes thousands of steps before z can say anything. Its own, larger rate shortens that.
            latent = {id(q) for q in g1.latent.parameters()}
            groups = [
                {"params": [q for q in g1.parameters() if id(q) not in latent]},
                {"params": list(g1.latent.parameters()), "lr": lr * latent_lr_scale, "lr_scale": latent_lr_scale},
            ]
        self.optimizers["g"] = torch.optim.Adam(groups, lr=lr, betas=betas)

    def train_step(self, batch: dict, step: int) -> dict[str, float]:
        image_a, pose_b, image_b, mask_b = self._inputs(batch, "image_a", "pose_b", "image_b", "mask_b")
        opt = self.optimizers["g"]
        opt.zero_grad(set_to_none=True)
        extras = self._g1_extras(batch)
        if self.cvae:
            extras.update(image_b=image_b, mask_b=mask_b, return_latents=True)
            if self.latent_regression:
                extras["regress_latent"] = True
            if self.noise_warmup:
                shape = unwrap(self.models["g1"]).latent_shape(image_b.shape[0])
                noise = torch.randn(shape, device=image_b.device) * noise_scale_at(step, self.noise_warmup)
                extras["noise"] = noise
        with self.autocast():
            fake = self.models["g1"](image_a, pose_b, **extras)
        if not self.cvae:
            loss = self._l1(fake, batch, image_b, mask_b)  # the loss itself in fp32
            _check_finite({"l1": loss}, self.ctx, step)
            self._backward_step(loss, opt)
            return {"loss": loss.item()}
        fake, (prior, posterior, regression) = fake
        l1 = self._l1(fake, batch, image_b, mask_b)
        kl_elements = gaussian_kl(posterior.mean, posterior.logvar, prior.mean, prior.logvar)
        kl = kl_elements.mean()  # reported; the loss may leave the first free_bits nats per element unpaid
        loss = l1 + kl_weight_at(step, self.kl_weight, self.kl_warmup) * kl_free_bits(kl_elements, self.kl_free_bits)
        terms = {"l1": l1, "kl": kl}
        if regression is not None:
            drawn, read = regression
            terms["latent"] = (read.float() - drawn.float()).abs().mean()
            loss = loss + self.latent_regression * terms["latent"]
        _check_finite(terms, self.ctx, step)
        self._backward_step(loss, opt)
        return {"loss": loss.item(), **{k: v.item() for k, v in terms.items()}}

    @torch.no_grad()
    def predict(self, batch: dict) -> dict[str, torch.Tensor]:
        image_a, pose_b = self._inputs(batch, "image_a", "pose_b")
        extras = self._g1_extras(batch)
        with self.autocast():
            return {"G1": unwrap(self.models["g1"])(image_a, pose_b, **extras).float()}


class Stage3(Stage):
    """G2 (and optionally G1) against a conditional DCGAN discriminator:
    ``L_G2 = L_adv + λ · mean(|Î_B2 − I_B| ⊙ (1 + M_B))`` with ``Î_B2 = Î_B1 + G2(I_A, Î_B1)``."""

    def __init__(
        self,
        g1: G1,
        g2: G2,
        disc: Discriminator,
        *,
        lr: float,
        d_lr: float,
        betas: tuple[float, float],
        ctx: DistContext,
        lambda_l1: float = 10.0,
        adv_loss: str = "bce",
        d_steps_per_g: int = 1,
        real_label: float = 1.0,
        condition_fake: bool = False,
        finetune_g1: bool = False,
        precision: str = "auto",
        channels_last: bool = True,
        part_weights: dict[str, float] | None = None,
        lambda_part_fm: float = 0.0,
    ) -> None:
        super().__init__(ctx, precision, channels_last)
        self.part_weights, self.lambda_part_fm = part_weights, lambda_part_fm
        if d_steps_per_g < 1:
            raise ValueError(f"d_steps_per_g must be ≥ 1, got {d_steps_per_g}")
        self.lambda_l1, self.adv_loss, self.d_steps = lambda_l1, adv_loss, d_steps_per_g
        self.real_label, self.condition_fake, self.finetune_g1 = real_label, condition_fake, finetune_g1
        g1 = self._place(g1)
        if finetune_g1:
            g1 = ctx.wrap(g1)
        else:
            g1.requires_grad_(False)
        self.models = {"g1": g1, "g2": ctx.wrap(self._place(g2)), "d": ctx.wrap(self._place(disc))}
        g_params = list(self.models["g2"].parameters())
        if finetune_g1:
            g_params += list(self.models["g1"].parameters())
        self.optimizers["g"] = torch.optim.Adam(g_params, lr=lr, betas=betas)
        self.optimizers["d"] = torch.optim.Adam(self.models["d"].parameters(), lr=d_lr, betas=betas)

    def train(self) -> None:
        super().train()
        if not self.finetune_g1:
            self.models["g1"].eval()  # a frozen G1 stays in inference mode

    def _d_step(self, image_a: torch.Tensor, image_b: torch.Tensor, fake: torch.Tensor, step: int) -> torch.Tensor:
        opt = self.optimizers["d"]
        opt.zero_grad(set_to_none=True)
        conds = [image_a, image_a] + ([image_a] if self.condition_fake else [])
        targets = [image_b, fake.detach()] + ([image_a] if self.condition_fake else [])
        with self.autocast():
            logits = self.models["d"](torch.cat(conds), torch.cat(targets)).float()
        n = image_a.shape[0]
        loss = discriminator_loss(logits[:n], logits[n:], kind=self.adv_loss, real_label=self.real_label)
        _check_finite({"d": loss}, self.ctx, step)
        self._backward_step(loss, opt)
        return loss

    def train_step(self, batch: dict, step: int) -> dict[str, float]:
        image_a, pose_b, image_b, mask_b = self._inputs(batch, "image_a", "pose_b", "image_b", "mask_b")
        extras = self._g1_extras(batch)
        with self.autocast():
            grad_ctx = nullcontext() if self.finetune_g1 else torch.no_grad()
            with grad_ctx:
                coarse = self.models["g1"](image_a, pose_b, **extras)
            fake = self.models["g2"](image_a, coarse, mask_b, **self._g2_extras(batch))
        for _ in range(self.d_steps):
            d_loss = self._d_step(image_a, image_b, fake, step)
        opt = self.optimizers["g"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            g_logits = self.models["d"](image_a, fake).float()
        adv = generator_adversarial_loss(g_logits, kind=self.adv_loss)
        l1 = self._l1(fake, batch, image_b, mask_b)
        loss = adv + self.lambda_l1 * l1
        out = {}
        if self.lambda_part_fm > 0:
            fm = self._part_fm(batch, image_a, image_b, fake)
            loss = loss + self.lambda_part_fm * fm
            out["g_part_fm"] = fm.item()
        _check_finite({"g": loss}, self.ctx, step)
        self._backward_step(loss, opt)
        # D also received gradients from the generator's loss; they are discarded at D's next zero_grad.
        return {"loss": loss.item(), "g_adv": adv.item(), "g_l1": l1.item(), "d": d_loss.item(), **out}

    def _g2_extras(self, batch: dict) -> dict[str, torch.Tensor]:
        """G2's body-proxy inputs (``models/inputs.g2_inputs``): the silhouette, flow, visibility its add-ons read."""
        how = EXTRAS_HINT + "; the silhouette comes from its proxy_parts_b"
        return g2_inputs(unwrap(self.models["g2"]).config, batch_maps(batch), self.device, how)

    def _part_fm(self, batch: dict, image_a: torch.Tensor, image_b: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Feature matching on D's features over the face and torso (``losses.part_feature_matching``)."""
        key = "parts_b" if "parts_b" in batch else "proxy_parts_b"
        if key not in batch:
            raise ValueError("the part feature-matching term needs part maps: build the dataset with extras")
        regions = part_regions(batch[key].to(self.device))
        part_mask = ((regions == REGION_NAMES.index("head")) | (regions == REGION_NAMES.index("torso"))).unsqueeze(1)
        d = unwrap(self.models["d"])
        with self.autocast():
            real = d.feature_maps(image_a, image_b)
            fake_f = d.feature_maps(image_a, fake)
        return part_feature_matching(fake_f, real, part_mask)

    @torch.no_grad()
    def predict(self, batch: dict) -> dict[str, torch.Tensor]:
        image_a, pose_b, mask_b = self._inputs(batch, "image_a", "pose_b", "mask_b")
        extras = self._g1_extras(batch)
        with self.autocast():
            coarse = unwrap(self.models["g1"])(image_a, pose_b, **extras)
            refined = unwrap(self.models["g2"])(image_a, coarse, mask_b, **self._g2_extras(batch))
        return {"G1": coarse.float(), "G1+G2": refined.float()}
