"""The procedural person and its renderer: occlusion, joints on the body, front ≠ back, sizes, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posegen_lite.data.synthetic.body import PART, pose_body, sample_person
from posegen_lite.data.synthetic.font import ALPHABET, glyph, text_bitmap
from posegen_lite.data.synthetic.framing import FOV_Y, frame_distance, person_camera
from posegen_lite.data.synthetic.poses import LIMITS, POSE_KINDS, Pose, sample_pose
from posegen_lite.data.synthetic.render import render_views
from posegen_lite.geometry.camera import orbit_camera, rotate_about_body_axis

SHIRT = np.float32([0.1, 0.2, 0.9])  # blue
SKIN = np.float32([0.9, 0.3, 0.2])  # red


def _person(seed: int = 0, **changes):
    return dataclasses.replace(sample_person(np.random.default_rng(seed)), **changes)


def _arm_across_chest() -> Pose:
    # Upper arm slightly forward, elbow bent, arm turned inwards: the right forearm lies across the chest.
    return Pose(r_flex=25.0, r_abd=5.0, r_twist=-60.0, r_elbow=110.0)


def test_occlusion_arm_in_front_of_torso():
    person = _person(shirt=SHIRT, patch=SHIRT, ink=SHIRT, skin=SKIN, long_sleeves=False, back="plain")
    body = pose_body(person, _arm_across_chest())
    # The forearm's midpoint, and a precondition: it really lies in front of the chest and within its width.
    k, c = PART["r_forearm"], PART["chest"]
    mid = body.centre[k]
    assert mid[2] > body.centre[c, 2] + body.radii[c, 2]
    assert abs(mid[0] - body.centre[c, 0]) < body.radii[c, 0]
    front, back = (person_camera(body, az, 0.0, 128, 128) for az in (0.0, 180.0))
    r_front, r_back = render_views([person, person], [body, body], [front, back])
    for view, expect_part, expect_colour in ((r_front, k, SKIN), (r_back, c, SHIRT)):
        x, y = view.camera.project(mid[None])[0][0]
        px, py = int(round(float(x))), int(round(float(y)))
        assert view.parts[py, px] == expect_part
        rgb = view.image[py, px].astype(float)
        assert np.argmax(rgb) == np.argmax(expect_colour), (rgb, expect_colour)
    # The right wrist is in front of the torso from the front, hidden behind it from the back.
    wrist = 4
    assert r_front.visible[wrist] and r_back.visible[wrist]
    assert not r_front.occluded[wrist] and r_back.occluded[wrist]


@pytest.mark.parametrize("size", [(64, 64), (128, 64), (256, 256)])
def test_sizes_fit_whole_body_and_joints_land_on_body(size):
    rng = np.random.default_rng(1)
    people, bodies, cams = [], [], []
    for i in range(12):
        person = sample_person(rng)
        body = pose_body(person, sample_pose(rng, POSE_KINDS[i % len(POSE_KINDS)]))
        people.append(person)
        bodies.append(body)
        cams.append(person_camera(body, rng.uniform(0, 360), rng.uniform(-10, 30), *size))
    on_body = total = 0
    for r in render_views(people, bodies, cams):
        assert r.image.shape == (*size, 3) and r.image.dtype == np.uint8
        assert r.mask.shape == size and r.mask.dtype == bool
        assert r.visible.all(), "the whole body must be inside the image"
        # no foreground on the image border: the person fits with a margin
        assert not (r.mask[0].any() or r.mask[-1].any() or r.mask[:, 0].any() or r.mask[:, -1].any())
        assert 0.03 < r.mask.mean() < 0.6
        px = np.rint(r.keypoints).astype(int)
        hits = r.mask[px[:, 1], px[:, 0]]
        on_body += int(hits.sum())
        total += len(hits)
    assert on_body / total > 0.9


def test_keypoints_match_camera_projection_and_yaw_convention():
    person = _person(3)
    body = pose_body(person, sample_pose(np.random.default_rng(3), "walking"))
    cam_a, cam_b = person_camera(body, 30.0, 10.0, 128, 64), person_camera(body, 100.0, 10.0, 128, 64)
    ra, rb = render_views([person] * 2, [body] * 2, [cam_a, cam_b])
    np.testing.assert_allclose(ra.keypoints, cam_a.project(body.joints3d)[0])
    # Moving the camera by +70° shows the body turned by −70° to the first camera (camera.py convention).
    turned = rotate_about_body_axis(body.joints3d, -70.0)
    np.testing.assert_allclose(cam_a.project(turned)[0], rb.keypoints, atol=1e-3)


def test_front_and_back_differ_but_same_view_is_identical():
    person = _person(5, patch=np.float32([0.95, 0.95, 0.93]), back="plain")
    body = pose_body(person, Pose())
    cams = [person_camera(body, az, 5.0, 128, 64) for az in (0.0, 180.0, 0.0)]
    front, back, again = render_views([person] * 3, [body] * 3, cams)
    assert front.image.tobytes() == again.image.tobytes()
    chest = PART["chest"]

    def torso_crop(r):
        ys, xs = np.nonzero(r.parts == chest)
        crop = r.image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(float)
        # compare on a common 16×8 grid
        iy = np.linspace(0, crop.shape[0] - 1, 16).astype(int)
        ix = np.linspace(0, crop.shape[1] - 1, 8).astype(int)
        return crop[iy][:, ix]

    assert np.abs(torso_crop(front) - torso_crop(back)).mean() > 20.0
    assert np.abs(torso_crop(front) - torso_crop(again)).mean() == 0.0


def test_person_camera_is_the_orbit_camera():
    body = pose_body(_person(4), Pose())
    for az, el, (h, w) in ((0.0, 0.0, (64, 64)), (123.0, 25.0, (128, 64)), (300.0, -10.0, (256, 256))):
        cam = person_camera(body, az, el, h, w)
        dist, target = frame_distance(body, el, h, w)
        ref = orbit_camera(az, el, dist, target, w, h, FOV_Y)
        np.testing.assert_allclose(cam.R, ref.R, atol=1e-12)
        np.testing.assert_allclose(cam.t, ref.t, atol=1e-12)
        np.testing.assert_allclose(cam.K, ref.K, atol=1e-12)


def test_render_is_deterministic_and_depends_on_the_person():
    def draw(seed):
        rng = np.random.default_rng(seed)
        person = sample_person(rng)
        body = pose_body(person, sample_pose(rng))
        return render_views([person], [body], [person_camera(body, 45.0, 10.0, 64, 64)])[0].image.tobytes()

    assert draw(11) == draw(11)
    assert draw(11) != draw(12)


def test_poses_stay_within_limits():
    rng = np.random.default_rng(0)
    for kind in POSE_KINDS:
        for _ in range(20):
            pose = sample_pose(rng, kind)
            pose.check()
            assert pose.kind == kind
    with pytest.raises(ValueError, match="r_elbow"):
        Pose(r_elbow=200.0).check()
    with pytest.raises(ValueError, match="outside"):
        pose_body(_person(), Pose(l_knee=-20.0))
    with pytest.raises(ValueError, match="unknown pose kind"):
        sample_pose(rng, "cartwheel")
    assert set(LIMITS) == {f.name for f in dataclasses.fields(Pose)} - {"kind"}


def test_arms_raised_puts_wrists_above_head():
    person = _person(2)
    body = pose_body(person, Pose(r_abd=170.0, l_abd=170.0, r_elbow=0.0, l_elbow=0.0))
    assert body.joints3d[4, 1] > body.joints3d[0, 1] and body.joints3d[7, 1] > body.joints3d[0, 1]
    # face joints sit on the front of the head, left joints on the person's left (+x)
    assert body.joints3d[0, 2] > body.joints3d[16, 2]
    assert body.joints3d[14, 0] > body.joints3d[15, 0] and body.joints3d[5, 0] > body.joints3d[2, 0]
    # hip centre on the vertical axis, feet on the ground
    np.testing.assert_allclose(body.joints3d[[8, 11]].mean(0)[[0, 2]], 0.0, atol=1e-6)
    assert 0.0 <= body.joints3d[[10, 13], 1].min() < 0.15


def test_bad_arguments_raise():
    person = _person()
    body = pose_body(person, Pose())
    with pytest.raises(ValueError, match="elevation"):
        person_camera(body, 0.0, 45.0, 64, 64)
    with pytest.raises(ValueError, match="elevation"):
        person_camera(body, 0.0, -20.0, 64, 64)
    with pytest.raises(ValueError, match="size"):
        person_camera(body, 0.0, 0.0, 0, 64)
    with pytest.raises(ValueError, match="azimuth"):
        person_camera(body, float("nan"), 0.0, 64, 64)
    cam = person_camera(body, 0.0, 0.0, 32, 32)
    with pytest.raises(ValueError, match="equal"):
        render_views([person, person], [body], [cam])
    with pytest.raises(ValueError, match="size"):
        render_views([person] * 2, [body] * 2, [cam, person_camera(body, 0.0, 0.0, 64, 32)])
    with pytest.raises(ValueError, match="supersample"):
        render_views([person], [body], [cam], supersample=0)


def test_font_glyphs():
    for ch in ALPHABET:
        g = glyph(ch)
        assert g.shape == (7, 5) and g.any()
    assert len({glyph(ch).tobytes() for ch in ALPHABET}) == len(ALPHABET)  # all glyphs distinct
    assert text_bitmap("ABC").shape == (7, 17)
    with pytest.raises(ValueError):
        glyph("#")
