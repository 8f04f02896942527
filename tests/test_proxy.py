"""Tests for posegen_lite.geometry.proxy and geometry.warp: the 3D body proxy, its ray caster, the
target→source correspondence (flow, visibility, parts, surface coordinates) and the warp of images."""

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.body import PART_NAMES
from posegen_lite.data.synthetic.pairs import SyntheticConfig, plan_pair, render_pairs
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import framing_camera, rotate_about_body_axis
from posegen_lite.geometry.proxy import (
    PART_REGION,
    PROXY_PARTS,
    REGION_NAMES,
    OrthoCamera,
    build_proxy,
    cast_view,
    fit_orthographic,
    part_regions,
    ray_cameras,
    skeleton_scale,
)
from posegen_lite.geometry.skeleton import JOINT_INDEX, reference_pose
from posegen_lite.geometry.warp import (
    SURFACE_CHANNELS,
    UNCOVER_GROW_SOURCE,
    UNCOVER_GROW_TARGET,
    fill_uncovered,
    grow_mask,
    proxy_maps,
    proxy_silhouette,
    source_maps,
    surface_map,
    uncovered_background,
)
from posegen_lite.images import to_tensor
from posegen_lite.models.warping import flow_to_grid, relight_seen, warp_features, warp_image

H, W = 64, 32


def _camera(azimuth: float = 0.0):
    return framing_camera(reference_pose(), W, H, azimuth_deg=azimuth)


def test_proxy_parts_are_the_renderers_first_parts():
    assert PROXY_PARTS == PART_NAMES[: len(PROXY_PARTS)]
    assert len(PART_REGION) == len(PART_NAMES)
    assert REGION_NAMES[PART_REGION[PART_NAMES.index("head")]] == "head"
    assert REGION_NAMES[PART_REGION[PART_NAMES.index("l_hand")]] == "hands"


def test_skeleton_scale_is_unit_free():
    pose = reference_pose()
    assert skeleton_scale(pose) == pytest.approx(1.0, abs=0.05)
    assert skeleton_scale(pose * 100.0) == pytest.approx(100.0 * skeleton_scale(pose), rel=1e-6)


def test_flow_is_identity_for_the_same_pose_and_camera():
    pose = reference_pose()
    cam = _camera(30.0)
    flow, vis, parts = proxy_maps(pose[None], pose[None], [cam], [cam])[:3]
    assert flow.shape == (1, 2, H, W) and vis.shape == (1, 1, H, W) and parts.shape == (1, H, W)
    body = parts[0] >= 0
    assert body.sum() > 100
    assert flow.abs().max() < 0.5  # pixels
    # Nearly every body pixel sees itself (a few grazing silhouette pixels may fail the depth test).
    assert vis[0, 0][body].mean() > 0.95


def test_torso_is_not_visible_after_turning_by_180_degrees():
    pose = reference_pose()
    cam = _camera(0.0)
    turned = rotate_about_body_axis(pose, 180.0)
    _, vis, parts = proxy_maps(pose[None], turned[None], [cam], [cam])[:3]
    torso = (parts[0] == PROXY_PARTS.index("chest")) | (parts[0] == PROXY_PARTS.index("pelvis"))
    assert torso.sum() > 50
    # The target shows the back of the torso; the source saw only its front.
    assert vis[0, 0][torso].sum() == 0


def test_the_head_sits_between_the_ears():
    pose = reference_pose()
    prims = build_proxy(pose)
    head = prims.centre[0, PROXY_PARTS.index("head")].numpy()
    ears = pose[[JOINT_INDEX["l_ear"], JOINT_INDEX["r_ear"]]].mean(0)
    assert np.linalg.norm(head - ears) < 0.03


def test_missing_joints_switch_parts_off_and_an_empty_pose_hits_nothing():
    pose = reference_pose().copy()
    pose[JOINT_INDEX["l_wrist"]] = np.nan
    prims = build_proxy(pose)
    assert not prims.enabled[0, PROXY_PARTS.index("l_forearm")]
    assert not prims.enabled[0, PROXY_PARTS.index("l_hand")]
    assert prims.enabled[0, PROXY_PARTS.index("r_forearm")]
    empty = build_proxy(np.full((18, 3), np.nan))
    hits = cast_view(empty, ray_cameras([_camera()]))
    assert (hits.part == -1).all()


def test_orthographic_camera_matches_its_projection():
    # The lifting module's camera: x = s·X + ox, y = −s·Y + oy. The pelvis centre must land where it projects.
    pose = reference_pose()
    cam = OrthoCamera(30.0, (16.0, 60.0), W, H)
    hits = cast_view(build_proxy(pose), ray_cameras([cam]))
    parts = hits.part.view(H, W)
    hip = pose[[JOINT_INDEX["r_hip"], JOINT_INDEX["l_hip"]]].mean(0)
    x, y = 30.0 * hip[0] + 16.0, -30.0 * hip[1] + 60.0
    assert int(parts[round(y), round(x)]) in (PROXY_PARTS.index("pelvis"), PROXY_PARTS.index("chest"))
    flow, vis, _ = proxy_maps(pose[None], pose[None], [cam], [cam])[:3]
    assert flow.abs().max() < 0.5 and vis.sum() > 50


@pytest.fixture(scope="module")
def small_yaw_pairs():
    cfg = SyntheticConfig(size=(128, 64), test_people=4, views_per_person=4, yaw_range=(5.0, 15.0))
    idx = list(range(8))
    return render_pairs(cfg, "test", idx), [plan_pair(cfg, "test", i) for i in idx]


def test_warped_input_matches_the_target_far_better_than_the_input(small_yaw_pairs):
    pairs, plans = small_yaw_pairs
    joints = np.stack([p.body.joints3d for p in plans])
    flow, vis, _ = proxy_maps(joints, joints, [p.cameras[0] for p in plans], [p.cameras[1] for p in plans])[:3]
    a = torch.stack([to_tensor(p.view_a.image) for p in pairs])
    b = torch.stack([to_tensor(p.view_b.image) for p in pairs])
    m = torch.stack([torch.from_numpy(p.view_b.mask) for p in pairs])[:, None].float() * vis
    warped = warp_image(a, flow, vis)
    err_warp = ((warped - b).abs() * m).sum() / m.sum()
    err_input = ((a - b).abs() * m).sum() / m.sum()
    # Measured on these 8 pairs at 128×64 (5–15°): 0.226 vs 0.478 on [-1, 1] images, 0.47× the input's error
    # on the visible body pixels (benchmarks/README.md has the figures per yaw bucket).
    assert err_warp < 0.6 * err_input
    assert m.sum() / torch.stack([torch.from_numpy(p.view_b.mask) for p in pairs]).sum() > 0.8  # coverage


def test_warp_image_with_zero_flow_and_full_visibility_is_the_identity():
    img = torch.rand(2, 3, 8, 6)
    out = warp_image(img, torch.zeros(2, 2, 8, 6), torch.ones(2, 1, 8, 6))
    assert torch.allclose(out, img, atol=1e-6)


def test_warp_image_shifts_by_the_flow_and_zeroes_the_invisible():
    img = torch.arange(48, dtype=torch.float32).view(1, 1, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 1.0  # every target pixel shows the source pixel one to its right
    vis = torch.ones(1, 1, 6, 8)
    vis[..., 0, 0] = 0
    out = warp_image(img, flow, vis)
    assert torch.allclose(out[0, 0, 1:, :-1], img[0, 0, 1:, 1:])
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 0, 1].item() == pytest.approx(2.0, abs=1e-5)


def test_relight_seen_gives_what_the_input_saw_squarely_its_colour_times_the_shade_ratio():
    H, W = 8, 6
    image = torch.rand(1, 3, H, W) * 200
    views = torch.full((1, 3, H, W), 7.0)
    flow, vis = torch.zeros(1, 2, H, W), torch.ones(1, 1, H, W)
    vis[..., :, 0] = 0  # the first column unseen: its neighbours are the seen region's edge
    shade_a, shade_b = torch.full((1, 1, H, W), 0.5), torch.full((1, 1, H, W), 0.8)
    facing = torch.ones(1, 1, H, W)
    facing[..., 0:2, :] = 0.3  # the top two rows seen obliquely
    out = relight_seen(views, image, flow, vis, shade_a, facing, shade_b)
    square = torch.zeros(H, W, dtype=torch.bool)
    square[2:, 2:] = True  # inside the 3×3-eroded seen region (the image's border erodes nothing), facing above 0.5
    torch.testing.assert_close(out[0][:, square], image[0][:, square] * 0.8 / 0.5)
    assert (out[0][:, ~square] == 7.0).all()


def test_flow_to_grid_maps_pixel_centres_to_align_corners_false():
    grid = flow_to_grid(torch.zeros(1, 2, 4, 2))
    assert torch.allclose(grid[0, 0, 0], torch.tensor([-0.5, -0.75]))
    assert torch.allclose(grid[0, -1, -1], torch.tensor([0.5, 0.75]))


def test_warp_features_scales_the_flow_to_the_feature_size():
    feats = torch.arange(8, dtype=torch.float32).view(1, 1, 2, 4)
    flow = torch.zeros(1, 2, 4, 8)
    flow[:, 0] = 2.0  # two full-size pixels = one feature pixel
    out = warp_features(feats, flow, torch.ones(1, 1, 4, 8))
    assert torch.allclose(out[0, 0, :, :-1], feats[0, 0, :, 1:])


def test_part_regions_maps_background_and_parts():
    parts = torch.tensor([[-1, PROXY_PARTS.index("head"), PROXY_PARTS.index("r_foot"), 16]])
    regions = part_regions(parts)
    assert [REGION_NAMES[i] for i in regions[0].tolist()] == ["background", "head", "feet", "head"]


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        build_proxy(np.zeros((17, 3)))
    with pytest.raises(ValueError):
        ray_cameras([])
    with pytest.raises(ValueError):
        ray_cameras([_camera(), framing_camera(reference_pose(), 16, 32)])
    with pytest.raises(ValueError):
        OrthoCamera(0.0, (0.0, 0.0), 4, 4)
    with pytest.raises(ValueError):
        warp_image(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))


@pytest.mark.parametrize("kind", ["pinhole", "orthographic", "mixed"])
def test_packed_cast_matches_the_dense_reference(kind):
    from posegen_lite.geometry import raycast

    pose = reference_pose()
    partial = pose.copy()
    partial[JOINT_INDEX["l_wrist"]] = np.nan
    prims = build_proxy(np.stack([pose, rotate_about_body_axis(pose, 40.0), partial, np.full((18, 3), np.nan)]))
    pinholes = [_camera(0.0), _camera(70.0), _camera(200.0), _camera(0.0)]
    orthos = [OrthoCamera(30.0 + i, (16.0 - i, 60.0 + i), W, H) for i in range(4)]
    cams = ray_cameras(
        {"pinhole": pinholes, "orthographic": orthos, "mixed": [pinholes[0], orthos[1], *pinholes[2:]]}[kind]
    )
    posed = raycast._in_camera(prims, cams)
    dense = raycast._cast_dense(posed, cams, raycast._ray_origin_z(posed, cams.ortho))
    packed = cast_view(prims, cams)
    assert torch.equal(dense.part, packed.part)
    hit = dense.part >= 0
    assert hit[:3].sum(1).min() > 100 and not hit[3].any()
    assert torch.allclose(dense.depth[hit], packed.depth[hit], atol=1e-5)
    assert torch.allclose(dense.local[hit], packed.local[hit], atol=1e-5)
    assert torch.isinf(packed.depth[~hit]).all() and (packed.local[~hit] == 0).all()


def _poses_with_gaps() -> np.ndarray:
    """Synthetic poses, some with missing joints (NaN), one empty and one in centimetres."""
    cfg = SyntheticConfig(size=(64, 32), test_people=2, views_per_person=4)
    poses = [plan_pair(cfg, "test", i).body.joints3d.astype(np.float64) for i in range(8)]
    gaps = [(), ("r_hip", "l_hip"), ("l_hip",), ("r_ear", "l_ear"), ("r_ear", "l_ear", "nose"), ("l_shoulder",),
            ("neck",), ("r_wrist", "l_knee")]  # fmt: skip
    for pose, names in zip(poses, gaps, strict=True):
        for name in names:
            pose[JOINT_INDEX[name]] = np.nan
    return np.stack([*poses, np.full((18, 3), np.nan), poses[0] * 100.0])


def test_batched_proxy_equals_one_pose_at_a_time():
    poses = _poses_with_gaps()
    batch = build_proxy(poses)
    assert batch.enabled[1, PROXY_PARTS.index("chest")]  # missing hips: put under the neck
    assert batch.enabled[2, PROXY_PARTS.index("l_thigh")]  # one missing hip: mirrored
    assert not batch.enabled[6].any() and not batch.enabled[8].any()  # no neck / no joints: no body
    assert not batch.enabled[7, PROXY_PARTS.index("r_hand")] and batch.enabled[7, PROXY_PARTS.index("l_hand")]
    for i, pose in enumerate(poses):
        one = build_proxy(pose)
        for field in ("centre", "rot", "radii", "half", "enabled"):
            assert torch.equal(getattr(batch, field)[i], getattr(one, field)[0]), (i, field)
    assert torch.allclose(batch.centre[-1], 100.0 * batch.centre[0], rtol=1e-5)


def test_batched_flow_equals_one_pair_at_a_time(monkeypatch):
    from posegen_lite.geometry import raycast

    monkeypatch.setattr(raycast, "_CHUNK_PIXELS", 2 * H * W)  # batches of 5 are cast in slices of 2 bodies
    cfg = SyntheticConfig(size=(H, W), test_people=2, views_per_person=4)
    plans = [plan_pair(cfg, "test", i) for i in range(5)]
    poses = _poses_with_gaps()[:5]
    targets = poses.copy()
    targets[4] = poses[0]  # one pair with two different poses
    cams_a, cams_b = [p.cameras[0] for p in plans], [p.cameras[1] for p in plans]
    flow, vis, parts = proxy_maps(poses, targets, cams_a, cams_b)[:3]
    assert vis.sum() > 100 and (parts >= 0).sum() > 500
    for i in range(5):
        one = proxy_maps(poses[i : i + 1], targets[i : i + 1], cams_a[i : i + 1], cams_b[i : i + 1])
        assert torch.equal(parts[i], one[2][0]) and torch.equal(vis[i], one[1][0])
        assert torch.allclose(flow[i], one[0][0], atol=1e-4)


def test_proxy_silhouette_is_where_the_proxy_has_a_part():
    parts = torch.tensor([[[-1, 0, 5], [-1, -1, 2]]])
    expected = torch.tensor([[[[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]]])
    assert torch.equal(proxy_silhouette(parts), expected)
    with pytest.raises(ValueError, match="parts must be"):
        proxy_silhouette(parts[0])


def test_surface_map_is_the_body_the_chest_and_coordinates_in_range():
    pose = reference_pose()
    maps = proxy_maps(pose[None], pose[None], [_camera(0.0)], [_camera(0.0)])
    surface, parts = maps.surface[0], maps.parts[0]
    assert maps.surface.shape == (1, SURFACE_CHANNELS, H, W) and maps.surface.dtype == torch.float32
    assert torch.equal(surface[0] > 0, parts >= 0)  # "on" is the proxy's body
    assert torch.equal(surface[1] > 0, parts == PROXY_PARTS.index("chest"))
    assert surface[2:].abs().max() <= 1.0
    assert surface[2:][:, parts < 0].abs().max() == 0  # nothing off the body
    # Seen from the front, the chest shows its front (outward > 0) from its bottom (along < 0) to its top.
    chest = parts == PROXY_PARTS.index("chest")
    assert (surface[4][chest] > 0).float().mean() > 0.95
    assert surface[3][chest].min() < -0.5 and surface[3][chest].max() > 0.5
    # ... and from behind, its back; the same pixels' part and "along" stay nearly the same (a turn about
    # the vertical axis moves no point up or down).
    back = proxy_maps(pose[None], pose[None], [_camera(180.0)], [_camera(180.0)]).surface[0]
    chest_b = back[1] > 0
    assert (back[4][chest_b] < 0).float().mean() > 0.95
    with pytest.raises(ValueError, match="surface must be"):
        surface_map(torch.zeros(1, H, W, 2), torch.zeros(1, H, W, dtype=torch.long))


def test_a_body_point_has_the_same_surface_coordinates_in_both_views():
    pose = reference_pose()
    cam_a, cam_b = _camera(0.0), _camera(30.0)
    maps = proxy_maps(pose[None], pose[None], [cam_a], [cam_b])
    source = proxy_maps(pose[None], pose[None], [cam_a], [cam_a]).surface  # the source view's own map
    # Carry the source map to the target view with the flow (nearest, so parts do not blend at their edges).
    grid = flow_to_grid(maps.flow)
    carried = torch.nn.functional.grid_sample(source, grid, mode="nearest", align_corners=False)[0]
    seen = (maps.visibility[0, 0] > 0) & (carried[1] > 0) & (maps.surface[0, 1] > 0)  # chest, seen in both
    assert seen.sum() > 30
    err = (carried[2:5] - maps.surface[0, 2:5]).abs()[:, seen]
    # Measured at 64×32: median 0.023 (136 pixels), where neighbouring chest pixels differ by 0.1–0.18.
    assert err.median() < 0.1


def test_the_source_silhouette_is_the_proxy_seen_from_the_source_camera():
    pose = reference_pose()
    cam_a, cam_b = _camera(0.0), _camera(90.0)
    maps = proxy_maps(pose[None], pose[None], [cam_a], [cam_b])
    own = proxy_maps(pose[None], pose[None], [cam_a], [cam_a])
    assert maps.source_silhouette.shape == (1, 1, H, W)
    assert torch.equal(maps.source_silhouette, proxy_silhouette(own.parts))


def test_the_ring_round_the_body_is_refilled_from_the_background_beyond_it():
    body = torch.zeros(1, 1, 24, 16)
    body[..., 8:16, 6:10] = 1
    image = torch.full((1, 3, 24, 16), -0.5)  # a plain studio …
    image[..., 8:16, 6:10] = 0.8  # … a body …
    halo = grow_mask(body, 2) * (1 - body)
    image = torch.where(halo > 0, torch.full_like(image, 0.3), image)  # … and a halo of its colour round it
    nothing = torch.zeros_like(body)  # the input's body covered nothing the target shows
    np.testing.assert_array_equal(fill_uncovered(image, nothing, body).numpy(), image.numpy())  # ring 0: no change
    filled = fill_uncovered(image, nothing, body, ring=3)
    assert torch.equal(filled[body.expand_as(image) > 0], image[body.expand_as(image) > 0])  # the body stays
    ring = (grow_mask(body, 3) * (1 - body)).expand_as(image) > 0
    torch.testing.assert_close(filled[ring], torch.full_like(filled[ring], -0.5))  # the halo is studio again
    outside = grow_mask(body, 3).expand_as(image) == 0
    assert torch.equal(filled[outside], image[outside])
    with pytest.raises(ValueError, match="ring"):
        fill_uncovered(image, nothing, body, ring=-1)


def test_uncovered_background_is_where_the_input_body_was_and_the_target_body_is_not():
    pose = reference_pose()
    cam_a = _camera(0.0)
    same = proxy_maps(pose[None], pose[None], [cam_a], [cam_a])
    target = proxy_silhouette(same.parts)
    # The same view: the input's body covers exactly the target's, so nothing is uncovered.
    assert uncovered_background(same.source_silhouette, target).sum() == 0
    # Turned by 90°, the arms held out in the input's view are background in the target's.
    turned = rotate_about_body_axis(pose, 90.0)
    maps = proxy_maps(pose[None], turned[None], [cam_a], [cam_a])
    target = proxy_silhouette(maps.parts)
    region = uncovered_background(maps.source_silhouette, target)
    assert region.sum() > 10
    assert (region * grow_mask(target, UNCOVER_GROW_TARGET)).sum() == 0  # never on (or next to) the target body
    assert (region <= grow_mask(maps.source_silhouette, UNCOVER_GROW_SOURCE)).all()
    with pytest.raises(ValueError, match="silhouettes"):
        uncovered_background(target, target[0])
    with pytest.raises(ValueError, match="pixels"):
        grow_mask(target, -1)
    assert torch.equal(grow_mask(target, 0), target)


@pytest.mark.parametrize("pixels", [1, 2, 3, 6, 10])
def test_grow_mask_is_a_square_dilation_at_every_width(pixels):
    # From 3 pixels on it runs as two 1-D passes: it must give the square's max pool exactly, at the borders too.
    g = torch.Generator().manual_seed(pixels)
    mask = (torch.rand(3, 1, 40, 24, generator=g) > 0.93).float()
    mask[0, 0, 0, 0] = mask[1, 0, -1, -1] = 1.0  # corners: the padding must not reach past the image
    square = torch.nn.functional.max_pool2d(mask, 2 * pixels + 1, stride=1, padding=pixels)
    assert torch.equal(grow_mask(mask, pixels), square)
    assert grow_mask(mask, pixels).shape == mask.shape


def test_source_maps_are_the_pairs_maps_of_one_source_to_many_targets():
    pose = reference_pose()
    cam = _camera(10.0)
    targets = np.stack([rotate_about_body_axis(pose, yaw) for yaw in (0.0, 90.0, 180.0)])
    maps = source_maps(pose, cam, targets)
    pairs = proxy_maps(np.stack([pose] * 3), targets, [cam] * 3, [cam] * 3)
    assert all(torch.equal(a, b) for a, b in zip(maps, pairs, strict=True))
    assert torch.equal(maps.silhouette, proxy_silhouette(maps.parts)) and maps.silhouette.shape == (3, 1, H, W)
    other = [_camera(40.0)] * 3  # target cameras of their own
    moved = proxy_maps(np.stack([pose] * 3), targets, [cam] * 3, other)
    assert all(torch.equal(a, b) for a, b in zip(source_maps(pose, cam, targets, other), moved, strict=True))


def test_source_maps_from_a_kept_source_view_and_built_targets_are_the_same_maps():
    """What a synthesizer keeps across calls (the input's proxy and depth map, ``source_view``) and builds once per
    call (the targets' proxies) gives the maps bit for bit, widened parts too."""
    from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, build_proxy
    from posegen_lite.geometry.warp import source_view

    pose, cam = reference_pose(), _camera(10.0)
    targets = np.stack([rotate_about_body_axis(pose, yaw) for yaw in (0.0, 35.0, 135.0, 180.0)])
    for widths in (None, np.linspace(1.0, 1.6, NUM_PROXY_PARTS)):
        plain = source_maps(pose, cam, targets, radius_scale=widths)
        seen = source_view(pose, cam, widths)
        built = build_proxy(targets.astype(np.float64), widths)
        kept = source_maps(pose, cam, targets, radius_scale=widths, seen=seen, target_proxy=built)
        assert all(torch.equal(a, b) for a, b in zip(plain, kept, strict=True))
        assert seen.depth.shape == (1, H * W) and torch.equal(
            torch.isfinite(seen.depth).view(H, W), plain.source_silhouette[0, 0] > 0
        )
    with pytest.raises(ValueError, match="2 target proxies"):
        source_maps(pose, cam, targets, target_proxy=build_proxy(targets[:2].astype(np.float64)))
    with pytest.raises(ValueError, match="batch of one body"):
        build_proxy(targets.astype(np.float64)).repeat(3)


def test_fit_orthographic_recovers_the_camera_and_keeps_the_inputs_precision():
    pose = reference_pose().astype(np.float64)
    truth = OrthoCamera(40.0, (30.0, 70.0), W, H)
    xy = np.stack([truth.scale * pose[:, 0] + truth.offset[0], -truth.scale * pose[:, 1] + truth.offset[1]], 1)
    visible = np.ones(len(pose), bool)
    cam = fit_orthographic(pose, xy, visible, W, H)
    assert cam.scale == pytest.approx(truth.scale) and np.allclose(cam.offset, truth.offset)
    assert (cam.width, cam.height) == (W, H)
    # float32 inputs are fitted in float32, as the pipeline always fitted them (its pictures stay bit for bit)
    j32, xy32 = pose.astype(np.float32), xy.astype(np.float32)
    P = np.stack([j32[:, 0], -j32[:, 1]], axis=1)
    scale = float(((P - P.mean(0)) * (xy32 - xy32.mean(0))).sum() / ((P - P.mean(0)) ** 2).sum())
    assert fit_orthographic(j32, xy32, visible, W, H).scale == scale
    with pytest.raises(ValueError, match="two joints"):
        fit_orthographic(pose, xy, np.eye(1, len(pose), dtype=bool)[0], W, H)


def test_the_visibility_slack_is_the_body_s_scale_not_a_missing_part_s():
    """The depth test's slack is a fraction of the body's scale, read from the pelvis. A person without legs (an
    upper-body photo) has those parts off, with neutral radii of 1: were they read as the scale, the slack would be
    18 cm and the input would "see" round the back of its head. At 180° it sees none of the turned head, legs or no
    legs, and a head widened for hair does not change that."""
    from posegen_lite.geometry.correspond import PELVIS
    from posegen_lite.geometry.warp import source_maps

    assert PROXY_PARTS[PELVIS] == "pelvis"
    view = Scene.held_out(0, (128, 64)).input_view
    head = PROXY_PARTS.index("head")
    legless = view.joints3d.copy()
    legless[[JOINT_INDEX[f"{s}_{j}"] for s in "rl" for j in ("knee", "ankle")]] = np.nan
    for joints in (view.joints3d, legless):
        behind = rotate_about_body_axis(joints, 180.0, camera=view.camera)
        for widen in (1.0, 2.0):
            scale = np.ones(len(PROXY_PARTS))
            scale[head] = widen
            maps = source_maps(joints, view.camera, [behind], radius_scale=scale)
            on_head = maps.parts[0] == head
            assert on_head.sum() > 20
            assert float((maps.visibility[0, 0] > 0.5)[on_head].float().mean()) < 0.02
