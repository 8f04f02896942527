"""The outline antialiased from the body proxy's sub-pixel coverage (geometry/outline.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.fit import proxy_part_map
from posegen_lite.geometry.outline import outline_coverage, soften_outline
from posegen_lite.geometry.ray_cameras import OrthoCamera, ray_cameras
from posegen_lite.pipelines.stage1 import outline
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

SIZE = (64, 32)


def test_finer_cameras_put_the_sub_pixels_evenly_inside_each_pixel():
    cams = ray_cameras([OrthoCamera(10.0, (15.5, 31.5), 32, 64)])
    for n in (1, 2, 3):
        fine = cams.finer(n)
        assert (fine.height, fine.width) == (64 * n, 32 * n)
        x = cams.K[0, 0, 0] * 0.3 + cams.K[0, 0, 2]  # where a point 0.3 right of the axis lands, coarse pixels
        assert torch.isclose(fine.K[0, 0, 0] * 0.3 + fine.K[0, 0, 2], n * x + (n - 1) / 2)
    with pytest.raises(ValueError, match="≥ 1"):
        cams.finer(0)


def test_one_sub_pixel_is_the_pixel_centre_silhouette_and_more_give_shares_at_the_outline_only():
    view = Scene.held_out(1, SIZE).input_view
    centre = proxy_part_map(view.joints3d, view.camera) >= 0
    one = outline_coverage(view.joints3d, [view.camera], subpixels=1)
    np.testing.assert_array_equal(one[0, 0].numpy() > 0.5, centre)
    assert set(torch.unique(one).tolist()) == {0.0, 1.0}
    two = outline_coverage(view.joints3d, [view.camera], subpixels=2)[0, 0]
    assert set(torch.unique(two).tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    partial = ((two > 0) & (two < 1)).numpy()
    assert partial.sum() > 20
    # every partly covered pixel lies on the outline: next to a pixel on the other side of the silhouette
    padded = np.pad(centre, 1, mode="edge")
    near_in = np.zeros_like(centre)
    near_out = np.zeros_like(centre)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = padded[1 + dy : 1 + dy + SIZE[0], 1 + dx : 1 + dx + SIZE[1]]
            near_in |= shifted
            near_out |= ~shifted
    assert (near_in & near_out)[partial].all()
    with pytest.raises(ValueError, match="poses for"):
        outline_coverage(np.stack([view.joints3d] * 2), [view.camera])


def test_soften_mixes_body_and_background_by_coverage_where_the_outline_crosses_a_pixel():
    images = torch.tensor([[200.0, 200.0, 40.0, 40.0]]).view(1, 1, 1, 4).repeat(1, 3, 1, 1)
    silhouette = torch.tensor([[1.0, 1.0, 0.0, 0.0]]).view(1, 1, 1, 4)
    coverage = torch.tensor([[1.0, 0.75, 0.25, 0.0]]).view(1, 1, 1, 4)
    out = soften_outline(images, silhouette, coverage)
    # inside: its own colour and the background beside it; outside: the body beside it and its own colour
    expected = torch.tensor([200.0, 0.75 * 200 + 0.25 * 40, 0.25 * 200 + 0.75 * 40, 40.0])
    torch.testing.assert_close(out[0, 0, 0], expected)
    whole = torch.ones_like(coverage)
    assert torch.equal(soften_outline(images, silhouette, silhouette), images)  # coverage 0 or 1: nothing moves
    assert torch.equal(soften_outline(images, whole, coverage * 0 + 0.5), images)  # no background beside it
    with pytest.raises(ValueError, match="coverage"):
        soften_outline(images, silhouette, coverage[:, :, :, :2])


def test_the_synthesizer_softens_only_the_outline_and_never_the_input_view():
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config

    torch.manual_seed(0)
    g1, g2 = G1(G1Config(*SIZE, base_channels=4, warp="paste")), G2(G2Config(*SIZE, base_channels=4))
    soft_synth = NovelViewSynthesizer(g1, g2, device="cpu")
    hard_synth = NovelViewSynthesizer(g1, g2, device="cpu", soft_outline=False)
    view = Scene.held_out(2, SIZE).input_view
    kw = {"camera": view.camera}
    soft = soft_synth.synthesize_many(view.image, view.joints3d, [0.0, 60.0], **kw)
    hard = hard_synth.synthesize_many(view.image, view.joints3d, [0.0, 60.0], **kw)
    np.testing.assert_array_equal(soft[0].image, view.image)  # yaw 0: the input, bit for bit
    source = soft_synth.source_pose(view.joints3d, view.camera)
    cover = outline(source, [soft[1].joints3d], SIZE)[0, 0].numpy()
    changed = (soft[1].image != hard[1].image).any(-1)
    assert changed.any() and ((cover > 0) & (cover < 1))[changed].all()
