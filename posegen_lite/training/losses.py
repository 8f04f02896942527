"""Training losses: PG2's pose-masked L1 and the adversarial losses of Stage III (pure functions).

Masked L1 (PG2 eq. 1)::

    L_G1 = mean( |pred − target| ⊙ (1 + M_B) )

Body pixels count twice and background pixels once: the body matters most, the background is still learned.
The adversarial losses take D's logits of real pairs ``r`` and generated pairs ``f``: ``"bce"`` (D: −mean(y·log σ(r)
+ (1−y)·log(1−σ(r))) − mean(log(1−σ(f))); G: −mean(log σ(f)), non-saturating) or ``"hinge"`` (D: mean(relu(1−r))
+ mean(relu(1+f)); G: −mean(f)). A real label y < 1 is one-sided label smoothing (Salimans et al. 2016). D's loss
is the sum of its two halves (DCGAN), so a D that cannot tell them apart has a BCE loss of 2·log 2 ≈ 1.386.
PG2's (I_A, I_A) fake pairs are the loop's to add to ``f``. Every loss is computed in float32 even under
autocast: a mean over millions of bf16 terms loses precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ADVERSARIAL_KINDS = ("bce", "hinge")


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """PG2's pose-masked L1: ``mean(|pred − target| ⊙ (1 + mask))`` → scalar float32 tensor.

    Args:
        pred: ``(B, C, H, W)`` generated images (in [-1, 1] by convention; not checked here).
        target: ``(B, C, H, W)`` target images, same shape.
        mask: ``(B, 1, H, W)`` target body mask M_B, values in {0, 1}; broadcast over the C channels.
    The mean runs over all ``B·C·H·W`` elements, so an all-zero mask gives the plain L1.
    Raises ``ValueError`` on mismatched shapes.
    """
    if pred.dim() != 4:
        raise ValueError(f"masked_l1: pred must be (B, C, H, W), got {tuple(pred.shape)}")
    if pred.shape != target.shape:
        raise ValueError(f"masked_l1: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    b, _, h, w = pred.shape
    if tuple(mask.shape) != (b, 1, h, w):
        raise ValueError(f"masked_l1: mask must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(mask.shape)}")
    return ((pred.float() - target.float()).abs() * (1.0 + mask.float())).mean()


def _check_logits(name: str, logits: torch.Tensor) -> torch.Tensor:
    if logits.numel() == 0:
        raise ValueError(f"{name}: empty logits")
    return logits.float()


def _check_kind(kind: str) -> None:
    if kind not in ADVERSARIAL_KINDS:
        raise ValueError(f"adversarial loss kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "bce", real_label: float = 1.0
) -> torch.Tensor:
    """The discriminator's loss (table in the module docstring) → scalar float32 tensor.

    Args:
        real_logits: D's logits on real pairs ``(B,)``.
        fake_logits: D's logits on generated pairs ``(B',)`` (detach the generator's output first).
        kind: ``"bce"`` or ``"hinge"``.
        real_label: target for real pairs in the BCE loss; < 1 gives one-sided label smoothing (0.9 is
            the usual choice). Must be 1 for the hinge loss, which has no labels to smooth.
    """
    _check_kind(kind)
    real, fake = _check_logits("real_logits", real_logits), _check_logits("fake_logits", fake_logits)
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], got {real_label}")
    if kind == "hinge":
        if real_label != 1.0:
            raise ValueError("label smoothing (real_label < 1) applies to the BCE loss only, not to hinge")
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    real_loss = F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
    fake_loss = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    return real_loss + fake_loss


def generator_adversarial_loss(fake_logits: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """The generator's adversarial loss on D's logits for generated pairs ``(B,)`` → scalar float32 tensor.

    BCE uses the non-saturating form ``−log σ(f)`` (Goodfellow et al. 2014), which keeps strong gradients
    while D still wins easily; hinge uses ``−mean(f)``.
    """
    _check_kind(kind)
    fake = _check_logits("fake_logits", fake_logits)
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


# --- part-aware terms ------------------------------------------------------------------------------------

# Extra L1 weight per region (``geometry.proxy.REGION_NAMES``) on top of PG2's ``1 + M_B``: detail regions
# (face, hands, the shirt print on the torso, shoes) count more than the large smooth areas around them.
DEFAULT_PART_WEIGHTS: dict[str, float] = {"head": 3.0, "torso": 1.0, "hands": 2.0, "feet": 1.0}


def region_weight_map(regions: torch.Tensor, weights: dict[str, float]) -> torch.Tensor:
    """Per-pixel extra weight ``(B, 1, H, W)`` float32 from region ids ``(B, H, W)`` (``proxy.part_regions``;
    0 = background) and ``{region name: weight}``. Unknown region names raise ``ValueError``."""
    from posegen_lite.geometry.proxy import REGION_NAMES

    unknown = set(weights) - set(REGION_NAMES[1:])
    if unknown:
        raise ValueError(f"unknown regions {sorted(unknown)}; choose from {REGION_NAMES[1:]}")
    table = torch.zeros(len(REGION_NAMES), dtype=torch.float32, device=regions.device)
    for name, w in weights.items():
        table[REGION_NAMES.index(name)] = float(w)
    return table[regions.long().clamp(0, len(REGION_NAMES) - 1)].unsqueeze(1)


def part_weighted_l1(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, regions: torch.Tensor, weights: dict[str, float]
) -> torch.Tensor:
    """PG2's masked L1 with extra weight on body parts: ``mean(|pred − target| ⊙ (1 + M_B + w(region)))``.

    ``regions``: ``(B, H, W)`` int region ids (0 = background, ``proxy.REGION_NAMES``) — from the renderer's
    exact parts for synthetic data, from the body proxy for real data; ``weights``: ``{region: extra weight}``
    (e.g. ``DEFAULT_PART_WEIGHTS``). With no weights it is exactly ``masked_l1``. Scalar float32 tensor.
    """
    if tuple(regions.shape) != (pred.shape[0], *pred.shape[2:]):
        raise ValueError(f"part_weighted_l1: regions must be (B, H, W), got {tuple(regions.shape)}")
    base = masked_l1(pred, target, mask)  # also checks the shapes
    if not weights:
        return base
    extra = region_weight_map(regions, weights)
    return base + ((pred.float() - target.float()).abs() * extra).mean()


def part_feature_matching(
    fake_features: list[torch.Tensor], real_features: list[torch.Tensor], part_mask: torch.Tensor
) -> torch.Tensor:
    """Feature matching on the discriminator's feature maps, only where ``part_mask (B, 1, H, W)`` (e.g. face
    and torso) is set: per layer, ``sum(|f_fake − f_real| ⊙ m) / (sum(m)·C)`` with ``m`` the mask average-
    pooled to the layer's size; averaged over layers. The real features are treated as constants. A batch
    without any part pixel gives 0."""
    if len(fake_features) != len(real_features) or not fake_features:
        raise ValueError("part_feature_matching: need the same non-empty list of feature maps for fake and real")
    total = torch.zeros((), dtype=torch.float32, device=part_mask.device)
    for f, r in zip(fake_features, real_features, strict=True):
        m = F.adaptive_avg_pool2d(part_mask.float(), (f.shape[2], f.shape[3]))
        diff = (f.float() - r.detach().float()).abs() * m
        total = total + diff.sum() / (m.sum() * f.shape[1]).clamp_min(1e-6)
    return total / len(fake_features)


def gaussian_kl(
    mean_q: torch.Tensor, logvar_q: torch.Tensor, mean_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(q ‖ p) of two diagonal Gaussians, per element (nats), same shape as the inputs::

        KL = ½ · ( log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²) / σ_p² − 1 )

    The conditional VAE's term (``models/cvae.py``): the posterior q(z | I_B, P_B, I_A) against the learned
    prior p(z | I_A, P_B). Zero when q = p; for p = N(0, 1) it is the VAE's familiar
    ``½ (σ² + μ² − 1 − log σ²)``. Computed in float32; take ``.mean()`` for the loss (``kl_weight`` scales the
    mean per latent element).
    """
    shapes = {tuple(t.shape) for t in (mean_q, logvar_q, mean_p, logvar_p)}
    if len(shapes) != 1:
        raise ValueError(f"gaussian_kl: all four tensors must have one shape, got {sorted(shapes)}")
    mq, lq, mp, lp = (t.float() for t in (mean_q, logvar_q, mean_p, logvar_p))
    return 0.5 * (lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1.0)


def kl_free_bits(kl: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL term with "free bits" (Kingma et al. 2016): per latent element, the batch-mean KL ``(k, h, w)``,
    raised to at least ``free_bits`` nats, then averaged. Below ``free_bits`` an element's information costs
    nothing, so the posterior is not pushed to collapse onto the prior before the decoder has learned to use
    ``z``. ``kl`` is ``gaussian_kl``'s per-element ``(B, k, h, w)``; ``free_bits = 0`` gives ``kl.mean()``."""
    if not (free_bits >= 0):
        raise ValueError(f"free_bits must be ≥ 0 nats, got {free_bits!r}")
    return kl.mean(dim=0).clamp_min(free_bits).mean()


def noise_scale_at(step: int, warmup: int) -> float:
    """The factor on the posterior's sampling noise at ``step`` (0-based): ``z = μ + t·σ·ε`` with ``t`` rising
    linearly from ``1 / warmup`` to 1 over ``warmup`` steps (``warmup = 0``: 1 from the start).

    Why: a fresh latent path's ``z`` is noise (σ = 1) around a mean that says nothing yet, so the decoder
    learns to ignore ``z`` before the mean can say anything (posterior collapse). With little noise at first,
    the first steps train an autoencoder through ``z``; the noise (and, with ``kl_weight_at``, the KL term)
    comes in once the decoder reads ``z``."""
    if warmup <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup)


def kl_weight_at(step: int, weight: float, warmup: int) -> float:
    """β at ``step`` (0-based): rises linearly from ``weight / warmup`` to ``weight`` over ``warmup`` steps
    (Bowman et al. 2016's KL annealing: the decoder first learns to use ``z`` before the KL squeezes it)."""
    if warmup <= 0:
        return weight
    return weight * min(1.0, (step + 1) / warmup)
