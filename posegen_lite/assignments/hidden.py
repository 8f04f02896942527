"""The hidden checks: the student's functions on stored cases (other inputs than the public checks).

Shipped only inside the autograder, with ``hidden_<assignment>.pt`` beside it: the cases' inputs and the
outputs of the instructor's package for a secret seed (``hidden_cases``, run at build time). So grading needs
no reference implementation and works against the student build. Without the stored file (the instructor's
own package, the tests) the cases are made on the spot with a fresh random seed. Each check is at least as
strict as its public one and, like it, feeds the function reference versions of what it depends on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .checks import assert_close, attempt, check_shape, scalar_tensor, with_references


@lru_cache(maxsize=4)
def cases(assignment: str) -> dict[str, list[dict]]:
    """The stored cases of ``assignment`` (made on the spot, with a random seed, where none are stored)."""
    stored = Path(__file__).with_name(f"hidden_{assignment}.pt")
    if stored.is_file():
        return torch.load(stored, weights_only=False)
    from .hidden_cases import cases_for  # the instructor's package only

    return cases_for(assignment)


def check(assignment: str, question: str, fn, **given) -> None:
    """Run the hidden check of ``question`` on the student's ``fn`` (``given``: other notebook variables)."""
    CHECKS[question](fn, cases(assignment)[question], **given)


# --- stage 1 ------------------------------------------------------------------------------------------------


def rotate_yaw(fn, cases: list[dict]) -> None:
    for c in cases:
        pose, yaw = c["pose"], c["yaw"]
        given = pose.copy()
        out = check_shape(attempt(fn, given, yaw), (18, 3), f"rotate_yaw(pose, {yaw:.1f})")
        if not np.array_equal(given, pose, equal_nan=True):
            raise AssertionError("rotate_yaw modified its input array in place: return a new array")
        if not np.array_equal(np.isnan(out).any(axis=1), np.isnan(pose).any(axis=1)):
            raise AssertionError(
                "missing joints (NaN) must stay NaN and no present joint may become NaN "
                "(take the hip centre from the two hips, which are always present here)"
            )
        assert_close(out, c["want"], 1e-4, f"wrong result for another pose at {yaw:.1f}°")
        twice = attempt(fn, attempt(fn, pose.copy(), yaw), c["yaw2"])
        assert_close(twice, c["want2"], 1e-3, "turning by θ then by θ' should equal one turn by θ + θ'")


def project(fn, cases: list[dict]) -> None:
    for c in cases:
        got = check_shape(attempt(fn, c["points"], c["K"], c["R"], c["t"]), (18, 2), "project")
        assert_close(got, c["want"], 1e-2, "wrong pixels for another camera")


def draw_pose_maps(fn, cases: list[dict]) -> None:
    for c in cases:
        h, w, r = c["h"], c["w"], c["radius"]
        got = check_shape(attempt(fn, c["xy"], c["visible"], h, w, r), (18, h, w), "draw_pose_maps")
        bad = int((got != c["want"]).sum())
        if bad:
            raise AssertionError(
                f"{bad} pixels differ from the reference disc maps ({h}×{w}, radius {r:.2f}; a pixel at exactly "
                "the radius is inside: dx² + dy² ≤ r²; joints outside the image draw nothing)"
            )


# --- stage 2 ------------------------------------------------------------------------------------------------


def masked_l1(fn, cases: list[dict]) -> None:
    for c in cases:
        pred = c["pred"].clone().requires_grad_(True)
        got = scalar_tensor(attempt(fn, pred, c["target"], c["mask"]), "masked_l1")
        if not got.requires_grad:
            raise AssertionError("the loss does not depend on pred for autograd: stay in torch (no .item(), numpy)")
        got = got.detach()
        empty = "" if c["mask"].any() else " with an all-zero mask (the plain L1)"
        assert_close(float(got), c["want"], 1e-5, f"wrong value on a {tuple(c['pred'].shape)} batch{empty}")


def _g1(c: dict):
    from . import stage2

    g1 = stage2.tiny_g1(c["size"], width=c["width"])
    g1.load_state_dict(c["state"])
    return g1


def g1_step(fn, cases: list[dict]) -> None:
    from . import stage2

    step = with_references(fn, masked_l1=stage2.probe_loss)
    for c in cases:
        g1 = _g1(c)
        opt = torch.optim.Adam(g1.parameters(), 1e-3)
        for k, want in enumerate(c["losses"]):
            assert_close(
                float(attempt(step, g1, opt, c["batch"], name="g1_step")),
                want,
                1e-4,
                f"step {k + 1} of 3 (Adam): the loss differs from the reference step's",
            )
        got = torch.cat([p.detach().flatten() for p in g1.parameters()])
        assert_close(got, c["weights"], 1e-4, "after three Adam steps the weights differ from the reference")


def _l1(pred, target, mask):
    return ((pred - target).abs() * (1 + mask)).mean()


def _step(g1, optimizer, batch):
    optimizer.zero_grad()
    loss = _l1(g1(batch["image_a"], batch["pose_b"]), batch["image_b"], batch["mask_b"])
    loss.backward()
    optimizer.step()
    return loss.item()


def overfit(fn, cases: list[dict]) -> None:
    from . import stage2

    run = with_references(fn, g1_step=_step, masked_l1=_l1)  # only the loop is under test here
    for c in cases:
        losses = attempt(run, _g1(c), c["batch"], stage2.OVERFIT_STEPS, stage2.OVERFIT_LR, name="overfit_one_batch")
        stage2.check_overfit(losses)


# --- stage 3 ------------------------------------------------------------------------------------------------


def d_loss(fn, cases: list[dict]) -> None:
    for c in cases:
        got = scalar_tensor(attempt(fn, c["real"], c["fake"]), "d_loss")
        if not torch.isfinite(got):
            raise AssertionError("the loss is inf/NaN at extreme logits: use F.logsigmoid / BCE-with-logits")
        assert_close(
            float(got),
            c["want"],
            1e-4,
            f"wrong value for {len(c['real'])} real and {len(c['fake'])} fake logits (each half is its own mean)",
        )


def g_adv_loss(fn, cases: list[dict]) -> None:
    for c in cases:
        got = scalar_tensor(attempt(fn, c["fake"]), "g_adv_loss")
        if not torch.isfinite(got):
            raise AssertionError("the loss is inf/NaN at extreme logits: use F.logsigmoid / BCE-with-logits")
        assert_close(float(got), c["want"], 1e-4, "wrong value on other logits")


def gan_step(fn, cases: list[dict]) -> None:
    from . import stage2, stage3

    step = with_references(
        fn, d_loss=stage3.probe_d_loss, g_adv_loss=stage3.probe_g_adv_loss, masked_l1=stage2.probe_loss
    )
    for c in cases:
        g2, disc = stage3.tiny_gan()
        g2.load_state_dict(c["g2_state"])
        disc.load_state_dict(c["disc_state"])
        out, calls = stage3._run_gan_step(step, g2, disc, c["batch"], c["coarse"], c["lam"])
        stage3.explain_backward_calls(calls)
        for key in ("d", "g_adv", "g_l1"):
            assert_close(float(out[key]), c["losses"][key], 1e-4, f"the returned {key!r} differs (λ = {c['lam']:.2f})")
        assert_close(
            torch.cat([p.detach().flatten() for p in disc.parameters()]), c["disc"], 1e-5, "D's weights differ"
        )
        assert_close(
            torch.cat([p.detach().flatten() for p in g2.parameters()]),
            c["g2"],
            1e-5,
            f"G2's weights differ after one step on g_adv + λ·g_l1 (λ = {c['lam']:.2f})",
        )


# --- evaluation ---------------------------------------------------------------------------------------------


def body_box(fn, cases: list[dict]) -> None:
    for c in cases:
        got = attempt(fn, c["mask"]) if c["want"] is not None else _empty_box(fn, c["mask"])
        got = None if got is None else tuple(int(v) for v in got)
        if got != c["want"]:
            raise AssertionError(f"wrong box for a {c['mask'].shape} mask: got {got}, expected {c['want']}")


def _empty_box(fn, mask):
    try:
        return fn(mask)
    except Exception as e:  # any error: the message names what went wrong
        raise AssertionError(f"an empty mask should give None, but body_box raised {type(e).__name__}: {e}") from None


def _box_ssim(pred, target, mask):
    from ..evaluation.metrics import ssim
    from .evaluation import grow_box

    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = grow_box((rows[0], rows[-1] + 1, cols[0], cols[-1] + 1), *mask.shape)
    return ssim(pred[top:bottom, left:right], target[top:bottom, left:right])


def box_ssim(fn, cases: list[dict]) -> None:
    for c in cases:
        got = float(attempt(fn, c["pred"], c["target"], c["mask"]))
        assert_close(got, c["want"], 1e-6, "wrong value on another image pair (the box may touch the image's edge)")


def ablation(fn, cases: list[dict]) -> None:
    from .evaluation import METRICS

    run = with_references(fn, box_ssim=_box_ssim)
    for c in cases:
        predictors = {name: _constant(out) for name, out in c["outputs"].items()}
        table = attempt(run, predictors, c["batch"], name="run_ablation")
        if not isinstance(table, dict) or set(table) != set(predictors):
            raise AssertionError("run_ablation should return one entry per predictor")
        for name in predictors:
            for metric in METRICS:
                assert_close(
                    table[name][metric], c["want"][name][metric], 1e-4, f"{name}: wrong mean {metric} on another batch"
                )


def _constant(out: torch.Tensor):
    return lambda batch: out


CHECKS = {
    "q1_rotate_yaw": rotate_yaw,
    "q2_project": project,
    "q3_draw_pose_maps": draw_pose_maps,
    "q1_masked_l1": masked_l1,
    "q2_g1_step": g1_step,
    "q3_overfit": overfit,
    "q1_d_loss": d_loss,
    "q2_g_adv_loss": g_adv_loss,
    "q3_gan_step": gan_step,
    "q1_body_box": body_box,
    "q2_box_ssim": box_ssim,
    "q3_ablation": ablation,
}
