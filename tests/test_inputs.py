"""Tests for posegen_lite.models.inputs: the networks' optional inputs assembled from the body proxy's maps."""

import pytest
import torch

from posegen_lite.evaluation.predictors import G1G2Predictor
from posegen_lite.geometry.warp import ProxyMaps, proxy_silhouette
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.models.inputs import batch_maps, g1_extras, g1_inputs, g2_extras, g2_inputs

SIZE = (16, 16)


def _maps(batch: int = 2, seed: int = 0) -> ProxyMaps:
    gen = torch.Generator().manual_seed(seed)
    parts = torch.randint(-1, 16, (batch, *SIZE), generator=gen)
    return ProxyMaps(
        torch.randn(batch, 2, *SIZE, generator=gen),
        (torch.rand(batch, 1, *SIZE, generator=gen) > 0.5).float(),
        parts,
        torch.rand(batch, 5, *SIZE, generator=gen),
        (torch.rand(batch, 1, *SIZE, generator=gen) > 0.5).float(),
    )


def _batch(maps: ProxyMaps) -> dict[str, torch.Tensor]:
    b = maps.flow.shape[0]
    return {
        "image_a": torch.rand(b, 3, *SIZE) * 2 - 1,
        "pose_b": torch.rand(b, 18, *SIZE) * 2 - 1,
        "mask_b": torch.ones(b, 1, *SIZE),
        "flow": maps.flow,
        "visibility": maps.visibility,
        "proxy_parts_b": maps.parts,
        "proxy_surface_b": maps.surface,
        "proxy_silhouette_a": maps.source_silhouette,
    }


def test_each_g1_gets_what_its_add_ons_read_and_pg2_nothing():
    maps = _maps()
    assert g1_inputs(G1Config(*SIZE), maps) == {}
    warped = g1_inputs(G1Config(*SIZE, warp="skip"), maps)
    assert set(warped) == {"flow", "visibility"} and warped["flow"] is maps.flow
    surface = g1_inputs(G1Config(*SIZE, warp="paste", latent_channels=2, latent_surface=True), maps)
    assert set(surface) == {"flow", "visibility", "surface"} and torch.equal(surface["surface"], maps.surface)


def test_a_missing_map_is_named_with_what_it_is_for():
    with pytest.raises(ValueError, match=r"texture space, so it needs the body proxy's \['surface'\]") as caught:
        g1_inputs(G1Config(*SIZE, latent_channels=2, latent_surface=True), {"flow": torch.zeros(1)})
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"\['flow', 'visibility'\]"):
        g1_inputs(G1Config(*SIZE, warp="paste"), None)


def test_g2_reads_the_target_silhouette_from_the_parts():
    maps = _maps()
    config = G2Config(*SIZE, silhouette_difference=True, warped_input=True, visible_difference=True)
    inputs = g2_inputs(config, maps)
    assert set(inputs) == {"silhouette", "flow", "visibility"}
    assert torch.equal(inputs["silhouette"], proxy_silhouette(maps.parts)) and torch.equal(
        maps.silhouette, inputs["silhouette"]
    )
    assert g2_inputs(G2Config(*SIZE), None) == {}


def test_a_batch_and_the_maps_it_was_made_from_give_the_same_inputs():
    maps = _maps()
    batch = _batch(maps)
    assert set(batch_maps(batch)) == {*ProxyMaps._fields, "silhouette"}
    torch.manual_seed(0)
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="paste", levels=2, latent_channels=2, latent_surface=True))
    g2 = G2(G2Config(*SIZE, base_channels=4, silhouette_difference=True, warped_input=True))
    for got, expected in (
        (g1_extras(g1, batch), g1_inputs(g1.config, maps)),
        (g2_extras(g2, batch), g2_inputs(g2.config, maps)),
    ):
        assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
    # The evaluation's predictor assembles them the same way.
    with torch.no_grad():
        coarse = g1.eval()(batch["image_a"], batch["pose_b"], **g1_inputs(g1.config, maps))
        refined = g2.eval()(batch["image_a"], coarse, batch["mask_b"], **g2_inputs(g2.config, maps))
    assert torch.equal(G1G2Predictor(g1, g2)(batch), refined)
    with pytest.raises(ValueError, match="extras"):
        g1_extras(g1, {"image_a": batch["image_a"]})
