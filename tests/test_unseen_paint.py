"""pipelines.unseen: the side the input never showed, painted with the input's own per-part colours."""

from __future__ import annotations

import numpy as np
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.fit import proxy_view
from posegen_lite.geometry.proxy import PROXY_PARTS
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.pipelines.stage1 import fit_widths, proxy_warp
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer
from posegen_lite.pipelines.unseen import HEAD, PARTNER, paint_unseen, part_colours

SIZE = (64, 32)


def test_partners_are_left_and_right():
    assert PROXY_PARTS[PARTNER[PROXY_PARTS.index("r_forearm")]] == "l_forearm"
    assert PARTNER[PROXY_PARTS.index("chest")] == PROXY_PARTS.index("chest")


def test_a_part_s_colour_is_its_median_and_a_hidden_part_takes_its_partner_s():
    parts = np.full((4, 6), -1)
    parts[:, :3] = PROXY_PARTS.index("chest")
    parts[:, 3:] = PROXY_PARTS.index("l_forearm")
    image = np.zeros((4, 6, 3), np.uint8)
    image[:, :3] = (200, 10, 10)
    image[0, 0] = (0, 255, 0)  # one pixel of a print: the median ignores it
    image[:, 3:] = (10, 10, 200)
    colours = part_colours(image, np.ones((4, 6), bool), parts, np.zeros((4, 6, 3)))
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("chest")], (200, 10, 10))
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("r_forearm")], (10, 10, 200))  # its partner's
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("r_foot")], np.median(image.reshape(-1, 3), axis=0))
    views = np.zeros((1, 4, 6, 3), np.uint8)
    painted = paint_unseen(views, parts[None], np.zeros((1, 4, 6), bool) | (np.arange(6) < 3)[None, None], colours)
    assert (painted[0, :, :3] == 0).all() and (painted[0, :, 3:] == (10, 10, 200)).all()  # only the unseen


def test_a_head_seen_only_from_behind_gets_no_face():
    """Input: a held-out person seen from behind. Turned to face the camera, the face they never showed is
    painted one colour — the back of the head's (hair) — not a face, and not the networks' guess."""
    scene = Scene.held_out(5, SIZE)
    back = scene.render(180.0)
    torch.manual_seed(0)
    synth = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, warp="paste")), None, device="cpu")
    front = synth.synthesize(back.image, back.joints3d, camera=back.camera, yaw=180, silhouette=back.mask,
                             unseen="part_colours")  # fmt: skip
    source = synth.source_pose(back.joints3d, back.camera)
    widths = fit_widths(source, SIZE, back.mask)
    parts, local = proxy_view(source.joints3d, source.proxy_camera(*SIZE), widths)
    seen_head = back.mask & (parts == HEAD)
    assert seen_head.sum() >= 6 and (local[seen_head, 2] < 0.5).all()  # from behind: no face pixel in the input
    hair = np.median(back.image[seen_head], axis=0)
    target = proxy_warp(source, [front.joints3d], SIZE, widths)  # the fitted proxy the synthesizer used
    face = (target.parts[0].numpy() == HEAD) & ~front.seen
    np.testing.assert_array_equal(target.silhouette[0, 0].numpy() > 0.5, front.body)
    assert face.sum() >= 4
    painted = front.image[face].astype(float)
    assert np.abs(painted - hair).max() <= 1  # one colour, the back of the head's
