"""geometry.fit: the body proxy's part widths fitted to a person's silhouette in the input view."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.fit import SCALE_RANGE, fit_radius_scale, proxy_part_map, proxy_view
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS


@pytest.fixture(scope="module")
def view():
    return Scene.held_out(0, (64, 32)).input_view


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_the_fitted_proxy_follows_the_true_silhouette_better(view):
    before = proxy_part_map(view.joints3d, view.camera) >= 0
    scale = fit_radius_scale(view.joints3d, view.camera, view.mask)
    after = proxy_part_map(view.joints3d, view.camera, scale) >= 0
    assert scale.shape == (NUM_PROXY_PARTS,) and SCALE_RANGE[0] <= scale.min() and scale.max() <= SCALE_RANGE[1]
    assert _iou(after, view.mask) > _iou(before, view.mask)


def test_its_own_outline_keeps_the_proxy_and_a_wider_one_widens_it(view):
    own = proxy_part_map(view.joints3d, view.camera) >= 0
    same = fit_radius_scale(view.joints3d, view.camera, own)
    torso = [PROXY_PARTS.index("chest"), PROXY_PARTS.index("pelvis")]
    np.testing.assert_allclose(same[torso], 1.0, atol=0.05)
    coat = ndimage.binary_dilation(own, iterations=2)  # a coat two pixels wider all round
    assert (fit_radius_scale(view.joints3d, view.camera, coat)[torso] > 1.1).all()


def test_where_on_the_part_and_a_wrong_size_silhouette(view):
    parts, local = proxy_view(view.joints3d, view.camera)
    assert parts.shape == (64, 32) and local.shape == (64, 32, 3)
    assert (local[parts < 0] == 0).all() and np.abs(local[parts >= 0][:, [0, 2]]).max() <= 1.001  # x, z: the section
    head = parts == PROXY_PARTS.index("head")
    assert local[head, 2].max() > 0.5  # a front view shows the front of the head (the face)
    with pytest.raises(ValueError, match="silhouette is"):
        fit_radius_scale(view.joints3d, view.camera, np.ones((8, 8), bool))
