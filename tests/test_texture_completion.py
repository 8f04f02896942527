"""models.texture_completion and its trainer: the network that corrects the hand-made fill of a person's texture."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.outline import outline_coverage
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
from posegen_lite.geometry.texture import TEXTURE_SHAPE, Texture, unwrap, view_surface
from posegen_lite.models.texture_completion import (
    IN_CHANNELS,
    MIN_TEXEL_WEIGHT,
    TextureCompletionConfig,
    TextureCompletionNet,
    albedo_texture,
    close_gaps,
    complete_texture,
    completion_inputs,
    front_texels,
    learned_completion,
    load_completion,
)
from posegen_lite.training.texture_completion import (
    config_from_dict,
    read_config,
    texture_pairs,
    train_texture_completion,
)

RECIPE = Path(__file__).resolve().parents[1] / "benchmarks" / "configs" / "texture_completion.toml"
SIZE = (64, 32)


def _partial(yaw: float, k: int = 5) -> Texture:
    """Held-out person ``k`` seen at ``yaw``, unwrapped as the synthesizer does (facing × mask)."""
    view = Scene.held_out(k, SIZE).render(yaw)
    seen = view_surface(view.joints3d, view.camera)
    return unwrap(view.image, seen.parts, seen.surface, seen.facing * view.mask)


def _noisy_net(config: TextureCompletionConfig | None = None) -> TextureCompletionNet:
    """A network whose residual is far from 0 everywhere (its last layer is not zero)."""
    torch.manual_seed(0)
    net = TextureCompletionNet(config)
    torch.nn.init.normal_(net.head.weight, std=1.0)
    torch.nn.init.constant_(net.head.bias, 0.3)
    return net.eval()


@pytest.mark.parametrize("levels", [1, 2])
def test_the_inputs_and_the_residual_have_the_documented_shapes(levels):
    inputs = completion_inputs(_partial(0.0))
    V, U = TEXTURE_SHAPE
    assert inputs.features.shape == (NUM_PROXY_PARTS, IN_CHANNELS, V, U)
    assert inputs.fill.shape == (NUM_PROXY_PARTS, 3, V, U) and inputs.fixed.shape == (NUM_PROXY_PARTS, 1, V, U)
    P = NUM_PROXY_PARTS
    colours = torch.cat([inputs.features[:, :11], inputs.features[:, 13 + P :]], 1)  # colours and masks
    assert 0.0 <= float(colours.min()) and float(colours.max()) <= 1.0
    assert inputs.features[:, 11 : 11 + P].sum(1).eq(1).all()  # one part each
    assert inputs.features[:, 11 + P : 13 + P].abs().max() < 1.0  # u and v, texel centres in (−1, 1)
    net = TextureCompletionNet(TextureCompletionConfig(width=8, levels=levels))
    assert net(inputs.features).shape == (NUM_PROXY_PARTS, 3, V, U)


def test_an_untrained_network_returns_the_hand_made_fill_exactly():
    partial = _partial(0.0)
    learned = learned_completion(TextureCompletionNet(TextureCompletionConfig(width=8)), partial)
    assert learned.complete
    assert torch.equal(learned.colour, complete_texture(partial).colour)
    assert torch.equal(learned.weight, partial.weight)


def test_the_network_never_changes_a_texel_the_input_kept_nor_a_head_s_or_torso_s_front():
    partial = _partial(0.0)
    learned = learned_completion(_noisy_net(TextureCompletionConfig(width=8)), partial)
    fill = complete_texture(partial).colour
    _, weight = close_gaps(partial.colour, partial.weight)
    kept = weight >= MIN_TEXEL_WEIGHT
    fixed = (kept | front_texels(fill.shape)).expand_as(fill)
    assert torch.equal(learned.colour[fixed], fill[fixed])
    own = (partial.weight >= MIN_TEXEL_WEIGHT).expand_as(fill)  # seen squarely, not a closed gap
    assert own.any() and torch.equal(learned.colour[own], partial.colour[own])  # the input's own colours
    assert (learned.colour[~fixed] - fill[~fixed]).abs().mean() > 1.0  # elsewhere it does change the fill
    assert 0.0 <= float(learned.colour.min()) and float(learned.colour.max()) <= 255.0


def test_a_head_seen_only_from_behind_gets_no_face_texels():
    """Seen from behind, the head's front texels (where a face would be) are the fill's, continued from the
    back of the head: within the range of the head's seen colours, whatever the network's weights (no weights
    ship: benchmarks/notes/2026-12-texture-completion-net-2.md)."""
    partial = _partial(180.0)
    head = PROXY_PARTS.index("head")
    seen = partial.weight[head, 0] >= MIN_TEXEL_WEIGHT
    assert seen.any()
    hair = partial.colour[head][:, seen]  # (3, n)
    learned = learned_completion(_noisy_net(TextureCompletionConfig(width=8)), partial)
    face = front_texels(learned.colour.shape)[head, 0] & ~seen
    assert face.sum() >= 8
    painted = learned.colour[head][:, face]
    assert (painted >= hair.min(1).values[:, None] - 1).all() and (painted <= hair.max(1).values[:, None] + 1).all()


def test_texture_pairs_are_the_same_on_every_call_and_the_full_texture_sees_more():
    a, b = (texture_pairs("val", 1, SIZE, (0.0, 90.0, 180.0, 270.0)) for _ in range(2))
    for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True):
        assert torch.equal(x, y)
    assert (a.full_weight > 0).sum() > 1.5 * (a.partial_weight > 0).sum()


def test_albedo_pairs_unwrap_each_view_divided_by_its_shade_and_make_the_views_agree():
    """In albedo the partial texture is the input's pixels divided by the renderer's shade of the proxy; the
    renderer's light moves with the camera, so a texel seen in two views agrees better there than as seen."""
    yaws = (0.0, 40.0)
    albedo = texture_pairs("val", 1, (128, 64), yaws, albedo=True)
    views = Scene.held_out(0, (128, 64), split="val").render_many(list(yaws))
    unwraps = {True: [], False: []}
    for view in views:
        seen = view_surface(view.joints3d, view.camera)
        shade = shading_maps(view.joints3d[None], [view.camera], RENDER_LIGHT)[0, ..., None].numpy()
        for divided in (True, False):
            colours = np.asarray(view.image, np.float32) / (shade if divided else 1.0)
            unwraps[divided].append(unwrap(colours, seen.parts, seen.surface, seen.facing * view.mask))
    assert torch.equal(albedo.partial_colour[0], unwraps[True][0].colour)
    assert torch.equal(albedo.partial_weight[0], unwraps[True][0].weight)
    both = (unwraps[True][0].weight >= MIN_TEXEL_WEIGHT) & (unwraps[True][1].weight >= MIN_TEXEL_WEIGHT)  # seen in both
    assert both.sum() > 50
    spread = {
        d: float((u[0].colour - u[1].colour).abs().mean(1, keepdim=True)[both].mean()) for d, u in unwraps.items()
    }
    assert spread[True] < 0.7 * spread[False]


def test_training_runs_saves_and_loads(tmp_path):
    config = dataclasses.replace(
        read_config(RECIPE), train_people=2, val_people=1, size=SIZE, steps=2, people_per_step=1, val_every=1,
        model=TextureCompletionConfig(width=4, levels=1),
    )  # fmt: skip
    net, stats = train_texture_completion(config, tmp_path / "net.pt")
    assert stats["steps"] == 2 and len(stats["history"]) == 2
    loaded = load_completion(tmp_path / "net.pt")
    saved = torch.load(tmp_path / "net.pt", map_location="cpu", weights_only=True)
    assert config_from_dict(saved["train_config"]) == config  # the run's recipe travels with its weights
    assert loaded.config == config.model
    for name, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)


def test_a_recipe_with_an_unknown_key_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("stpes = 3\n")
    with pytest.raises(ValueError, match="stpes"):
        read_config(bad)
    bad.write_text("[model]\nwidht = 3\n")
    with pytest.raises(ValueError, match="model.widht"):
        read_config(bad)


def test_with_whole_pixels_the_input_s_outline_pixels_never_reach_the_texture():
    """An outline pixel (the proxy covers part of it) mixes the body with the background: painted white there, the
    input colours the texture unwrapped from every pixel, not the one from the wholly covered pixels alone."""
    view = Scene.held_out(0, (128, 64)).input_view
    cover = outline_coverage(view.joints3d[None], [view.camera])[0, 0].numpy()
    rim = (cover > 0) & (cover < 1)
    assert rim.sum() > 50
    image = np.where(rim[..., None], 255, np.full_like(view.image, 40))
    marked = {w: albedo_texture(image, view.joints3d, view.camera, None, whole_pixels=w) for w in (False, True)}
    seen = {w: t.weight > 0 for w, t in marked.items()}
    assert (seen[False] & ~seen[True]).sum() > 20  # texels only outline pixels fell into: left out
    colour = {w: t.colour.permute(0, 2, 3, 1)[seen[w][:, 0]] for w, t in marked.items()}
    assert colour[False].max() > 100  # the white rim reached the texture …
    assert colour[True].max() == pytest.approx(40.0)  # … and with whole pixels only the body's colour did
