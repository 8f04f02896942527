"""evaluation.crowds: per-person L1 in the target window, scene bbox-SSIM, who-is-in-front accuracy."""

from __future__ import annotations

import numpy as np

from posegen_lite.data.synthetic.crowds import CrowdConfig, CrowdScene
from posegen_lite.data.synthetic.pairs import SyntheticConfig
from posegen_lite.evaluation.crowds import occlusion_order_accuracy, person_l1_in_body, scene_bbox_ssim
from posegen_lite.geometry.scene import Window


def test_occlusion_order_accuracy_counts_overlap_pixels_only():
    masks = np.zeros((2, 2, 3), bool)
    masks[0, :, :2] = True
    masks[1, :, 1:] = True  # column 1 is where the two overlap
    truth = np.array([[0, 0, 1], [0, 0, 1]])
    pred = np.array([[1, 0, 1], [1, 1, -1]])  # column 0 is wrong but not an overlap; row 1 col 1 is wrong
    assert occlusion_order_accuracy(pred, truth, masks) == (0.5, 2)
    acc, n = occlusion_order_accuracy(pred, truth, masks[:1])
    assert n == 0 and np.isnan(acc)


def test_scores_of_the_truth_against_itself():
    config = CrowdConfig(size=(48, 64), people=SyntheticConfig(test_people=4))
    view = CrowdScene.sample(config, "test", 0).input_view
    assert scene_bbox_ssim(view.image, view.image, view.full_masks) == 1.0
    win = Window(0, 0, 64, 48)
    assert person_l1_in_body(view.image, view.image, win, view.camera, view.joints3d[0], (24, 32)) == 0.0
    darker = (view.image * 0.5).astype(np.uint8)
    assert person_l1_in_body(darker, view.image, win, view.camera, view.joints3d[0], (24, 32)) > 0.05
