"""Tests of the pose maps, the body mask and the skeleton drawing."""

import numpy as np
import pytest
from matplotlib.path import Path as PolyPath

from posegen_lite.geometry import posemaps as pm
from posegen_lite.geometry.camera import framing_camera, project_pose, rotate_about_body_axis
from posegen_lite.geometry.skeleton import JOINT_INDEX, LIMBS, TORSO_SEGMENTS, reference_pose

J = JOINT_INDEX


def _keypoints(height=128, width=64, yaw=20.0):
    pose = reference_pose()
    return project_pose(rotate_about_body_axis(pose, yaw), framing_camera(pose, width, height))


@pytest.mark.parametrize("size", [(64, 64), (128, 64), (256, 256)])
@pytest.mark.parametrize("kind", ["disc", "gaussian"])
def test_pose_maps_shape_range_and_peaks(size, kind):
    h, w = size
    xy, vis = _keypoints(h, w)
    maps = pm.pose_maps(xy, vis, h, w, kind=kind)
    assert maps.shape == (18, h, w) and maps.dtype == np.float32
    assert maps.min() >= -1.0 and maps.max() <= 1.0
    for j in range(18):
        nearest = (int(round(xy[j, 1])), int(round(xy[j, 0])))
        assert maps[j][nearest] == pytest.approx(maps[j].max()), j  # the channel peaks at its keypoint
        # the nearest pixel centre is at most 0.5 px² away: +1 for a disc, 2·exp(-0.5/2σ²) - 1 for a Gaussian
        floor = 1.0 if kind == "disc" else 2 * np.exp(-0.25 / pm.default_sigma(h) ** 2) - 1
        assert maps[j].max() >= floor - 1e-6
        iy, ix = np.unravel_index(np.argmax(maps[j]), (h, w))
        if kind == "gaussian":  # the maximum is at a pixel nearest to the keypoint (ties at .5 either way)
            assert abs(ix - xy[j, 0]) <= 0.5 + 1e-4 and abs(iy - xy[j, 1]) <= 0.5 + 1e-4
        else:  # the disc is centred on the keypoint
            ys, xs = np.nonzero(maps[j] > 0)
            assert abs(xs.mean() - xy[j, 0]) < 0.5 and abs(ys.mean() - xy[j, 1]) < 0.5
        assert maps[j][maps[j] < 0.0].size > 0.8 * h * w  # and is mostly background


def test_disc_is_binary_with_the_scaled_radius():
    xy, vis = _keypoints(128, 64)
    maps = pm.pose_maps(xy, vis, 128, 64)
    assert set(np.unique(maps).tolist()) == {-1.0, 1.0}
    assert pm.default_radius(128) == 4.0 and pm.default_radius(256) == 8.0
    lit = (maps[J["nose"]] > 0).sum()
    assert abs(lit - np.pi * 16) < 12  # a disc of radius 4 holds ~50 pixels
    big = pm.pose_maps(xy, vis, 128, 64, radius=6.0)
    assert (big[J["nose"]] > 0).sum() > lit
    tiny = pm.pose_maps(xy, vis, 128, 64, radius=0.1)
    assert ((tiny > 0).sum(axis=(1, 2)) >= 1).all()  # never an empty channel for a visible joint


def test_gaussian_value_follows_the_formula():
    xy = np.full((18, 2), np.nan, np.float32)
    vis = np.zeros(18, bool)
    xy[0], vis[0] = (10.25, 20.5), True
    maps = pm.pose_maps(xy, vis, 40, 30, kind="gaussian", sigma=2.0)
    d2 = (13 - 10.25) ** 2 + (22 - 20.5) ** 2
    assert maps[0, 22, 13] == pytest.approx(2 * np.exp(-d2 / 8.0) - 1, abs=1e-6)


def test_missing_and_off_image_joints_give_empty_channels():
    xy, vis = _keypoints(128, 64)
    vis = vis.copy()
    vis[J["l_wrist"]] = False
    xy = xy.copy()
    xy[J["r_ankle"]] = (-3.0, 40.0)  # visible but left of the image
    for kind in ("disc", "gaussian"):
        maps = pm.pose_maps(xy, vis, 128, 64, kind=kind)
        assert (maps[J["l_wrist"]] == -1.0).all() and (maps[J["r_ankle"]] == -1.0).all()
        assert (maps[J["nose"]] > 0).any()
    empty = pm.pose_maps(np.full((18, 2), np.nan), np.zeros(18, bool), 32, 32)
    assert (empty == -1.0).all()


def test_pose_maps_reject_bad_input():
    xy, vis = _keypoints(64, 64)
    with pytest.raises(ValueError):
        pm.pose_maps(xy[:17], vis[:17], 64, 64)
    nan_xy = xy.copy()
    nan_xy[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        pm.pose_maps(nan_xy, np.ones(18, bool), 64, 64)
    with pytest.raises(ValueError):
        pm.pose_maps(xy, vis, 0, 64)
    with pytest.raises(ValueError):
        pm.pose_maps(xy, vis, 64, 64, kind="square")
    with pytest.raises(ValueError):
        pm.pose_maps(xy, vis, 64, 64, radius=-1.0)
    with pytest.raises(ValueError):
        pm.pose_maps(xy, vis, 64, 64, kind="gaussian", sigma=0.0)


def _segment_distance(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``(N, 2)`` to the segment a→b."""
    d = b - a
    t = np.clip(((px - a) @ d) / max(float(d @ d), 1e-12), 0.0, 1.0)
    return np.linalg.norm(px - (a + t[:, None] * d), axis=1)


def _segments(vis):
    return [(a, b) for a, b in LIMBS + TORSO_SEGMENTS if vis[a] and vis[b]]


@pytest.mark.parametrize("size,yaw", [((128, 64), 20.0), ((64, 64), 90.0), ((256, 256), 200.0), ((128, 64), 0.0)])
def test_mask_covers_every_visible_limb_and_nothing_outside_the_thickened_skeleton(size, yaw):
    h, w = size
    xy, vis = _keypoints(h, w, yaw)
    mask = pm.body_mask(xy, vis, h, w)
    assert mask.shape == (1, h, w) and mask.dtype == np.float32
    assert set(np.unique(mask).tolist()) <= {0.0, 1.0}
    m = mask[0].astype(bool)
    # 1. Every visible limb segment is inside the mask (sampled every 0.25 px).
    for a, b in _segments(vis):
        ts = np.linspace(0.0, 1.0, int(np.linalg.norm(xy[b] - xy[a]) * 4) + 2)
        pts = np.rint(xy[a] + ts[:, None] * (xy[b] - xy[a])).astype(int)
        assert m[pts[:, 1], pts[:, 0]].all(), (a, b)
    # 2. Nothing outside the skeleton thickened by thickness + closing radius (+1 px for rasterisation).
    t = pm.default_thickness(h)
    reach = t + pm.closing_radius(t) + 1.0
    ys, xs = np.nonzero(m)
    px = np.stack([xs, ys], axis=1).astype(np.float64)
    dist = np.full(len(px), np.inf)
    for a, b in _segments(vis):
        dist = np.minimum(dist, _segment_distance(px, xy[a].astype(np.float64), xy[b].astype(np.float64)))
    centre, radius = pm.head_circle(xy, vis)
    dist = np.minimum(dist, np.maximum(np.linalg.norm(px - centre, axis=1) - radius, 0.0))
    torso = xy[[J["r_shoulder"], J["l_shoulder"], J["l_hip"], J["r_hip"]]]
    dist[PolyPath(torso).contains_points(px)] = 0.0
    assert dist.max() <= reach
    # ...and the mask is a real body, not a thin line: it also fills the torso.
    assert m.mean() > 0.05


def test_mask_skips_segments_with_a_missing_endpoint_and_empty_pose_is_empty():
    h, w = 256, 256
    xy, vis = _keypoints(h, w, 0.0)
    vis = vis.copy()
    vis[J["l_elbow"]] = False
    mask = pm.body_mask(xy, vis, h, w)[0]
    elbow = np.rint(xy[J["l_elbow"]]).astype(int)
    assert mask[elbow[1], elbow[0]] == 0.0  # the elbow was away from the body: nothing drawn there
    wrist = np.rint(xy[J["l_wrist"]]).astype(int)
    assert mask[wrist[1], wrist[0]] == 1.0  # a lone visible joint is still on the body
    empty = pm.body_mask(np.full((18, 2), np.nan), np.zeros(18, bool), 64, 64)
    assert empty.shape == (1, 64, 64) and not empty.any()


def test_limbs_leaving_the_image_are_clipped():
    h, w = 128, 64
    xy, vis = _keypoints(h, w)
    xy = xy.copy()
    xy[J["r_wrist"]] = (-1e6, 1e6)  # visible, absurdly far outside: must not hang or crash
    mask = pm.body_mask(xy, vis, h, w)[0]
    assert mask.any() and mask[:, 0].sum() >= 0
    drawing = pm.draw_skeleton(xy, vis, h, w)
    assert drawing.shape == (h, w, 3)
    # A limb between two joints outside the image, crossing it, still draws its in-image part.
    cross = np.full((18, 2), np.nan, np.float32)
    cross[J["r_hip"]], cross[J["r_knee"]] = (32.0, -50.0), (32.0, 200.0)
    cvis = np.isfinite(cross).all(axis=1)
    mask = pm.body_mask(cross, cvis, h, w)[0]
    assert mask[:, 32].all() and not mask[:, :25].any()


def test_mask_rejects_bad_input():
    xy, vis = _keypoints(64, 64)
    with pytest.raises(ValueError):
        pm.body_mask(xy, vis, 64, 64, thickness=0)
    with pytest.raises(ValueError):
        pm.body_mask(xy, vis, 64, 64, thickness=2.5)
    with pytest.raises(ValueError):
        pm.body_mask(xy, vis, -1, 64)
    with pytest.raises(ValueError):
        pm.body_mask(np.zeros((18, 3)), vis, 64, 64)


def test_pose_maps_and_mask_is_the_two_calls():
    xy, vis = _keypoints(128, 64)
    maps, mask = pm.pose_maps_and_mask(xy, vis, 128, 64, kind="gaussian")
    assert np.array_equal(maps, pm.pose_maps(xy, vis, 128, 64, kind="gaussian"))
    assert np.array_equal(mask, pm.body_mask(xy, vis, 128, 64))


def test_draw_skeleton_colours_limbs_and_joints():
    h, w = 128, 64
    xy, vis = _keypoints(h, w, 0.0)
    img = pm.draw_skeleton(xy, vis, h, w)
    assert img.shape == (h, w, 3) and img.dtype == np.uint8
    assert (img[0, 0] == 0).all()  # black background
    a, b = J["r_hip"], J["r_knee"]
    mid = np.rint((xy[a] + xy[b]) / 2).astype(int)
    assert tuple(img[mid[1], mid[0]]) == pm.LIMB_COLOURS[(a, b)]
    knee = np.rint(xy[b]).astype(int)
    assert tuple(img[knee[1], knee[0]]) == pm.OPENPOSE_COLOURS[b]
    background = np.full((h, w, 3), 200, np.uint8)
    over = pm.draw_skeleton(xy, vis, h, w, image=background)
    assert (background == 200).all()  # the input is not modified
    assert (over[0, 0] == 200).all() and tuple(over[knee[1], knee[0]]) == pm.OPENPOSE_COLOURS[b]
    with pytest.raises(ValueError):
        pm.draw_skeleton(xy, vis, h, w, image=np.zeros((h, w), np.uint8))
