"""People in a photo: the retry at smaller scales, several people by blanking, one estimator per synthesizer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_synthesizer

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.people import estimate_multiscale, find_people, find_people_tiled, strips
from posegen_lite.geometry.photo import NoPersonFoundError, PhotoPose

SIZE = (32, 32)
MARKERS = ((250, 20, 20), (20, 250, 20), (20, 20, 250))  # one flat colour per fake person
BACKGROUND = 90


@pytest.fixture(scope="module")
def template() -> PhotoPose:
    """A person's pose with keypoints normalized to [0, 1] over their visible extent, and plausible 3D joints."""
    from posegen_lite.geometry.lifter import lift_pose_mlp

    view = Scene.held_out(0, SIZE).input_view
    kp = view.keypoints.astype(np.float64)
    vis = view.visible & np.isfinite(kp).all(axis=1)
    lo, hi = kp[vis].min(axis=0), kp[vis].max(axis=0)
    norm = ((kp - lo) / (hi - lo)).astype(np.float32)
    norm[~vis] = np.nan
    joints3d = lift_pose_mlp(view.keypoints, view.visible)
    return PhotoPose(joints3d=joints3d, keypoints=norm, visible=vis)


def _pose_in(template: PhotoPose, box: tuple[float, float, float, float]) -> PhotoPose:
    """``template`` with its keypoints spread over ``box`` ``(x0, y0, x1, y1)`` pixels."""
    x0, y0, x1, y1 = box
    kp = (template.keypoints * np.array([x1 - x0, y1 - y0]) + np.array([x0, y0])).astype(np.float32)
    return PhotoPose(joints3d=template.joints3d, keypoints=kp, visible=template.visible)


class MarkerEstimator:
    """Finds one person per call: the first marker colour still in the image (not blanked), whatever its scale.
    ``max_side``: it finds nobody in an image larger than that (as MediaPipe in large photos)."""

    def __init__(self, template: PhotoPose, max_side: int = 10_000) -> None:
        self.template, self.max_side, self.calls, self.closed = template, max_side, 0, 0

    def estimate(self, image: np.ndarray) -> PhotoPose:
        self.calls += 1
        if max(image.shape[:2]) <= self.max_side:
            for colour in MARKERS:
                ys, xs = np.nonzero((np.abs(image.astype(int) - colour) < 30).all(axis=2))
                if len(xs) > 4:
                    return _pose_in(self.template, (xs.min(), ys.min(), xs.max(), ys.max()))
        raise NoPersonFoundError(f"no person found in the {image.shape[1]}×{image.shape[0]} image")

    def close(self) -> None:
        self.closed += 1

    def __enter__(self) -> MarkerEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _photo(height: int, width: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A grey ``height × width`` photo with person ``k`` a ``MARKERS[k]`` rectangle ``(x0, y0, x1, y1)``."""
    photo = np.full((height, width, 3), BACKGROUND, np.uint8)
    for colour, (x0, y0, x1, y1) in zip(MARKERS, boxes, strict=False):
        photo[y0 : y1 + 1, x0 : x1 + 1] = colour
    return photo


def _centre_x(pose: PhotoPose) -> float:
    return float(np.nanmean(pose.keypoints[pose.visible, 0]))


def test_a_person_missed_at_full_size_is_found_at_a_smaller_scale_in_the_photos_pixels(template):
    photo = _photo(720, 1280, [(600, 100, 760, 600)])
    est = MarkerEstimator(template, max_side=400)  # finds people only at ¼ scale (320×180)
    pose = estimate_multiscale(photo, est)
    kp = pose.keypoints[pose.visible]
    # Back in the 1280×720 photo's pixels: the keypoints span the person's rectangle (to the ¼ scale's 4 px).
    np.testing.assert_allclose(kp.min(axis=0), [600, 100], atol=4)
    np.testing.assert_allclose(kp.max(axis=0), [760, 600], atol=4)
    with pytest.raises(NoPersonFoundError, match="scale"):
        estimate_multiscale(photo, MarkerEstimator(template, max_side=100))  # ⅛ would be below MIN_SIDE


def test_the_photo_path_finds_a_person_only_found_at_a_smaller_scale(template):
    synth = tiny_synthesizer(SIZE)
    photo = _photo(720, 1280, [(600, 100, 760, 600)])
    inp = synth.prepare_photo(photo, MarkerEstimator(template, max_side=400))
    assert inp.visible.sum() >= 4 and len(inp.people) == 1
    ys = inp.keypoints[inp.visible, 1]
    assert ys.max() - ys.min() > 0.5 * SIZE[0]  # cropped around the person


def test_blanking_each_person_found_finds_every_person_once(template):
    boxes = [(40, 60, 140, 300), (400, 40, 520, 330), (250, 100, 330, 280)]
    photo = _photo(360, 640, boxes)
    est = MarkerEstimator(template)
    people = find_people(photo, est)
    assert len(people) == 3
    # In the order found, each on its own rectangle.
    for pose, (x0, _, x1, _) in zip(people, boxes, strict=True):
        assert x0 <= _centre_x(pose) <= x1
    assert est.calls <= 3 + 3  # one call per person, then the scales of the last, empty search
    assert len(find_people(photo, MarkerEstimator(template), max_people=2)) == 2


def test_an_estimator_that_keeps_finding_the_same_person_ends_the_search(template):
    class Stubborn:
        calls = 0

        def estimate(self, image):
            self.calls += 1
            return _pose_in(template, (10, 10, 50, 90))

    est = Stubborn()
    assert len(find_people(np.zeros((100, 100, 3), np.uint8), est)) == 1
    assert est.calls == 3  # the person, then two repeats


def test_tiles_find_every_person_once(template):
    boxes = [(40, 60, 140, 300), (400, 40, 520, 330)]
    people = find_people_tiled(_photo(360, 640, boxes), MarkerEstimator(template))
    assert sorted(round(_centre_x(p)) // 100 for p in people) == [0, 4]
    for count in (1, 2, 3):
        spans = strips(640, count)
        assert spans[0][0] == 0 and spans[-1][1] == 640 and len(spans) == count


def test_synthesize_photo_says_how_many_people_and_which_one_it_used(template):
    synth = tiny_synthesizer(SIZE)
    photo = _photo(360, 640, [(40, 60, 140, 300), (400, 40, 520, 330)])
    with pytest.warns(UserWarning, match="2 people found in the photo; used person 0"):
        first = synth.synthesize_photo(photo, yaw=30, estimator=MarkerEstimator(template))
    assert (first.people_found, first.person) == (2, 0)
    with pytest.warns(UserWarning, match="used person 1"):
        second = synth.synthesize_photo(photo, yaw=30, estimator=MarkerEstimator(template), person=1)
    assert second.person == 1 and not np.array_equal(first.input_image, second.input_image)
    # The crop of person 1 is mostly their colour (green), not person 0's.
    assert second.input_image[..., 1].mean() > second.input_image[..., 0].mean()
    with pytest.raises(IndexError, match="person 2 asked for, but 2 found"):
        synth.prepare_photo(photo, MarkerEstimator(template), person=2)


def test_one_person_gives_no_notice(template, recwarn):
    synth = tiny_synthesizer(SIZE)
    result = synth.synthesize_photo(_photo(360, 640, [(40, 60, 140, 300)]), estimator=MarkerEstimator(template))
    assert result.people_found == 1 and not [w for w in recwarn if "people found" in str(w.message)]


def test_the_synthesizer_builds_one_estimator_and_closes_it(template, monkeypatch):
    from posegen_lite.geometry import photo as photo_pose

    built: list[MarkerEstimator] = []

    def counting(*args, **kw):
        built.append(MarkerEstimator(template))
        return built[-1]

    monkeypatch.setattr(photo_pose, "MediaPipeEstimator", counting)
    photo = _photo(360, 640, [(40, 60, 140, 300)])
    synth = tiny_synthesizer(SIZE)
    synth.synthesize_photo(photo, yaw=30)
    synth.synthesize_photo(photo, yaw=60)
    synth.prepare_photo(photo)
    assert len(built) == 1 and built[0].calls >= 3
    synth.close()
    assert built[0].closed == 1
    synth.prepare_photo(photo)  # still usable after close: a new estimator
    assert len(built) == 2
    with synth:  # a context manager too
        pass
    assert built[1].closed == 1


def test_a_fragment_not_confirmed_in_a_wider_view_is_not_a_person(template):
    yellow = (250, 250, 20)

    class Fragments(MarkerEstimator):
        """Also takes a yellow patch for a person, but only through a third-of-the-photo strip (320 px wide)."""

        def estimate(self, image):
            ys, xs = np.nonzero((np.abs(image.astype(int) - yellow) < 30).all(axis=2))
            if image.shape[1] == 320 and len(xs) > 4:
                return _pose_in(self.template, (xs.min(), ys.min(), xs.max(), ys.max()))
            return super().estimate(image)

    photo = _photo(360, 640, [(40, 60, 140, 300), (400, 40, 520, 330)])
    photo[150:200, 240:290] = yellow  # a small thing between the two people
    found = find_people(photo, Fragments(template), strip_counts=(1, 2, 3))
    verified = find_people(photo, Fragments(template), strip_counts=(1, 2, 3), verify=True)
    assert len(found) == 3 and len(verified) == 2


def _real_photos(height: int = 360) -> list[np.ndarray]:
    """scikit-image's astronaut and matplotlib's Grace Hopper, ``height`` pixels high."""
    skdata = pytest.importorskip("skimage.data")
    from matplotlib import cbook
    from matplotlib.image import imread

    from posegen_lite.images import resize_image

    grace = np.asarray(imread(cbook.get_sample_data("grace_hopper.jpg")))
    return [resize_image(p, height, round(p.shape[1] * height / p.shape[0])) for p in (skdata.astronaut(), grace)]


def test_people_from_photo_finds_both_people_of_two_real_photos_side_by_side():
    pytest.importorskip("mediapipe")
    from posegen_lite.pipelines.crowd import CrowdSynthesizer, people_from_photo

    astronaut, grace = _real_photos()
    photo = np.concatenate([astronaut, grace], axis=1)
    people = people_from_photo(photo)
    assert len(people) == 2
    assert sorted(_centre_x(p) < astronaut.shape[1] for p in people) == [False, True]  # one in each half
    crowd = CrowdSynthesizer(tiny_synthesizer(SIZE))
    (result,) = crowd.synthesize_2d(photo, [p.keypoints for p in people], [p.visible for p in people], yaws=[30])
    assert result.image.shape == photo.shape


def test_small_people_in_a_large_real_photo_are_found():
    pytest.importorskip("mediapipe")
    from posegen_lite.geometry.photo import MediaPipeEstimator

    # Two people 30 % of a 1280×720 photo's height: MediaPipe finds nobody at full size, somebody at ¼.
    photo = np.full((720, 1280, 3), 255, np.uint8)
    for k, small in enumerate(_real_photos(216)):
        left = round((k + 0.5) * 640 - small.shape[1] / 2)
        photo[252:468, left : left + small.shape[1]] = small
    synth = tiny_synthesizer(SIZE)
    with MediaPipeEstimator() as est:
        inp = synth.prepare_photo(photo, est)
    assert inp.visible.sum() >= 4


def test_every_person_of_a_photo_becomes_a_person_of_the_app(template):
    pytest.importorskip("ipywidgets")
    import io

    from PIL import Image

    from posegen_lite.app.viewpoint_app import AppConfig, ViewpointApp, photo_people_persons

    synth = tiny_synthesizer(SIZE)
    photo = _photo(360, 640, [(40, 60, 140, 300), (400, 40, 520, 330)])
    alone = MarkerEstimator(template)
    synth.prepare_photo(photo, alone)
    everyone = MarkerEstimator(template)
    people = photo_people_persons(photo, synth, "group.png", estimator=everyone)
    assert [p.name for p in people] == ["group.png (1 of 2)", "group.png (2 of 2)"]
    assert not np.array_equal(people[0].image, people[1].image)
    assert everyone.calls == alone.calls  # one search for both: the second person cost no estimate
    app = ViewpointApp(AppConfig(people=1, precompute=False, photos=False), synthesizer=synth,
                       estimator=MarkerEstimator(template))  # fmt: skip
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    app._on_upload({"new": ({"name": "group.png", "content": memoryview(buf.getvalue())},)})
    assert [p.name for p in app.widget.people[1:]] == ["group.png (1 of 2)", "group.png (2 of 2)"]
    assert "2 people found: each is in the selector" in app.message.value
