"""ViewpointWidget driven headlessly: set slider values, read back the PNG panels, compare with synthesize()."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from posegen_lite.app.widgets import PANELS, ViewpointWidget, decode_png, held_out_people, png_bytes
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

pytest.importorskip("ipywidgets")

SIZE = (32, 32)


@pytest.fixture(scope="module")
def synth() -> NovelViewSynthesizer:
    torch.manual_seed(0)
    g2 = G2(G2Config(*SIZE, base_channels=4))
    with torch.no_grad():  # a G2 that is not the identity, so its panel differs from G1's
        for p in g2.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, z_dim=8)), g2, device="cpu")


@pytest.fixture(scope="module")
def people():
    return held_out_people(2, SIZE)


def test_sliders_drive_the_panels_and_match_synthesize(synth, people):
    app = ViewpointWidget(synth, people, zoom=2, precompute=False)
    before = {name: app.displayed(name) for name in PANELS}
    app.yaw.value = 90
    after = {name: app.displayed(name) for name in PANELS}
    # the input stays, everything that depends on the viewpoint changes
    np.testing.assert_array_equal(after["input"], before["input"])
    for name in ("target pose", "G1", "G2", "ground truth", "3D pose"):
        assert not np.array_equal(after[name], before[name]), name
    p = people[0]
    expected = synth.synthesize(p.image, p.joints3d, yaw=90, camera=p.camera)
    np.testing.assert_array_equal(after["G1"], expected.coarse)
    np.testing.assert_array_equal(after["G2"], expected.refined)
    np.testing.assert_array_equal(after["ground truth"], p.scene.render(90).image)
    assert after["G1"].shape == (*SIZE, 3)


def test_a_new_view_reaches_its_panel_before_the_other_panels_are_drawn(synth, people, monkeypatch):
    app = ViewpointWidget(synth, people, zoom=1, precompute=False)
    order, drawn = [], []
    for name in PANELS:
        app.images[name].observe(lambda change, name=name: order.append(name), names="value")
    encode = png_bytes

    def recording(image, *args, **kwargs):
        drawn.append(len(order))  # how many panels had been sent when this picture was encoded
        return encode(image, *args, **kwargs)

    monkeypatch.setattr("posegen_lite.app.widgets.png_bytes", recording)
    app.yaw.value = 30
    drawing = ["G2", "G1", "ground truth", "target pose", "3D pose"]  # the view first, the slowest drawing last
    assert order == drawing  # each sent once (the input is the same picture: not sent)
    assert drawn == [0, 1, 1, 1, 1]  # the view sent before the side panels were encoded; they go together
    app.yaw.value = 0
    app.yaw.value = 30  # cached: the same order
    assert order[-5:] == drawing


def test_pitch_and_person_selector(synth, people):
    app = ViewpointWidget(synth, people, zoom=1, precompute=False)
    app.pitch.value = 15
    p = people[0]
    expected = synth.synthesize(p.image, p.joints3d, yaw=0, pitch=15, camera=p.camera)
    np.testing.assert_array_equal(app.displayed("G1"), expected.coarse)
    assert "ground truth only at pitch 0" in app.status.value
    app.person.value = 1
    np.testing.assert_array_equal(app.displayed("input"), people[1].image)
    q = people[1]
    expected = synth.synthesize(q.image, q.joints3d, yaw=0, pitch=15, camera=q.camera)
    np.testing.assert_array_equal(app.displayed("G2"), expected.refined)


def test_going_back_to_an_angle_uses_the_cache(synth, people):
    app = ViewpointWidget(synth, people[:1], precompute=False)
    app.yaw.value = 45
    app.yaw.value = 0
    n = app.updates
    first = app.displayed("G1")
    app.yaw.value = 45
    app.yaw.value = 0
    assert app.updates == n  # no new synthesize call
    np.testing.assert_array_equal(app.displayed("G1"), first)


def test_scenes_are_accepted_and_figure_renders(synth):
    app = ViewpointWidget(synth, [Scene.held_out(3, SIZE)], precompute=False)
    assert app.people[0].name == "test-00003"
    fig = app.figure()
    assert len(fig.axes) == len(PANELS) - 1


def test_bad_input(synth):
    with pytest.raises(ValueError, match="at least one person"):
        ViewpointWidget(synth, [])
    with pytest.raises(ValueError, match="synthesizer makes"):
        ViewpointWidget(synth, held_out_people(1, (64, 64)))
    with pytest.raises(ValueError, match="at least one person"):
        held_out_people(0)
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(np.zeros((4, 4), np.float32))


def test_png_round_trip_with_zoom():
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = png_bytes(img, zoom=3)
    assert decode_png(data).shape == (15, 21, 3)
    np.testing.assert_array_equal(decode_png(data, zoom=3), img)


def test_turntable_figure_has_a_truth_row_per_person(synth, people):
    from posegen_lite.app.widgets import turntable_figure

    fig = turntable_figure(synth, people, yaws=(0, 90, 180))
    assert len(fig.axes) == 2 * len(people) * 4  # (synthesized + truth) rows × (input + 3 yaws)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels == ["test-00000\nsynthesized", "ground truth", "test-00001\nsynthesized", "ground truth"]


@pytest.mark.slow
def test_precompute_fills_the_turntable_and_scrubbing_computes_nothing(synth, people):
    app = ViewpointWidget(synth, people, zoom=1, yaw_step=30)  # 13 views per turntable keeps the test short
    assert app.wait_precomputed(timeout=120), "the turntable did not finish"
    yaws = list(range(-180, 181, 30))
    assert sorted(app.turntable_yaws()) == yaws
    assert all(app.is_cached(y) for y in yaws)
    assert app.precomputed == len(yaws) - 1  # the initial view was computed on demand
    assert app.precompute_seconds is not None and "turntable ready" in app.progress.value
    # the turntable ran the networks; each view's panels are drawn when it is first shown, once
    undrawn = [k for k, v in app._cache.items() if not isinstance(v, tuple)]
    assert len(undrawn) == app.precomputed and (0, 30.0, 0.0, -1) in undrawn
    n = app.updates
    for y in (30, 60, 90, -150, 180):  # a scrub over computed angles: no new computation
        app.yaw.value = y
    assert app.updates == n
    assert isinstance(app._cache[(0, 30.0, 0.0, -1)], tuple)  # drawn on show, and kept
    p = people[0]
    # The turntable runs its views in batches (synthesize_many): the same view as one synthesize call, except that
    # a batch's convolutions may round a last bit otherwise (measured here: 1 level in 1 pixel of 3,072).
    expected = synth.synthesize(p.image, p.joints3d, yaw=180, camera=p.camera)
    for name, image in (("G1", expected.coarse), ("G2", expected.refined)):
        assert np.abs(app.displayed(name).astype(int) - image).max() <= 1, name
        assert np.mean(app.displayed(name) != image) < 0.01, name
    # the turntable renders a batch's ground truth at once: the same pixels as one render of that yaw
    np.testing.assert_array_equal(app.displayed("ground truth"), p.scene.render(180).image)
    np.testing.assert_array_equal(app.displayed("input"), p.image)  # encoded once, shown in every view
    # a new person starts that person's turntable; the first one stays cached
    app.person.value = 1
    assert app.wait_precomputed(timeout=120)
    assert all(app.is_cached(y, person=1) for y in yaws) and app.is_cached(90, person=0)
    app.stop_precompute()


def test_turntable_order_is_nearest_first(synth, people):
    app = ViewpointWidget(synth, people[:1], yaw=170, precompute=False)
    order = app.turntable_yaws()
    assert order[:6] == [170, 165, 175, -180, 160, 180]  # -180 is 10° away (across the ±180 seam), like 160
    assert not app.is_cached(175) and app.wait_precomputed(0)


def test_display_bundle_has_the_live_widget_and_a_static_picture(synth, people):
    import base64

    app = ViewpointWidget(synth, people, zoom=2, precompute=False)
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.view.model_id
    assert "run the notebook" in bundle["text/plain"] and "VBox" not in bundle["text/plain"]
    picture = decode_png(base64.b64decode(bundle["image/png"]))
    assert picture.shape[1] > 5 * SIZE[1] * 2 and picture.shape[0] > SIZE[0] * 2
    # the picture holds the panels as displayed (enlarged zoom× by the browser): the G1 panel appears pixel for pixel
    g1 = decode_png(app.images["G1"].value).repeat(2, axis=0).repeat(2, axis=1)
    found = any(
        np.array_equal(picture[r : r + g1.shape[0], c : c + g1.shape[1]], g1)
        for r in range(0, 40)
        for c in range(picture.shape[1] - g1.shape[1] + 1)
    )
    assert found


def test_widget_css_handles_for_browser_tests(synth, people):
    app = ViewpointWidget(synth, people, precompute=False)
    assert "posegen-viewpoint" in app.view._dom_classes
    assert "posegen-yaw" in app.yaw._dom_classes and app.yaw.continuous_update
    assert "posegen-panel-g1" in app.images["G1"]._dom_classes
    assert "posegen-panel-3d-pose" in app.images["3D pose"]._dom_classes


def test_new_sample_draws_seeded_guesses_and_prior_mean_goes_back(people):
    torch.manual_seed(0)
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="skip", latent_channels=2))
    with torch.no_grad():  # trained heads are not zero (untrained ones are: z would change nothing)
        for p in g1.latent.parameters():
            p.normal_(0, 0.3)
    cvae = NovelViewSynthesizer(g1, device="cpu")
    app = ViewpointWidget(cvae, people, zoom=1, precompute=False, yaw=180)
    assert app.new_sample.layout.display != "none"
    mean = app.displayed("G1")
    first = app.draw_sample()["G1"]
    assert app.sample_seed == 1 and "sample 1" in app.status.value
    np.testing.assert_array_equal(app.displayed("G1"), first)
    p = people[0]
    (expected,) = cvae.synthesize(p.image, p.joints3d, yaw=180, camera=p.camera, samples=1, seed=1)
    np.testing.assert_array_equal(first, expected.coarse)
    app.new_sample.click()  # the button does what draw_sample does
    assert app.sample_seed == 2 and not np.array_equal(app.displayed("G1"), first)
    app.prior_mean.click()
    assert app.sample_seed is None and "prior mean" in app.status.value
    np.testing.assert_array_equal(app.displayed("G1"), mean)
    app.draw_sample()
    app.person.value = 1  # another person starts from the deterministic answer
    assert app.sample_seed is None


def test_a_deterministic_g1_hides_the_sample_buttons(synth, people):
    app = ViewpointWidget(synth, people, precompute=False)
    assert app.new_sample.layout.display == "none" and app.prior_mean.layout.display == "none"
    with pytest.raises(ValueError, match="--g1.latent-channels"):
        app.draw_sample()


def test_panels_travel_at_model_resolution_and_the_browser_enlarges_them(synth, people):
    app = ViewpointWidget(synth, people, zoom=3, precompute=False)
    for name in PANELS:
        image = app.images[name]
        if name == "3D pose":  # drawn at its display size
            assert decode_png(image.value).shape[:2] == (SIZE[0] * 3, SIZE[0] * 3) and not image.width
        else:  # the model's pixels, shown 3× larger, nearest-neighbour
            assert decode_png(image.value).shape[:2] == SIZE
            assert (image.width, image.height) == (str(SIZE[1] * 3), str(SIZE[0] * 3))
    styles = [c.value for c in app.view.children if "<style>" in getattr(c, "value", "")]
    assert styles and "image-rendering: pixelated" in styles[0]


def test_skeleton_panel_draws_the_lines_skeleton_3d_image_draws(people):
    from posegen_lite.app.panels import SkeletonPanel
    from posegen_lite.figures.poses import skeleton_3d_image

    panel = SkeletonPanel(size_px=96)  # one projection, for every pose
    p = people[0]
    missing = p.joints3d.copy()
    missing[[3, 4, 14]] = np.nan  # a limb and an eye gone: their lines are hidden, not drawn
    turned = p.joints3d[:, [2, 1, 0]] * np.array([1.0, 1.0, -1.0])
    for joints, camera in ((p.joints3d, p.camera), (missing, p.camera), (turned, None), (p.joints3d, p.camera)):
        fast, drawn = panel(joints, camera), skeleton_3d_image(joints, camera=camera, size_px=96)
        ink, drawn_ink = (fast < 200).any(-1), (drawn < 200).any(-1)
        # The same lines, anti-aliased otherwise: measured 0.92 of the ink shared and 1.1–1.4 levels apart on
        # average; the picture moved by 2 pixels shares 0.38, mirrored 0.10.
        assert (ink & drawn_ink).sum() / (ink | drawn_ink).sum() > 0.85
        assert np.abs(fast.astype(int) - drawn).mean() < 2.5
    with pytest.raises(ValueError, match="all-missing"):
        panel(np.full((18, 3), np.nan), None)


def test_every_view_and_the_turntable_run_in_the_widgets_compute_thread(synth, people, monkeypatch):
    threads = []
    many = synth.synthesize_many

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return many(*args, **kwargs)

    monkeypatch.setattr(synth, "synthesize_many", recording)
    app = ViewpointWidget(synth, people, zoom=1, yaw_step=60)
    app.yaw.value = 30  # a slider's view, not on the turntable's 60° steps
    assert app.wait_precomputed(timeout=120)
    # one thread calls torch: a second thread's OpenMP team slows both (app/compute.py)
    assert len(threads) > 2 and set(threads) == {app._worker._thread}
    app.stop_precompute()


def test_an_error_in_the_turntable_ends_it_with_one_line_and_the_sliders_still_work(synth, people, monkeypatch):
    many = synth.synthesize_many

    def failing(image, keypoints, yaws, *args, **kwargs):
        if len(yaws) > 1:  # the turntable's batches; a slider asks for one view
            raise RuntimeError("out of memory\n(a test)")
        return many(image, keypoints, yaws, *args, **kwargs)

    monkeypatch.setattr(synth, "synthesize_many", failing)
    app = ViewpointWidget(synth, people, zoom=1, yaw_step=30)
    assert not app.wait_precomputed(timeout=60)  # ended, not finished: False at once, not after the timeout
    assert app.progress.value.endswith("turntable stopped: out of memory (a test)")
    app.yaw.value = 90
    assert app.is_cached(90) and app.current_images()["G2"].shape == (*SIZE, 3)
