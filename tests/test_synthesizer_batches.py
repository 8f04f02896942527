"""NovelViewSynthesizer's speed levers keep its answers: views in batches of ``batch``, the input's Stage I work
kept across calls (``stage1.InputMemo``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.pipelines import synthesizer as synthesizer_module
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

SIZE = (32, 32)
YAWS = [-150.0, -90.0, -30.0, 0.0, 45.0, 90.0, 180.0]


def _synth(batch: int, latent: int = 0) -> NovelViewSynthesizer:
    torch.manual_seed(0)
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="paste", latent_channels=latent))
    g2 = G2(G2Config(*SIZE, base_channels=4))
    return NovelViewSynthesizer(g1, g2, device="cpu", batch=batch)


@pytest.fixture(scope="module")
def view():
    return Scene.held_out(0, SIZE).input_view


def _close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to a last bit rounded otherwise by a batch's convolutions: ≤ 1 level, in under 1 % of pixels."""
    assert np.abs(a.astype(int) - b).max() <= 1 and np.mean(a != b) < 0.01


def test_views_in_batches_are_the_views_of_one_pass(view):
    one_pass = _synth(batch=100).synthesize_many(view.image, view.joints3d, YAWS, camera=view.camera)
    batches = _synth(batch=3).synthesize_many(view.image, view.joints3d, YAWS, camera=view.camera)
    assert [r.yaw for r in batches] == YAWS  # each view stays at its place in the list
    for a, b in zip(one_pass, batches, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        _close(a.coarse, b.coarse)
        _close(a.refined, b.refined)
        np.testing.assert_array_equal(a.body, b.body)


def test_samples_keep_their_own_noise_across_batches(view):
    kw = {"yaw": 120, "camera": view.camera, "samples": 5, "seed": 3}
    one_pass = _synth(batch=100, latent=4).synthesize(view.image, view.joints3d, **kw)
    batches = _synth(batch=2, latent=4).synthesize(view.image, view.joints3d, **kw)
    for a, b in zip(one_pass, batches, strict=True):
        _close(a.coarse, b.coarse)
    assert not np.array_equal(batches[0].coarse, batches[4].coarse)  # sample 5 is not sample 1


def test_batch_must_be_positive():
    with pytest.raises(ValueError, match="batch"):
        _synth(batch=0)


def test_the_inputs_stage1_work_is_done_once_per_input(view, monkeypatch):
    calls = []
    fit = synthesizer_module.fit_widths
    monkeypatch.setattr(synthesizer_module, "fit_widths", lambda *a: calls.append(1) or fit(*a))
    synth = _synth(batch=8)
    kw = {"visible": view.visible, "silhouette": view.mask, "unseen": "part_colours"}
    first = synth.synthesize(view.image, view.keypoints, yaw=40, **kw)
    again = synth.synthesize(view.image, view.keypoints, yaw=40, **kw)
    other = synth.synthesize(view.image, view.keypoints, yaw=75, **kw)
    assert len(calls) == 1  # the slider's next views reuse the input's fitted proxy
    fresh = _synth(batch=8)
    for result, yaw in ((again, 40), (other, 75)):
        expected = fresh.synthesize(view.image, view.keypoints, yaw=yaw, **kw)
        np.testing.assert_array_equal(result.image, expected.image)
    np.testing.assert_array_equal(first.image, again.image)
    # The memo keys on the input's contents: an image changed in place is a new input, computed anew.
    image, n = view.image.copy(), len(calls)
    synth.synthesize(image, view.keypoints, yaw=40, **kw)
    assert len(calls) == n  # a copy with the same contents: the same input
    image[:, : SIZE[1] // 2] = 255 - image[:, : SIZE[1] // 2]
    changed = synth.synthesize(image, view.keypoints, yaw=40, **kw)
    assert len(calls) == n + 1
    np.testing.assert_array_equal(changed.image, fresh.synthesize(image, view.keypoints, yaw=40, **kw).image)


def test_bad_input_is_still_refused_after_a_good_call(view):
    synth = _synth(batch=8)
    synth.synthesize(view.image, view.joints3d, yaw=30, camera=view.camera)
    with pytest.raises(ValueError):
        synth.synthesize(view.image, view.joints3d[:5], yaw=30, camera=view.camera)


def test_channels_last_on_a_cpu_keeps_the_answers(view):
    """The synthesizer runs its networks channels_last on a CPU (faster); the weights are the same, and the
    views equal those of the contiguous layout but for a rounding."""
    fast = _synth(batch=4)
    assert fast.memory_format == torch.channels_last
    assert fast.g1.encoder.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = _synth(batch=4)
    plain.memory_format = torch.contiguous_format
    plain.g1.to(memory_format=torch.contiguous_format)
    plain.g2.to(memory_format=torch.contiguous_format)
    a = fast.synthesize_many(view.image, view.joints3d, YAWS, camera=view.camera)
    b = plain.synthesize_many(view.image, view.joints3d, YAWS, camera=view.camera)
    for x, y in zip(a, b, strict=True):
        _close(x.coarse, y.coarse)
        _close(x.refined, y.refined)


def test_the_input_s_features_kept_across_calls_follow_new_weights(view):
    """A slider's next view reuses G1's features of the input; weights loaded in place are new weights."""
    synth, kw = _synth(batch=8), {"camera": view.camera}
    first = synth.synthesize(view.image, view.joints3d, yaw=30, **kw).image
    assert np.array_equal(synth.synthesize(view.image, view.joints3d, yaw=30, **kw).image, first)
    torch.manual_seed(1)
    other = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="paste"))
    synth.g1.load_state_dict(other.state_dict())
    fresh = NovelViewSynthesizer(other, synth.g2, device="cpu").synthesize(view.image, view.joints3d, yaw=30, **kw)
    again = synth.synthesize(view.image, view.joints3d, yaw=30, **kw).image
    assert not np.array_equal(again, first) and np.array_equal(again, fresh.image)
    torch.manual_seed(2)
    synth.g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="paste")).eval()  # another G1 put in its place
    third = NovelViewSynthesizer(synth.g1, synth.g2, device="cpu").synthesize(view.image, view.joints3d, yaw=30, **kw)
    assert np.array_equal(synth.synthesize(view.image, view.joints3d, yaw=30, **kw).image, third.image)
