"""data.synthetic.crowds: seeded multi-person scenes and their exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_lite.data.synthetic.crowds import CrowdConfig, CrowdScene, place_body, render_crowd
from posegen_lite.data.synthetic.pairs import SyntheticConfig
from posegen_lite.data.synthetic.render import render_views
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import orbit_camera
from posegen_lite.geometry.scene import scene_targets

CONFIG = CrowdConfig(size=(48, 64), people=SyntheticConfig(train_people=6, val_people=3, test_people=4))


def test_scenes_are_seeded_person_disjoint_and_sized():
    a, b = CrowdScene.sample(CONFIG, "test", 3), CrowdScene.sample(CONFIG, "test", 3)
    np.testing.assert_array_equal(a.input_view.image, b.input_view.image)
    for split in ("train", "test"):
        for i in range(4):
            s = CrowdScene.sample(CONFIG, split, i)
            assert 2 <= len(s.people) <= CONFIG.people.people_in(split) and all(
                pid.startswith(f"{split}-") for pid in s.person_ids
            )
            assert len(set(s.person_ids)) == len(s.people)
    with pytest.raises(ValueError, match="split"):
        CrowdScene.sample(CONFIG, "nope", 0)


def test_one_person_renders_like_render_views():
    single = Scene.held_out(0, (48, 64))
    cam = orbit_camera(20, 5, 4.0, [0, 0.9, 0], 64, 48)
    crowd = render_crowd([single.person], [single.body], [cam])[0]
    alone = render_views([single.person], [single.body], [cam])[0]
    np.testing.assert_array_equal(crowd.image, alone.image)
    np.testing.assert_array_equal(crowd.masks[0], alone.mask)
    np.testing.assert_array_equal(crowd.occluded[0], alone.occluded)


def test_the_nearer_person_hides_the_farther_one():
    a, b = Scene.held_out(0, (48, 64)), Scene.held_out(1, (48, 64))
    near, far = place_body(a.body, 0, (0.0, 0.0)), place_body(b.body, 0, (0.2, -1.2))
    cam = orbit_camera(0, 5, 5.0, [0.1, 0.9, -0.6], 64, 48)  # on +z: `near` is in front
    r = render_crowd([a.person, b.person], [near, far], [cam])[0]
    alone = render_views([a.person, b.person], [near, far], [cam, cam])
    both = (alone[0].parts >= 0) & (alone[1].parts >= 0)  # pixel centres where the two bodies overlap
    assert both.sum() > 20
    assert (r.person_map[both] == 0).all()
    np.testing.assert_array_equal(r.person_map >= 0, (alone[0].parts >= 0) | (alone[1].parts >= 0))
    assert r.order == [1, 0] and r.depths[0] < r.depths[1]
    assert r.occluded[1].sum() > r.occluded[0].sum()
    assert r.masks[1].sum() < r.full_masks[1].sum()


def test_scene_turn_matches_the_moved_camera():
    s = CrowdScene.sample(CONFIG, "val", 1)
    cam = s.camera(0.0)
    truth = s.render(75.0)
    targets = scene_targets(s.joints, cam, (64, 64), 30.0, 0.06, yaw_deg=75.0)
    for k, t in enumerate(targets):
        np.testing.assert_array_equal(t.visible, truth.visible[k])
        np.testing.assert_allclose(t.keypoints[t.visible], truth.keypoints[k][t.visible], atol=1e-3)
        assert abs(t.depth - truth.depths[k]) < 1e-4
