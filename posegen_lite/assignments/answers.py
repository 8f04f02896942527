"""The instructor's side of the checks: reference steps, the stored answers and the hidden cases.

Everything here calls the package's reference implementations, so it is **not** part of the student build
(``student_build``): ``compute_stored_answers`` makes ``stored_answers.json`` (the public checks' values, which
ship); ``hidden_cases.cases_for`` makes the hidden checks' cases from these steps for a secret seed (stored only
in the autograder, read by ``hidden``). Both run at build time, with the full package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checks import STORED_FILE, fingerprint

# --- reference steps (the answers of g1_step and gan_step, with the losses passed in) -----------------------


def reference_g1_step(g1, opt, batch: dict, loss_fn: Callable) -> float:
    """One G1 step on ``loss_fn(G1(I_A, P_B), I_B, M_B)``; the loss before the update."""
    opt.zero_grad()
    loss = loss_fn(g1(batch["image_a"], batch["pose_b"]), batch["image_b"], batch["mask_b"])
    loss.backward()
    opt.step()
    return float(loss.detach())


def reference_gan_step(g2, disc, opt_g, opt_d, batch, coarse, lam, d_loss, g_adv_loss, l1) -> dict[str, float]:
    """One D update on the detached fake, then one G2 update on ``g_adv + lam · l1``."""
    a, b, m = batch["image_a"], batch["image_b"], batch["mask_b"]
    fake = g2(a, coarse)
    opt_d.zero_grad()
    d = d_loss(disc(a, b), disc(a, fake.detach()))
    d.backward()
    opt_d.step()
    opt_g.zero_grad()
    adv = g_adv_loss(disc(a, fake))
    loss_l1 = l1(fake, b, m)
    (adv + lam * loss_l1).backward()
    opt_g.step()
    return {"d": float(d.detach()), "g_adv": float(adv.detach()), "g_l1": float(loss_l1.detach())}


def _rounded(values) -> list:
    return np.round(np.asarray(values, np.float64), 8).tolist()


# --- the public checks' stored values -----------------------------------------------------------------------


def compute_stored_answers() -> dict:
    """Every value a public check compares against that would otherwise need a reference implementation."""
    from ..evaluation.metrics import bbox_ssim
    from ..geometry.camera import rotate_about_body_axis
    from ..geometry.skeleton import reference_pose
    from ..training.losses import masked_l1
    from . import evaluation, stage1, stage2

    pose = stage1.public_pose()
    cam = stage1._test_camera()
    pts = reference_pose().astype(np.float64) @ cam.R + cam.t  # the R.T mistake: X @ R instead of X @ R.T
    wrong = (pts[:, :2] / pts[:, 2:3]) @ cam.K[:2, :2].T + cam.K[:2, 2]
    pred, target, mask = stage2.public_masked_l1_batch()
    g1_steps = _g1_step_answers(stage2.probe_loss)
    gan = _gan_step_answers(seed=0, lam=10.0)
    p, t, m = evaluation._example_images()
    return {
        "stage1": {"rotated_90": _rounded(rotate_about_body_axis(pose, 90.0)), "projected_with_R_T": _rounded(wrong)},
        "stage2": {"masked_l1_batch": float(masked_l1(pred, target, mask)), "g1_step": g1_steps},
        "stage3": {"g_adv_at_minus_8": float(-F.logsigmoid(torch.tensor(-8.0))), "gan_step": gan},
        "evaluation": {"box_ssim_example": bbox_ssim(p, t, m), "ablation": _ablation_answers()},
    }


def write_stored_answers(path: str | Path = STORED_FILE) -> Path:
    """Recompute and store them (after a deliberate change of the package's conventions)."""
    path = Path(path)
    text = json.dumps(compute_stored_answers(), indent=1)
    # one line per list of numbers: the file stays short enough to read
    text = re.sub(
        r"\[[-0-9.,\seE]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"), text
    )
    path.write_text(text + "\n")
    return path


def _g1_step_answers(loss_fn: Callable) -> dict:
    from . import stage2

    batch, g1 = stage2.tiny_batch(seed=0), stage2.tiny_g1(seed=0)
    opt = torch.optim.SGD(g1.parameters(), lr=0.1)
    out = {}
    for k in (1, 2):
        out[f"loss_{k}"] = reference_g1_step(g1, opt, batch, loss_fn)
        out[f"weights_{k}"] = _rounded(fingerprint(g1))
    return out


def _gan_step_answers(seed: int, lam: float, state: dict | None = None) -> dict:
    from . import stage2, stage3

    batch = stage2.tiny_batch(seed=seed)
    coarse = (batch["image_b"] * 0.5).clamp(-1, 1)
    g2, disc = stage3.tiny_gan(seed=seed)
    opt_g, opt_d = torch.optim.SGD(g2.parameters(), lr=0.05), torch.optim.SGD(disc.parameters(), lr=0.05)
    losses = reference_gan_step(
        g2, disc, opt_g, opt_d, batch, coarse, lam, stage3.probe_d_loss, stage3.probe_g_adv_loss, stage2.probe_loss
    )
    return {**losses, "disc": _rounded(fingerprint(disc)), "g2": _rounded(fingerprint(g2))}


def _ablation_answers() -> dict:
    """The notebook's four predictors on the stored batch, with the probe standing in for ``box_ssim``."""
    from ..evaluation import G1G2Predictor, G1Predictor, IdentityBaseline
    from ..models.weights import load_models
    from ..resources import pg2_weights
    from . import evaluation

    models = load_models(pg2_weights())
    predictors = {
        "identity": IdentityBaseline(),
        "G1": G1Predictor(models["g1"]),
        "G1+G2": G1G2Predictor(models["g1"], models["g2"]),
        "G1, no pose": evaluation.pose_ablated(G1Predictor(models["g1"])),
    }
    table = evaluation.reference_ablation(predictors, evaluation.ablation_batch(), box_metric=evaluation.probe_box_ssim)
    return {name: {k: round(v, 6) for k, v in row.items()} for name, row in table.items()}
