"""Figures: image tables, pose channels, training curves, training pairs, G2's refinement and the body
proxy's correspondences, surface map and paste (``posegen_lite.figures``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.figures import body_proxy, grids, poses, training


def test_panels_poses_and_training_figures():
    from posegen_lite.geometry.skeleton import reference_pose

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 8, 3), dtype=np.uint8)
    fig = grids.image_table_figure([[img, img], [img]], col_titles=["a", "b"], row_titles=["r1", "r2"])
    assert len(fig.axes) == 4
    with pytest.raises(ValueError):
        grids.image_table_figure([])
    mask = np.zeros((16, 8), np.float32)
    mask[4:12, 2:6] = 1
    fig = training.mask_weight_figure(img, np.zeros_like(img), mask)
    titles = [ax.get_title() for ax in fig.axes]
    assert "25% of pixels" in titles[2]
    maps = -np.ones((18, 16, 8), np.float32)
    assert len(poses.pose_channels_figure(maps).axes) == 18
    with pytest.raises(ValueError):
        poses.pose_channels_figure(maps[:3])
    fig = training.training_figure([{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.4}], keys=["loss"])
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [0.5, 0.4]
    pic = poses.skeleton_3d_image(reference_pose(), size_px=64)
    assert pic.shape == (64, 64, 3) and pic.dtype == np.uint8 and (pic < 250).any()
    with pytest.raises(ValueError):
        poses.skeleton_3d_image(np.full((18, 3), np.nan))


def test_pair_and_refinement_figures(tiny_pairs):
    from torch.utils.data import default_collate

    sample = tiny_pairs[0]
    fig = training.pair_sample_figure(sample, title="tiny")
    assert [ax.get_title() for ax in fig.axes] == ["I_A", "keypoints A", "P_B", "M_B", "I_B"]
    batch = default_collate([tiny_pairs[i] for i in range(3)])
    coarse = batch["image_a"]
    refined = (coarse + 0.5).clamp(-1, 1)
    fig = training.refinement_figure(batch, coarse, refined)
    assert len(fig.axes) == 5 * 3
    diff_row = [ax.get_images()[0].get_array() for ax in fig.axes[9:12]]
    assert all(np.asarray(d).max() > 0 for d in diff_row)  # G2 changed something, and the row shows it


def test_correspondence_and_paste_figures():
    from torch.utils.data import default_collate

    from posegen_lite.data.datasets import DataSpec, build_dataset
    from posegen_lite.models.g1 import G1, G1Config

    data = build_dataset(DataSpec(size=(32, 32), people=8, views=2, seed=0, extras=True), "val")
    samples = [data[i] for i in range(2)]
    fig = body_proxy.correspondence_figure(samples)
    assert [ax.get_title() for ax in fig.axes[:7]] == list(body_proxy.correspondence_panels(samples[0]))
    assert fig.axes[0].get_ylabel().startswith("yaw ")
    with pytest.raises(ValueError):
        body_proxy.correspondence_figure([])
    fig = body_proxy.surface_figure(samples)
    panels = body_proxy.surface_panels(samples[0])
    assert [ax.get_title() for ax in fig.axes[:4]] == list(panels)
    body = samples[0]["proxy_surface_b"][0].numpy() > 0
    assert panels["surface"][~body].max() == 0 and panels["surface"][body].max() > 0  # coordinates on the body only
    chest = samples[0]["proxy_surface_b"][1].numpy() * (1 - samples[0]["visibility"][0].numpy())
    np.testing.assert_array_equal(panels["unseen chest"], chest)
    assert panels["I_B unwrapped"].shape == (8, 3, 3) and panels["I_B unwrapped"].dtype == np.uint8
    with pytest.raises(ValueError):
        body_proxy.surface_figure([])
    torch.manual_seed(0)
    batch = default_collate(samples)
    fig = body_proxy.paste_figure(G1(G1Config(32, 32, base_channels=4, z_dim=8, warp="paste")), batch)
    assert [ax.get_ylabel() for ax in fig.axes[::2]] == ["I_A", "W(I_A)", "paste v·α", "G1", "I_B"]
    weight = np.asarray(fig.axes[4].get_images()[0].get_array())
    np.testing.assert_array_equal(weight, 0.5 * samples[0]["visibility"][0].numpy())  # untrained: α = ½ where seen
    with pytest.raises(ValueError, match="paste"):
        body_proxy.paste_figure(G1(G1Config(32, 32, base_channels=4, z_dim=8, warp="skip")), batch)
