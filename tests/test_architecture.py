"""The architecture drawing is measured from the networks: level shapes match the configs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posegen_lite.figures.architecture import architecture_figure, network_layout
from posegen_lite.models.discriminator import DiscriminatorConfig
from posegen_lite.models.g1 import G1Config
from posegen_lite.models.g2 import G2Config


def test_layouts_follow_the_configs():
    g1 = network_layout(G1Config(64, 64, base_channels=16))
    assert g1.encoder == [(16, 64, 64), (32, 32, 32), (48, 16, 16), (64, 8, 8)]
    # decoder levels, finest first: skip-concatenated widths 2c(i+1); the deepest sees bottleneck c + deepest 4c
    assert g1.decoder == [(32, 64, 64), (64, 32, 32), (96, 16, 16), (80, 8, 8)]
    assert "z (64)" in g1.bottleneck
    g2 = network_layout(G2Config(128, 64, base_channels=8))
    assert [s[1:] for s in g2.encoder] == [(128, 64), (64, 32), (32, 16)] and "no FC" in g2.bottleneck
    d = network_layout(DiscriminatorConfig(64, 64, base_channels=32))
    assert d.encoder == [(32, 32, 32), (64, 16, 16), (128, 8, 8), (256, 4, 4)] and d.decoder == []
    assert g1.parameters > 0 and d.parameters > 0
    with pytest.raises(TypeError):
        network_layout(object())


def test_architecture_figure_has_three_panels():
    fig = architecture_figure(G1Config(64, 64, base_channels=8))
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 3 and titles[0].startswith("G1") and titles[2].startswith("D")


def test_a_warping_conditional_vae_g1_is_drawn_too():
    fig = architecture_figure(G1Config(64, 64, base_channels=8, warp="skip", latent_channels=4))
    assert fig.axes[0].get_title().startswith("G1")
    # a latent in the proxy's texture space needs the surface map as well
    cfg = G1Config(64, 64, base_channels=8, warp="paste", latent_channels=4)
    fig = architecture_figure(replace(cfg, latent_surface=True))
    assert fig.axes[0].get_title().startswith("G1")


def test_a_pasting_g1_and_a_masked_g2_are_drawn_too():
    # The shipped weights' networks: G2 needs the body mask to run at all when its difference is masked.
    g1 = G1Config(64, 64, base_channels=8, warp="paste")
    fig = architecture_figure(g1, G2Config(64, 64, base_channels=8, mask_difference=True))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("M_B ⊙ difference" in t for t in texts), texts
    assert any("vα·W(I_A)" in t for t in texts), texts
    both = G2Config(64, 64, base_channels=8, mask_difference=True, silhouette_difference=True)
    texts = [t.get_text() for ax in architecture_figure(g1, both).axes for t in ax.texts]
    assert any("M_B ⊙ S_B ⊙ difference" in t for t in texts), texts  # and the proxy's silhouette
    shipped = G2Config(64, 64, base_channels=8, mask_difference=True, warped_input=True, visible_difference=True)
    texts = [t.get_text() for ax in architecture_figure(g1, shipped).axes for t in ax.texts]
    assert any("M_B ⊙ V ⊙ difference" in t for t in texts), texts  # edits only what the input saw …
    assert any("W(I_A) ⊕ Î_B1" in t for t in texts), texts  # … and reads the input warped into the view
