"""NovelViewSynthesizer: Stage I geometry feeding G1/G2, the 2D (lifted) path, loading and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_synthesizer

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.warp import OUTLINE_RING, grow_mask, uncovered_background
from posegen_lite.models.checkpoints import save_checkpoint
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.models.weights import export_weights
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, TooFewJointsError

SIZE = (32, 32)


@pytest.fixture(scope="module")
def synth() -> NovelViewSynthesizer:
    return tiny_synthesizer(SIZE)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene.held_out(0, SIZE)


def test_yaw_zero_targets_the_input_pose(synth, scene):
    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, yaw=0, camera=view.camera)
    np.testing.assert_array_equal(res.visible, view.visible)
    np.testing.assert_allclose(res.keypoints[res.visible], view.keypoints[view.visible], atol=1e-3)
    assert res.image.shape == (*SIZE, 3) and res.image.dtype == np.uint8
    # G2 starts as the identity on G1's output, so an untrained G2 returns G1's picture
    turned = synth.synthesize(view.image, view.joints3d, yaw=30, camera=view.camera)
    np.testing.assert_array_equal(turned.refined, turned.coarse)


def test_the_input_view_is_the_input_bit_for_bit(synth, scene):
    """Yaw a whole number of turns and pitch 0 is the input's own camera: every stage returns the input."""
    view = scene.input_view
    many = synth.synthesize_many(view.image, view.joints3d, [0, 360, -720, 30], camera=view.camera)
    lifted = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=0)
    for res in [*many[:3], lifted]:
        for image in (res.image, res.coarse, res.refined):
            assert np.abs(image.astype(int) - view.image.astype(int)).max() == 0
    # other views are the networks' (an untrained G1's picture is nothing like the input)
    assert not np.array_equal(many[3].image, view.image)
    pitched = synth.synthesize(view.image, view.joints3d, yaw=0, pitch=10, camera=view.camera)
    assert not np.array_equal(pitched.image, view.image)
    coarse, _, _, _ = synth.generate(view.image, [view.keypoints], [view.visible])  # the networks' own answer
    assert not np.array_equal(coarse[0], view.image)


def test_many_yaws_in_one_batch_match_single_calls(synth, scene):
    view = scene.input_view
    many = synth.synthesize_many(view.image, view.joints3d, [0, 90, 180], camera=view.camera)
    one = synth.synthesize(view.image, view.joints3d, yaw=90, camera=view.camera)
    assert [r.yaw for r in many] == [0.0, 90.0, 180.0]
    np.testing.assert_array_equal(many[1].keypoints, one.keypoints)
    np.testing.assert_allclose(many[1].image.astype(int), one.image.astype(int), atol=1)


def test_yaw_180_mirrors_the_shoulders(synth, scene):
    view = scene.input_view
    front = synth.synthesize(view.image, view.joints3d, yaw=0, camera=view.camera).keypoints
    back = synth.synthesize(view.image, view.joints3d, yaw=180, camera=view.camera).keypoints
    r, l = 2, 5  # r_shoulder, l_shoulder
    assert (front[r, 0] - front[l, 0]) * (back[r, 0] - back[l, 0]) < 0


def test_2d_keypoints_are_lifted_and_placed_on_the_person(synth, scene):
    view = scene.input_view
    res = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=0)
    ok = res.visible & view.visible
    assert ok.sum() >= 12
    err = np.linalg.norm(res.keypoints[ok] - view.keypoints[ok], axis=1)
    assert np.median(err) < 2.0  # pixels, at 32×32
    turned = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=90)
    assert not np.allclose(turned.keypoints[turned.visible & ok], res.keypoints[turned.visible & ok])


def test_bad_input(synth, scene):
    view = scene.input_view
    with pytest.raises(ValueError, match="camera"):
        synth.synthesize(view.image, view.joints3d, yaw=10)
    with pytest.raises(ValueError, match="expects 32×32"):
        synth.synthesize(np.zeros((64, 64, 3), np.uint8), view.joints3d, camera=view.camera)
    with pytest.raises(ValueError, match=r"\(18, 3\)"):
        synth.synthesize(view.image, np.zeros((17, 3)), camera=view.camera)
    with pytest.raises(ValueError):
        synth.synthesize(view.image, np.full((18, 3), np.nan), camera=view.camera)
    with pytest.raises(ValueError, match="lifter"):
        NovelViewSynthesizer(synth.g1, lifter="magic")


def test_loads_from_an_exported_checkpoint(tmp_path, synth, scene):
    state = {
        "stage": 3,
        "step": 1,
        "config": {},
        "history": [],
        "model_configs": {"g1": vars(synth.g1.config).copy(), "g2": vars(synth.g2.config).copy()},
        "models": {"g1": synth.g1.state_dict(), "g2": synth.g2.state_dict()},
    }
    ckpt = save_checkpoint(state, tmp_path / "run")
    slim = export_weights(ckpt, tmp_path / "demo.pt")
    loaded = NovelViewSynthesizer.from_checkpoint(slim, device="cpu")
    view = scene.input_view
    a = synth.synthesize(view.image, view.joints3d, yaw=45, camera=view.camera)
    b = loaded.synthesize(view.image, view.joints3d, yaw=45, camera=view.camera)
    np.testing.assert_array_equal(a.image, b.image)


def test_a_warping_g1_gets_the_proxy_flow_from_3d_and_from_2d_keypoints(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g1 = G1(G1Config(h, w, base_channels=4, warp="skip"))
    g2 = G2(G2Config(h, w, base_channels=4, mask_difference=True))
    synth = NovelViewSynthesizer(g1, g2, device="cpu")
    view = scene.input_view
    assert synth.warps
    maps = synth.proxy_flow(view.joints3d, [view.joints3d], view.camera)
    flow, vis, silhouette = maps.flow, maps.visibility, maps.silhouette
    assert flow.abs().max() < 0.5 and vis.sum() > 0  # yaw 0: the identity
    assert silhouette.shape == vis.shape and (vis <= silhouette).all()  # only the body's pixels are visible
    res3d = synth.synthesize_many(view.image, view.joints3d, [0.0, 90.0], camera=view.camera)
    res2d = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=30.0)
    for r in [*res3d, res2d]:
        assert r.image.shape == (h, w, 3) and r.image.dtype == np.uint8
    with pytest.raises(ValueError, match="warp"):
        synth.generate(view.image, [view.keypoints], [view.visible])


def test_a_g2_kept_inside_the_proxy_silhouette_gets_it_from_stage_one(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g2 = G2(G2Config(h, w, base_channels=4, mask_difference=True, silhouette_difference=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 that edits everywhere it may
    synth = NovelViewSynthesizer(G1(G1Config(h, w, base_channels=4)), g2, device="cpu", soft_outline=False)  # PG2's G1
    assert synth.needs_proxy and not synth.warps  # (generate has no outline to soften: compared without it)
    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, yaw=60.0, camera=view.camera)
    silhouette = synth.proxy_flow(view.joints3d, [res.joints3d], view.camera).silhouette
    grown = torch.nn.functional.max_pool2d(silhouette, 3, stride=1, padding=1)[0, 0].numpy() > 0
    assert (res.image != res.coarse).any(axis=-1)[grown].any()  # refined on the body
    np.testing.assert_array_equal(res.image[~grown], res.coarse[~grown])  # G1's everywhere else
    kp = [res.keypoints]
    with pytest.raises(ValueError, match="silhouette"):
        flow_only = {"flow": torch.zeros(1, 2, h, w), "visibility": torch.zeros(1, 1, h, w)}
        synth.generate(view.image, kp, [res.visible], warp=flow_only)


def test_a_g2_that_reads_the_warped_input_gets_the_proxy_flow_from_stage_one(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g2 = G2(G2Config(h, w, base_channels=4, mask_difference=True, warped_input=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 whose edits depend on what it reads
    synth = NovelViewSynthesizer(G1(G1Config(h, w, base_channels=4)), g2, device="cpu", soft_outline=False)  # PG2's G1
    assert synth.needs_proxy and not synth.warps  # (generate has no outline to soften: compared without it)
    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, yaw=60.0, camera=view.camera, unseen="networks")
    warp = synth.proxy_flow(view.joints3d, [res.joints3d], view.camera)
    # generate with Stage I's maps answers as synthesize does: synthesize built them and handed them to G2.
    coarse, refined, _, _ = synth.generate(view.image, [res.keypoints], [res.visible], warp=warp)
    np.testing.assert_array_equal(refined[0], res.image)
    assert (res.image != res.coarse).any()
    with pytest.raises(ValueError, match="warped by the body proxy"):
        synth.generate(view.image, [res.keypoints], [res.visible])


def test_a_g2_that_edits_only_what_the_input_saw_leaves_the_unseen_side_to_g1(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g2 = G2(G2Config(h, w, base_channels=4, visible_difference=True))
    torch.nn.init.normal_(g2.to_difference.weight, std=0.5)  # a G2 that edits everywhere it may
    synth = NovelViewSynthesizer(G1(G1Config(h, w, base_channels=4)), g2, device="cpu", fill_uncovered=False)
    assert synth.needs_proxy
    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, yaw=150.0, camera=view.camera)  # mostly the back
    vis = synth.proxy_flow(view.joints3d, [res.joints3d], view.camera).visibility
    grown = torch.nn.functional.max_pool2d(vis, 3, stride=1, padding=1)[0, 0].numpy() > 0
    assert (res.image != res.coarse).any(axis=-1)[grown].any()  # refined where the input saw the body
    np.testing.assert_array_equal(res.image[~grown], res.coarse[~grown])  # G1's estimate everywhere else


# --- hardening: bad angles, wrong units, poses outside the image, yaw 0, photos --------------------------------


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"yaw": float("nan")}, "yaw must be a finite number"),
        ({"yaw": float("inf")}, "yaw must be a finite number"),
        ({"pitch": float("nan")}, "pitch must be a finite number"),
        ({"yaw": "90"}, r"yaw must be a number of degrees, got '90' \(str\)"),
        ({"pitch": 120}, "pitch must be within ±90°"),
        ({"pitch": -91}, "pitch must be within ±90°"),
    ],
)
def test_bad_angles_are_clear_errors(synth, scene, kw, message):
    view = scene.input_view
    with pytest.raises(ValueError, match=message):
        synth.synthesize(view.image, view.joints3d, camera=view.camera, **kw)
    with pytest.raises(ValueError, match=message):
        synth.synthesize(view.image, view.keypoints, visible=view.visible, **kw)


def test_empty_or_string_yaw_lists_are_clear_errors(synth, scene):
    view = scene.input_view
    with pytest.raises(ValueError, match="yaws is empty"):
        synth.synthesize_many(view.image, view.joints3d, [], camera=view.camera)
    with pytest.raises(ValueError, match="list of angles"):
        synth.synthesize_many(view.image, view.joints3d, "90", camera=view.camera)


def test_millimetre_joints_are_refused(synth, scene):
    view = scene.input_view
    with pytest.raises(ValueError, match="must be metres"):
        synth.synthesize(view.image, view.joints3d * 1000, camera=view.camera, yaw=30)


def test_a_pose_outside_the_image_raises_naming_how_many_joints_were_left(synth, scene):
    view = scene.input_view
    far = view.joints3d + np.array([40.0, 0.0, 0.0], np.float32)  # 40 m to the side: out of the picture
    with pytest.raises(TooFewJointsError, match="only 0 of 18 target joints"):
        synth.synthesize(view.image, far, camera=view.camera, yaw=0)
    behind = 2 * view.camera.center - view.joints3d  # the person mirrored behind the camera
    with pytest.raises(TooFewJointsError, match="only 0 of 18"):
        synth.synthesize(view.image, behind, camera=view.camera, yaw=0)
    allowed = synth.synthesize(view.image, far, camera=view.camera, yaw=0, min_joints=0)
    assert allowed.visible.sum() == 0


def test_2d_keypoints_outside_the_image_are_refused(synth, scene):
    view = scene.input_view
    with pytest.raises(ValueError, match="outside the 32×32 image"):
        synth.synthesize(view.image, view.keypoints + 100, visible=view.visible, yaw=30)


def test_2d_keypoints_squeezed_into_a_pixel_are_refused(synth, scene):
    view = scene.input_view
    centre = np.nanmean(view.keypoints[view.visible], axis=0)
    squeezed = centre + (view.keypoints - centre) / 30  # a whole person inside about one pixel
    with pytest.raises(ValueError, match="span only .* px .* not coordinates normalised"):
        synth.synthesize(view.image, squeezed, visible=view.visible, yaw=30)
    normalised = view.keypoints / np.array([view.image.shape[1], view.image.shape[0]])  # the usual mistake
    with pytest.raises(ValueError, match="normalised"):
        synth.synthesize(view.image, normalised, visible=view.visible, yaw=30)


def test_yaw_zero_gives_back_the_2d_input_pose_exactly(synth, scene):
    view = scene.input_view
    for lifter in ("mlp", "closed_form"):
        s = NovelViewSynthesizer(synth.g1, synth.g2, device="cpu", lifter=lifter)
        res = s.synthesize(view.image, view.keypoints, visible=view.visible, yaw=0)
        np.testing.assert_array_equal(res.visible, view.visible)
        np.testing.assert_array_equal(res.keypoints[res.visible], view.keypoints[view.visible])


class _FixedEstimator:
    """A pose estimator that returns a known pose (the person of ``scene`` pasted into a bigger photo)."""

    def __init__(self, pose):
        self.pose = pose

    def estimate(self, image):
        return self.pose


def _photo_of(view, offset=(60, 25), zoom=3):
    from posegen_lite.geometry.lifter import lift_pose_mlp
    from posegen_lite.geometry.photo import PhotoPose

    big = np.repeat(np.repeat(view.image, zoom, axis=0), zoom, axis=1)
    photo = np.full((200, 160, 3), 90, np.uint8)
    photo[offset[0] : offset[0] + big.shape[0], offset[1] : offset[1] + big.shape[1]] = big
    kp = (view.keypoints + 0.5) * zoom - 0.5 + np.array([offset[1], offset[0]], np.float32)
    joints3d = lift_pose_mlp(view.keypoints, view.visible)  # camera-aligned metres, as MediaPipe's
    return photo, PhotoPose(joints3d=joints3d, keypoints=kp.astype(np.float32), visible=view.visible.copy())


def test_a_silhouette_keeps_the_input_background_and_fills_only_where_the_person_stood(scene):
    from posegen_lite.images import to_tensor
    from posegen_lite.pipelines.stage1 import fit_widths, proxy_warp

    torch.manual_seed(0)
    s = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, warp="paste")), None, device="cpu", soft_outline=False)
    view = scene.input_view
    image = view.image.copy()
    image[:, : SIZE[1] // 2] = np.clip(image[:, : SIZE[1] // 2].astype(int) + 40, 0, 255)  # a background with an edge
    kept = s.synthesize_many(image, view.joints3d, [0, 90], camera=view.camera, silhouette=view.mask, unseen="networks")
    np.testing.assert_array_equal(kept[0].image, image)  # the input's own view: the input
    # the proxy is widened to the silhouette, and the networks read that proxy's maps
    source = s.source_pose(view.joints3d, view.camera)
    warp = proxy_warp(source, [kept[1].joints3d], SIZE, fit_widths(source, SIZE, view.mask))
    coarse, _ = s.networks(to_tensor(image), kept[1].pose_maps[None], kept[1].mask[None], warp)
    body = warp.silhouette[0, 0].numpy() > 0.5
    np.testing.assert_array_equal(kept[1].image[body], coarse[0][body])  # the body: the networks' pixels
    stood = view.mask | (warp.source_silhouette[0, 0].numpy() > 0.5)
    grown = grow_mask(torch.from_numpy(stood)[None, None].float(), 2)[0, 0].numpy() > 0.5
    free = ~body & ~grown
    assert free.sum() > 50
    np.testing.assert_array_equal(kept[1].image[free], image[free])  # the background away from the person, sharp
    hole = ~body & grown  # where the person stood and no longer stands: filled, so not the person's own pixels
    assert hole.sum() > 10 and not np.array_equal(kept[1].image[hole], image[hole])
    soft = s.synthesize(image, view.joints3d, camera=view.camera, yaw=90, silhouette=view.mask * 0.9, unseen="networks")
    np.testing.assert_array_equal(soft.image, kept[1].image)  # a soft mask is cut at 0.5


def test_part_colours_paint_only_what_the_input_did_not_see(scene):
    from posegen_lite.pipelines.stage1 import fit_widths, proxy_warp

    torch.manual_seed(0)
    s = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, warp="paste")), None, device="cpu", soft_outline=False)
    view = scene.input_view
    nets = s.synthesize(view.image, view.joints3d, camera=view.camera, yaw=180, silhouette=view.mask)
    painted = s.synthesize(view.image, view.joints3d, camera=view.camera, yaw=180, silhouette=view.mask,
                           unseen="part_colours")  # fmt: skip
    source = s.source_pose(view.joints3d, view.camera)
    warp = proxy_warp(source, [nets.joints3d], SIZE, fit_widths(source, SIZE, view.mask))
    unseen = (warp.parts[0].numpy() >= 0) & (warp.visibility[0, 0].numpy() < 0.5)
    assert unseen.sum() > 20  # at 180° most of the body is the side the input never saw
    np.testing.assert_array_equal(painted.image[~unseen], nets.image[~unseen])
    colours = {tuple(c) for c in painted.image[unseen]}
    assert len(colours) <= 16  # one colour per proxy part, not a network's texture
    with pytest.raises(ValueError, match="silhouette"):
        s.synthesize(view.image, view.joints3d, camera=view.camera, yaw=180, unseen="part_colours")
    with pytest.raises(ValueError, match="unseen must be one of"):
        s.synthesize(view.image, view.joints3d, camera=view.camera, yaw=180, silhouette=view.mask, unseen="mirror")


@pytest.mark.parametrize(
    "silhouette, message",
    [(np.ones((8, 8), bool), "32×32 mask"), (np.full(SIZE, 2.0), r"\[0, 1\]"), (np.full(SIZE, np.nan), "numbers"),
     (np.full(SIZE, "x"), "bools")],
)  # fmt: skip
def test_a_bad_silhouette_is_refused_naming_it(synth, scene, silhouette, message):
    view = scene.input_view
    with pytest.raises(ValueError, match=message):
        synth.synthesize(view.image, view.joints3d, camera=view.camera, yaw=30, silhouette=silhouette)


def test_synthesize_photo_crops_scales_and_keeps_the_pose(synth, scene):
    view = scene.input_view
    photo, pose = _photo_of(view)
    est = _FixedEstimator(pose)
    res = synth.synthesize_photo(photo, yaw=0, estimator=est)
    assert res.input_image.shape == (*SIZE, 3) and res.image.shape == (*SIZE, 3)
    inp = synth.prepare_photo(photo, est)
    np.testing.assert_array_equal(res.keypoints[res.visible], inp.keypoints[inp.visible])  # yaw 0: unchanged
    np.testing.assert_array_equal(res.image, inp.image)  # yaw 0: the crop itself, its background included
    # An estimator without a segmentation: the person is the keypoints' body mask, grown
    from posegen_lite.pipelines.compositing import people_masks
    from posegen_lite.pipelines.photo import KEYPOINT_SILHOUETTE_GROW

    body = people_masks([inp.keypoints], [inp.visible], *SIZE, KEYPOINT_SILHOUETTE_GROW)[0]
    np.testing.assert_array_equal(inp.silhouette, body)
    assert not inp.silhouette[0, 0]  # a corner of the grey photo is background
    assert res.visible.sum() == view.visible.sum()
    # The crop is around the person: its keypoints span most of the image height.
    ys = inp.keypoints[inp.visible, 1]
    assert ys.max() - ys.min() > 0.5 * SIZE[0]
    turned = synth.synthesize_photo(photo, yaw=90, estimator=est)
    assert turned.visible.sum() >= 4 and not np.allclose(
        turned.keypoints[turned.visible], res.keypoints[turned.visible]
    )


def test_synthesize_photo_without_a_person_is_a_clear_error(synth):
    from posegen_lite.geometry.photo import NoPersonFoundError

    class Nobody:
        def estimate(self, image):
            raise NoPersonFoundError("no person found in the 160×200 image")

    with pytest.raises(NoPersonFoundError, match="no person found"):
        synth.synthesize_photo(np.zeros((200, 160, 3), np.uint8), yaw=30, estimator=Nobody())


def test_synthesize_photo_with_mediapipe_on_the_astronaut(synth):
    pytest.importorskip("mediapipe")
    skdata = pytest.importorskip("skimage.data")
    from posegen_lite.geometry.photo import MediaPipeEstimator, NoPersonFoundError

    with MediaPipeEstimator() as est:
        res = synth.synthesize_photo(skdata.astronaut(), yaw=0, estimator=est)
        assert res.image.shape == (*SIZE, 3) and res.visible.sum() >= 8  # head, shoulders, arms, hips
        np.testing.assert_array_equal(res.image, res.input_image)  # yaw 0: the photo's crop itself
        inp = synth.prepare_photo(skdata.astronaut(), est)
        assert 0.2 < inp.silhouette.mean() < 0.8  # her segmentation, not the keypoints' thin body mask
        assert not inp.silhouette[0, 0]  # the flag's corner is background
        turned = synth.synthesize_photo(skdata.astronaut(), yaw=60, estimator=est)
        assert turned.visible.sum() >= 4
        with pytest.raises(NoPersonFoundError):
            synth.synthesize_photo(np.zeros((128, 96, 3), np.uint8), yaw=30, estimator=est)
    from posegen_lite.pipelines.photo import prepare_photo

    own = prepare_photo(skdata.astronaut(), *SIZE)  # no estimator given: one is built for search and segmentation
    np.testing.assert_array_equal(own.silhouette, inp.silhouette)


def test_the_background_the_input_covered_is_filled_from_the_background_around_it(scene):
    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g1, g2 = G1(G1Config(h, w, base_channels=4, warp="paste")), G2(G2Config(h, w, base_channels=4))
    view = scene.input_view
    filled = NovelViewSynthesizer(g1, g2, device="cpu", outline_ring=0, soft_outline=False)
    raw = NovelViewSynthesizer(g1, g2, device="cpu", fill_uncovered=False)
    a = filled.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera, unseen="networks")
    b = raw.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera, unseen="networks")
    warp = filled.proxy_flow(view.joints3d, [a.joints3d], view.camera)
    region = uncovered_background(warp.source_silhouette, warp.silhouette)[0, 0].numpy() > 0
    assert region.sum() > 0
    for x, y in ((a.image, b.image), (a.coarse, b.coarse)):
        np.testing.assert_array_equal(x[~region], y[~region])  # only the uncovered background changes
        assert (x[region] != y[region]).any()
    # By default the ring round the target's proxy silhouette is refilled too (the networks' halo): the coarse
    # image keeps every pixel of the body, and changes only in the ring and the uncovered background.
    default = NovelViewSynthesizer(g1, g2, device="cpu", soft_outline=False)
    assert default.outline_ring == OUTLINE_RING and filled.outline_ring == 0
    ring = default.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera, unseen="networks")
    body = warp.silhouette[0, 0].numpy() > 0
    around = grow_mask(warp.silhouette, OUTLINE_RING)[0, 0].numpy() > 0
    np.testing.assert_array_equal(ring.coarse[body], b.coarse[body])
    np.testing.assert_array_equal(ring.coarse[~around & ~region], b.coarse[~around & ~region])
    assert (ring.coarse[around & ~body] != b.coarse[around & ~body]).any()
    with pytest.raises(ValueError, match="outline_ring"):
        NovelViewSynthesizer(g1, g2, device="cpu", outline_ring=-1)
    # generate's outline_ring overrides the synthesizer's for one call (the crowd path passes 0)
    maps = default.target_pose(view.joints3d, view.camera, 90.0)
    args = (view.image, [maps[0]], [maps[1]], default.proxy_flow(view.joints3d, [maps[2]], view.camera))
    np.testing.assert_array_equal(default.generate(*args, outline_ring=0)[0], filled.generate(*args)[0])
    np.testing.assert_array_equal(default.generate(*args)[0][0], ring.coarse)
    with pytest.raises(ValueError, match="outline_ring"):
        default.generate(*args, outline_ring=-1)
    # PG2's networks build no body proxy, so there is nothing to fill: the option changes nothing
    pg2 = [G1(G1Config(h, w, base_channels=4)), G2(G2Config(h, w, base_channels=4))]
    kw = {"yaw": 90, "camera": view.camera, "unseen": "networks"}
    one = NovelViewSynthesizer(*pg2, device="cpu").synthesize(view.image, view.joints3d, **kw)
    two = NovelViewSynthesizer(*pg2, device="cpu", fill_uncovered=False).synthesize(view.image, view.joints3d, **kw)
    np.testing.assert_array_equal(one.image, two.image)


# --- one call: each argument checked once, 2D keypoints lifted once, Stage I before the networks ----------------


def test_2d_keypoints_are_lifted_once_per_call_whatever_the_number_of_yaws(scene, monkeypatch):
    from posegen_lite.pipelines import stage1

    torch.manual_seed(0)
    h, w = scene.input_view.image.shape[:2]
    g1 = G1(G1Config(h, w, base_channels=4, warp="skip"))  # warps: Stage I builds the body proxy too
    synth = NovelViewSynthesizer(g1, G2(G2Config(h, w, base_channels=4)), device="cpu", lifter="closed_form")
    calls = []
    lift = stage1.lift_keypoints
    monkeypatch.setattr(stage1, "lift_keypoints", lambda *a: calls.append(1) or lift(*a))
    view = scene.input_view
    many = synth.synthesize_many(view.image, view.keypoints, [0.0, 45.0, 90.0, 180.0, 270.0], visible=view.visible)
    assert len(many) == 5 and len(calls) == 1
    one = synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=90.0)
    assert len(calls) == 1  # the same input in the next call: its lifted pose is kept (stage1.InputMemo)
    synth.memo.clear()
    synth.synthesize(view.image, view.keypoints, visible=view.visible, yaw=90.0)
    assert len(calls) == 2  # without the memo: lifted again
    np.testing.assert_array_equal(one.keypoints, many[2].keypoints)  # the same pose as in the batch of five
    np.testing.assert_allclose(one.image.astype(int), many[2].image.astype(int), atol=1)  # batch of 1 vs 5


def test_stage_one_outputs_feed_the_networks_and_match_generate(synth, scene):
    """``generate`` is Stage I (pose maps, masks) then ``networks``; the pose maps are the result's."""
    from posegen_lite.images import to_tensor
    from posegen_lite.pipelines.stage1 import pose_inputs

    view = scene.input_view
    res = synth.synthesize(view.image, view.joints3d, camera=view.camera, yaw=60.0)
    maps, masks = pose_inputs([res.keypoints], [res.visible], SIZE, synth.pose_kind)
    np.testing.assert_array_equal(maps[0], res.pose_maps)
    np.testing.assert_array_equal(masks[0], res.mask)
    coarse, refined = synth.networks(to_tensor(view.image), maps, masks)
    np.testing.assert_array_equal(coarse[0], res.coarse)
    np.testing.assert_array_equal(refined[0], res.refined)
    generated = synth.generate(view.image, [res.keypoints], [res.visible])
    np.testing.assert_array_equal(generated[0], coarse)
    np.testing.assert_array_equal(generated[2], maps)


def test_a_bad_image_is_refused_before_any_keypoint_is_lifted(synth, scene, monkeypatch):
    from posegen_lite.pipelines import stage1

    monkeypatch.setattr(stage1, "lift_keypoints", lambda *a: pytest.fail("lifted before the image was checked"))
    view = scene.input_view
    with pytest.raises(ValueError, match="expects 32×32"):
        synth.synthesize(np.zeros((64, 64, 3), np.uint8), view.keypoints, visible=view.visible, yaw=30)
