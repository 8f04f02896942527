"""pipelines.crowd: per-person synthesis in model-framed windows and back-to-front compositing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_synthesizer

from posegen_lite.data.synthetic.crowds import place_body, render_crowd
from posegen_lite.data.synthetic.framing import FOV_Y, MARGIN
from posegen_lite.data.synthetic.render import render_views
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import Camera, orbit_camera
from posegen_lite.geometry.photo import NoPersonFoundError
from posegen_lite.geometry.scene import Window, crop, cylinder_distance, joint_cylinder
from posegen_lite.pipelines.crowd import CrowdSynthesizer, keypoints_from_pg2_rows, people_from_photo
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

SIZE = (32, 32)


@pytest.fixture(scope="module")
def synth() -> NovelViewSynthesizer:
    return tiny_synthesizer(SIZE)


@pytest.fixture(scope="module")
def pair():
    """Two overlapping people: ``near`` in front of ``far`` seen from the camera at azimuth 0 (on +z)."""
    a, b = Scene.held_out(0, SIZE), Scene.held_out(1, SIZE)
    near, far = place_body(a.body, 0, (0.0, 0.0)), place_body(b.body, 20, (0.35, -1.2))
    cam = orbit_camera(0, 5, 7.0, [0.15, 0.9, -0.6], 64, 48)
    view = render_crowd([a.person, b.person], [near, far], [cam])[0]
    return view, [near.joints3d, far.joints3d], cam


@pytest.fixture(scope="module")
def one_person():
    """One held-out person filling a ``SIZE`` frame as the synthetic data frames them: (image, joints, camera)."""
    scene = Scene.held_out(2, SIZE)
    j = scene.body.joints3d
    axis, r, lo, hi = joint_cylinder(j)
    dist = cylinder_distance(r, lo, hi, 5.0, *SIZE, FOV_Y, MARGIN)
    cam = orbit_camera(30, 5.0, dist, axis + [0, (lo + hi) / 2, 0], *SIZE[::-1], FOV_Y)
    image = render_views([scene.person], [scene.body], [cam])[0].image
    return image, j, cam


def test_one_person_scene_is_the_single_person_path(synth, one_person):
    image, j, cam = one_person
    crowd = CrowdSynthesizer(synth).synthesize(image, [j], cam, yaw=120)
    single = synth.synthesize(image, j, yaw=120, camera=cam)
    person = crowd.people[0]
    assert person.window == Window(0, 0, *SIZE)
    np.testing.assert_array_equal(person.input_crop, image)
    np.testing.assert_array_equal(person.synthesis.keypoints, single.keypoints)
    np.testing.assert_array_equal(person.synthesis.image, single.image)
    # The composite is that image over the background, through the person's matte.
    a = person.alpha[..., None]
    expect = np.clip(crowd.background * (1 - a) + single.image * a + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(crowd.image.astype(int) - expect).max() <= 1


def test_a_warping_g1_gets_each_persons_proxy_flow_in_a_scene(one_person):
    import torch

    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config

    torch.manual_seed(0)
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="skip"))
    with torch.no_grad():  # trained skip mixers are not zero: the warped features must matter
        for mixer in g1.skip_mixers:
            mixer.weight.normal_(0, 0.5)
    g2 = G2(G2Config(*SIZE, base_channels=4, mask_difference=True, silhouette_difference=True))
    with torch.no_grad():  # a G2 that edits wherever it may: inside the proxy's silhouette
        g2.to_difference.weight.normal_(0, 0.5)
    warping = NovelViewSynthesizer(g1, g2, device="cpu")  # the default outline ring, for single people
    image, j, cam = one_person
    crowd = CrowdSynthesizer(warping).synthesize(image, [j], cam, yaw=60)
    # The window is the whole image: the same flow. The crowd mattes each person itself, so it asks for no outline
    # fill (generate(…, outline_ring=0)): the single-person path without it is what it must match.
    unfilled = NovelViewSynthesizer(g1, g2, device="cpu", outline_ring=0, soft_outline=False)  # nor softens it
    single = unfilled.synthesize(image, j, yaw=60, camera=cam)  # the crowd's: generate's, and the default blend
    ringed = warping.synthesize(image, j, yaw=60, camera=cam)
    assert (ringed.coarse != single.coarse).any()  # the ring does matter
    guess = unfilled.synthesize(image, j, yaw=60, camera=cam, unseen="networks")
    assert (guess.coarse != single.coarse).any()  # and so does the blend of the unseen side
    np.testing.assert_array_equal(crowd.people[0].synthesis.coarse, single.coarse)
    # a photo's light stays in its world: no re-lit texture, the networks' guess
    photo = CrowdSynthesizer(warping, light=None).synthesize(image, [j], cam, yaw=60)
    np.testing.assert_array_equal(photo.people[0].synthesis.coarse, guess.coarse)
    # … and the same silhouette for G2
    assert (single.image != single.coarse).any()
    np.testing.assert_array_equal(crowd.people[0].synthesis.image, single.image)


def test_overlapping_people_are_pasted_back_to_front(synth, pair):
    view, joints, cam = pair
    crowd = CrowdSynthesizer(synth, background="inpaint")
    front, back = crowd.synthesize_many(view.image, joints, cam, [0, 180])
    assert front.order == [1, 0] and back.order == [0, 1]  # half a turn swaps who is in front
    for res, ahead in ((front, 0), (back, 1)):
        both = (res.people[0].alpha > 0.5) & (res.people[1].alpha > 0.5)
        assert both.sum() > 10
        assert (res.front_map()[both] == ahead).all()
        assert res.image.shape == view.image.shape and res.notes == []


def test_the_scene_s_own_view_is_the_input_scene_bit_for_bit(synth, pair):
    view, joints, cam = pair
    crowd = CrowdSynthesizer(synth, background="inpaint")
    same, turned = crowd.synthesize_many(view.image, joints, cam, [360, 30])
    lifted = crowd.synthesize_2d(view.image, list(view.keypoints), list(view.visible), [0])[0]
    for res in (same, lifted):
        assert np.abs(res.image.astype(int) - view.image.astype(int)).max() == 0
        assert res.order == [1, 0]  # the people are still found and ordered, only the picture is the input
    assert not np.array_equal(turned.image, view.image)


def test_person_leaving_the_view_is_dropped_with_a_note(synth, pair):
    view, joints, cam = pair
    # Turning the scene about the camera's own vertical axis pans it: 40° moves someone out of the frame.
    pivot = cam.center * [1, 0, 1]
    results = CrowdSynthesizer(synth).synthesize_many(view.image, joints, cam, [40, -40], pivot=pivot)
    for res in results:
        assert res.notes and "outside the target view" in res.notes[0]
        assert len(res.order) + len(res.notes) == 2 and res.image.shape == view.image.shape
    assert any(p is None for p in results[0].people)


def test_bad_scenes_raise_clear_errors(synth, pair):
    view, joints, cam = pair
    crowd = CrowdSynthesizer(synth)
    with pytest.raises(ValueError, match="no people"):
        crowd.synthesize(view.image, [], cam, yaw=30)
    away = np.diag([-1.0, 1.0, -1.0]) @ cam.R  # a camera that looks away from everybody
    with pytest.raises(ValueError, match="person 0 has no visible joint"):
        crowd.synthesize(view.image, joints, Camera(cam.K, away, -away @ cam.center, 64, 48), yaw=30)
    nan = np.full((18, 2), np.nan, np.float32)
    with pytest.raises(ValueError, match="person 1 has no visible keypoint"):
        crowd.synthesize_2d(view.image, [view.keypoints[0], nan], [view.visible[0], np.zeros(18, bool)])
    dot = np.where(view.visible[0][:, None], 20 + view.keypoints[0] / 100, np.nan).astype(np.float32)
    with pytest.raises(ValueError, match="person 0's visible 2D keypoints span only"):
        crowd.synthesize_2d(view.image, [dot, view.keypoints[1]], [view.visible[0], view.visible[1]])
    with pytest.raises(ValueError, match="background"):
        CrowdSynthesizer(synth, background="blur")


def test_people_from_photo_finds_nobody_in_a_render_too_small_for_the_estimator(one_person):
    pytest.importorskip("mediapipe")
    with pytest.raises(NoPersonFoundError):  # a 64×48 render is too small for the photo path's pose estimator
        people_from_photo(one_person[0])


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"pitch": 120}, "pitch must be within ±90°"),
        ({"pitch": 180}, "pitch must be within ±90°"),
        ({"pitch": -150}, "pitch must be within ±90°"),
        ({"pitch": float("nan")}, "pitch must be a finite number"),
        ({"yaw": "90"}, r"yaw must be a number of degrees, got '90' \(str\)"),
        ({"yaw": float("inf")}, "yaw must be a finite number"),
    ],
)
def test_bad_angles_are_refused_as_the_single_person_synthesizer_refuses_them(synth, pair, kw, message):
    view, joints, cam = pair
    crowd = CrowdSynthesizer(synth)
    with pytest.raises(ValueError, match=message):
        crowd.synthesize(view.image, joints, cam, **kw)
    yaws = [kw.get("yaw", 0.0)]
    with pytest.raises(ValueError, match=message):
        crowd.synthesize_many(view.image, joints, cam, yaws, kw.get("pitch", 0.0))
    with pytest.raises(ValueError, match=message):
        crowd.synthesize_2d(view.image, list(view.keypoints), list(view.visible), yaws, kw.get("pitch", 0.0))
    single = synth.synthesize_many  # the single-person synthesizer's message is the same one
    with pytest.raises(ValueError, match=message):
        single(np.zeros((*SIZE, 3), np.uint8), np.zeros((18, 2)), yaws, kw.get("pitch", 0.0))


def test_yaw_lists_are_checked_as_lists(synth, pair):
    view, joints, cam = pair
    crowd = CrowdSynthesizer(synth)
    with pytest.raises(ValueError, match="yaws is empty"):
        crowd.synthesize_many(view.image, joints, cam, [])
    with pytest.raises(ValueError, match="list of angles"):
        crowd.synthesize_many(view.image, joints, cam, "90")


def test_2d_keypoints_are_lifted_into_a_scene(synth, pair):
    view, _, _ = pair
    crowd = CrowdSynthesizer(synth)
    people, cam = crowd.lift_scene(list(view.keypoints), list(view.visible), 48, 64)
    depths = [cam.to_camera(p[[8, 11]].mean(0)[None])[0, 2] for p in people]
    assert depths[0] < depths[1]  # the bigger (nearer) person is placed nearer
    for p, kp, vis in zip(people, view.keypoints, view.visible, strict=True):
        xy, ok = cam.project(p)
        assert np.nanmedian(np.linalg.norm(xy[vis & ok] - kp[vis & ok], axis=1)) < 3.0  # lands where it was seen
    res = crowd.synthesize_2d(view.image, list(view.keypoints), list(view.visible), [0, 90])
    assert len(res) == 2 and res[1].image.shape == view.image.shape
    # The same people as PG2 annotation rows (y list, x list, -1 = missing).
    rows = []
    for kp, vis in zip(view.keypoints, view.visible, strict=True):
        ys = [int(round(y)) if v else -1 for y, v in zip(kp[:, 1], vis, strict=True)]
        xs = [int(round(x)) if v else -1 for x, v in zip(kp[:, 0], vis, strict=True)]
        rows.append(f"scene.png: {ys}: {xs}")
    kps, vis = keypoints_from_pg2_rows(rows, (48, 64))
    np.testing.assert_array_equal(vis[1], view.visible[1])
    assert np.nanmax(np.abs(kps[0] - view.keypoints[0])) <= 0.5


def test_crop_pads_outside_the_image():
    image = np.full((10, 10, 3), 200, np.uint8)
    fill = np.zeros_like(image)
    out = crop(image, Window(-3, 5, 8, 8), fill, (8, 8))
    assert (out[:5, 3:] == 200).all() and (out[:, :3] == 0).all() and (out[5:] == 0).all()
