"""The hidden checks' cases, made with the instructor's package (not part of the student build).

``CASES[assignment](rng) -> {question: [case, …]}``; a case holds the inputs and the reference output(s).
Each question mixes random cases (other poses, cameras, sizes, logits than the public checks) with boundary
cases a sloppy answer gets wrong (a disc pixel at exactly the radius, a mask touching the last row). Models
travel as state dicts, so the autograder needs no seeded initialisation to agree with the build.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .answers import reference_g1_step, reference_gan_step


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _stage1(rng: np.random.Generator) -> dict[str, list[dict]]:
    from ..geometry.camera import framing_camera, rotate_about_body_axis
    from .stage1 import random_pose

    rotate = []
    for yaw in (*rng.uniform(-180, 180, 3), 180.0, -90.0):
        pose, yaw2 = random_pose(_seed(rng), missing=2), float(rng.uniform(-90, 90))
        want = rotate_about_body_axis(pose, float(yaw))
        rotate.append(
            {
                "pose": pose,
                "yaw": float(yaw),
                "want": want,
                "yaw2": yaw2,
                "want2": rotate_about_body_axis(pose, float(yaw) + yaw2),
            }
        )
    project = []
    for _ in range(3):
        pose = random_pose(_seed(rng))
        cam = framing_camera(
            pose, 64, 64, azimuth_deg=float(rng.uniform(-180, 180)), elevation_deg=float(rng.uniform(-10, 30))
        )
        want, _ = cam.project(pose, within_image=False)
        project.append({"points": pose.astype(np.float64), "K": cam.K, "R": cam.R, "t": cam.t, "want": want})
    maps = []
    for h, w in ((64, 48), (40, 40)):
        pose = random_pose(_seed(rng), missing=2)
        cam = framing_camera(pose, w, h, azimuth_deg=float(rng.uniform(-180, 180)), margin=-0.1)  # cuts limbs
        xy, visible = cam.project(pose)
        maps.append(_disc_case(xy, visible, h, w, float(rng.uniform(1.5, 4.0))))
    # Boundary: whole-pixel joints and whole radii, so pixels lie at exactly the radius (`<` instead of `≤` fails).
    h, w = int(rng.integers(20, 33)), int(rng.integers(20, 33))
    xy = np.stack([rng.integers(3, w - 3, 18), rng.integers(3, h - 3, 18)], axis=1).astype(np.float32)
    visible = rng.random(18) > 0.3
    maps.append(_disc_case(xy, visible, h, w, float(rng.integers(2, 4))))
    return {"q1_rotate_yaw": rotate, "q2_project": project, "q3_draw_pose_maps": maps}


def _disc_case(xy: np.ndarray, visible: np.ndarray, h: int, w: int, radius: float) -> dict:
    """One ``draw_pose_maps`` case: its inputs and the reference disc maps."""
    from ..geometry.posemaps import pose_maps

    want = pose_maps(xy, visible, h, w, kind="disc", radius=radius)
    return {"xy": xy, "visible": visible, "h": h, "w": w, "radius": radius, "want": want}


def _stage2(rng: np.random.Generator) -> dict[str, list[dict]]:
    from ..training.losses import masked_l1
    from . import stage2

    g = torch.Generator().manual_seed(_seed(rng))
    losses = []
    for shape in ((3, 3, 8, 6), (1, 3, 5, 7)):
        pred, target = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
        for mask in (
            (torch.rand(shape[0], 1, *shape[2:], generator=g) > 0.3).float(),
            torch.zeros(shape[0], 1, *shape[2:]),
        ):
            losses.append({"pred": pred, "target": target, "mask": mask, "want": float(masked_l1(pred, target, mask))})
    size = (32, 16)
    batch, g1 = stage2.tiny_batch(size, n=3, seed=_seed(rng)), stage2.tiny_g1(size, seed=_seed(rng))
    step = {"size": size, "width": 4, "state": {k: v.clone() for k, v in g1.state_dict().items()}, "batch": batch}
    opt = torch.optim.Adam(g1.parameters(), 1e-3)
    step["losses"] = [reference_g1_step(g1, opt, batch, stage2.probe_loss) for _ in range(3)]
    step["weights"] = torch.cat([p.detach().flatten() for p in g1.parameters()])
    overfit = stage2.tiny_batch((16, 16), n=2, seed=_seed(rng))
    overfit["image_b"] = torch.nn.functional.interpolate(
        overfit["image_b"][:, :, ::4, ::4], scale_factor=4, mode="bilinear"
    )
    g1 = stage2.tiny_g1((16, 16), seed=_seed(rng), width=8)
    return {
        "q1_masked_l1": losses,
        "q2_g1_step": [step],
        "q3_overfit": [{"batch": overfit, "size": (16, 16), "width": 8, "state": g1.state_dict()}],
    }


def _stage3(rng: np.random.Generator) -> dict[str, list[dict]]:
    from ..training.losses import discriminator_loss, generator_adversarial_loss
    from . import stage2, stage3

    g = torch.Generator().manual_seed(_seed(rng))
    d = []
    for n, m in ((5, 5), (4, 8)):  # PG2's variant shows D more fakes than reals
        r, f = torch.randn(n, generator=g) * 3, torch.randn(m, generator=g) * 3
        d.append({"real": r, "fake": f, "want": float(discriminator_loss(r, f))})
    r, f = torch.tensor([-250.0, 250.0, 3.0]), torch.tensor([250.0, -250.0])
    d.append({"real": r, "fake": f, "want": float(discriminator_loss(r, f))})
    adv = []
    for f in (torch.randn(6, generator=g) * 4, torch.tensor([-300.0, 300.0, -20.0])):
        adv.append({"fake": f, "want": float(generator_adversarial_loss(f))})
    batch = stage2.tiny_batch(seed=_seed(rng))
    coarse = (batch["image_b"] * 0.5).clamp(-1, 1)
    g2, disc = stage3.tiny_gan(seed=_seed(rng))
    lam = float(rng.uniform(1.0, 20.0))
    case = {"batch": batch, "coarse": coarse, "lam": lam, "g2_state": _state(g2), "disc_state": _state(disc)}
    opt_g, opt_d = torch.optim.SGD(g2.parameters(), lr=0.05), torch.optim.SGD(disc.parameters(), lr=0.05)
    case["losses"] = reference_gan_step(
        g2, disc, opt_g, opt_d, batch, coarse, lam, stage3.probe_d_loss, stage3.probe_g_adv_loss, stage2.probe_loss
    )
    case["g2"], case["disc"] = _flat(g2), _flat(disc)
    return {"q1_d_loss": d, "q2_g_adv_loss": adv, "q3_gan_step": [case]}


def _evaluation(rng: np.random.Generator) -> dict[str, list[dict]]:
    from ..evaluation.metrics import bbox_ssim, mask_bbox
    from . import evaluation

    boxes = []
    for _ in range(3):
        m = (rng.random((24, 17)) > 0.97).astype(np.uint8)
        m[rng.integers(24), rng.integers(17)] = 1
        boxes.append(m)
    edge = np.zeros((int(rng.integers(10, 20)), int(rng.integers(10, 20))), np.uint8)
    edge[-1, -1] = edge[int(rng.integers(edge.shape[0])), 0] = 1  # touches the last row and column
    boxes += [edge, np.zeros((6, 9), np.uint8)]
    body = [{"mask": m, "want": mask_bbox(m)} for m in boxes]
    ssim_cases = []
    for k in range(3):
        pred, target, mask = evaluation._example_images(_seed(rng))
        mask = np.roll(mask, int(rng.integers(-12, 16)), axis=1) if k < 2 else np.roll(mask, 20, axis=1)  # at the edge
        ssim_cases.append({"pred": pred, "target": target, "mask": mask, "want": bbox_ssim(pred, target, mask)})
    g = torch.Generator().manual_seed(_seed(rng))
    n, h, w = 3, 32, 24
    mask = torch.zeros(n, 1, h, w)
    mask[:, :, 6:26, 8:16] = 1.0
    batch = {
        "image_a": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
        "image_b": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
        "mask_b": mask,
    }
    outputs = {
        "identity": batch["image_a"],
        "noisy target": (batch["image_b"] + torch.rand(n, 3, h, w, generator=g) * 0.4 - 0.2).clamp(-1, 1),
    }
    want = evaluation.reference_ablation({k: _constant(v) for k, v in outputs.items()}, batch)
    return {
        "q1_body_box": body,
        "q2_box_ssim": ssim_cases,
        "q3_ablation": [{"batch": batch, "outputs": outputs, "want": want}],
    }


def _constant(out: torch.Tensor) -> Callable:
    return lambda batch: out


def _state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


CASES: dict[str, Callable[[np.random.Generator], dict[str, list[dict]]]] = {
    "stage1_pose": _stage1,
    "stage2_g1": _stage2,
    "stage3_gan": _stage3,
    "evaluation": _evaluation,
}


def new_seed() -> int:
    """A seed no one can guess from the public checks' seeds."""
    return secrets.randbits(62)


def cases_for(assignment: str, seed: int | None = None) -> dict[str, list[dict]]:
    """``{question: [case, …]}`` for one assignment: inputs and the reference outputs (see ``hidden``)."""
    rng = np.random.default_rng(new_seed() if seed is None else seed)
    return CASES[assignment](rng)


def write_cases(assignment: str, path: str | Path, seed: int | None = None) -> Path:
    """Store the cases for the autograder (``torch.save``: arrays, tensors and state dicts)."""
    path = Path(path)
    torch.save(cases_for(assignment, seed), path)
    return path
