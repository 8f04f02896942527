"""geometry.texture: the body proxy's texture space — unwrap a view into it, render any view from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import rotate_about_body_axis
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.geometry.texture import TEXTURE_SHAPE, Texture, render, texel_coords, unwrap, view_surface

SIZE = (128, 64)
CHEST = PROXY_PARTS.index("chest")


def _input(index: int = 0):
    view = Scene.held_out(index, SIZE).input_view
    return view, view_surface(view.joints3d, view.camera)


def test_texel_coordinates_go_round_the_bone():
    surface = torch.tensor([[0.0, 0.5, 1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -0.2, -1.0]])
    u, v = texel_coords(surface)
    np.testing.assert_allclose(u[:3].numpy(), [0.0, 0.5, -0.5], atol=1e-6)  # front, the left side, the right
    assert abs(abs(float(u[3])) - 1.0) < 1e-6  # straight behind: the seam
    np.testing.assert_allclose(v.numpy(), [0.5, 0.0, 0.0, -0.2])


def test_a_view_sees_the_middle_of_the_chest_squarely_and_its_rim_at_a_grazing_angle():
    _, seen = _input()
    chest = seen.parts == CHEST
    assert chest.sum() > 50
    facing = seen.facing[chest]
    assert facing.max() > 0.95 and facing.min() < 0.4
    assert (seen.facing[seen.parts < 0] == 0).all() and ((seen.facing >= 0) & (seen.facing <= 1 + 1e-6)).all()
    # the rim: chest pixels next to a pixel that is not chest face the camera less than the chest's middle does
    rim = chest & ~ndimage.binary_erosion(chest)
    assert seen.facing[rim].mean() < seen.facing[chest & ~rim].mean() - 0.2


def test_unwrap_then_render_in_the_same_view_gives_back_the_seen_pixels():
    for index in (0, 6):  # a small and a large person (630 and 2,070 body pixels at 128×64)
        view, seen = _input(index)
        texture = unwrap(view.image, seen.parts, seen.surface, seen.facing)
        assert texture.colour.shape == (NUM_PROXY_PARTS, 3, *TEXTURE_SHAPE)
        colour, weight = render(texture, torch.from_numpy(seen.parts), torch.from_numpy(seen.surface))
        body = seen.parts >= 0
        assert (weight.numpy()[body] > 0).all()
        error = np.abs(colour.numpy() - view.image.astype(np.float32))[body].mean()
        # within a few grey levels (pixels that share a texel are averaged), where a one-pixel shift of the same
        # image differs by 20-30: the texture holds the pixels themselves
        shifted = np.abs(np.roll(view.image.astype(np.float32), 1, axis=1) - view.image)[body].mean()
        assert error < 6.0 and error < shifted / 4


def test_rendered_behind_a_front_view_texture_is_unseen():
    """The input saw the person's front: turned 180°, the chest's pixels land on texels nobody saw (weight 0)."""
    view, seen = _input()
    texture = unwrap(view.image, seen.parts, seen.surface, seen.facing)
    behind = rotate_about_body_axis(view.joints3d, 180.0, camera=view.camera)
    back = view_surface(behind, view.camera)
    _, weight = render(texture, torch.from_numpy(back.parts), torch.from_numpy(back.surface))
    chest = back.parts == CHEST
    assert chest.sum() > 50 and (weight.numpy()[chest] == 0).mean() > 0.9


def test_a_complete_texture_renders_its_colours_and_a_partial_one_only_its_seen_texels():
    colour = torch.zeros(NUM_PROXY_PARTS, 3, *TEXTURE_SHAPE)
    colour[:, 0] = 200.0
    weight = torch.zeros(NUM_PROXY_PARTS, 1, *TEXTURE_SHAPE)
    weight[..., : TEXTURE_SHAPE[1] // 2] = 1.0  # the right half round every part (u < 0) was seen
    parts = torch.full((1, 2), CHEST)
    surface = torch.tensor([[[-1.0, 0.0, 0.05], [1.0, 0.0, 0.05]]])  # the right side, the left side
    c, w = render(Texture(colour, weight), parts, surface)
    assert float(c[0, 0, 0]) == 200.0 and float(w[0, 0]) == 1.0
    assert float(c[0, 1, 0]) == 0.0 and float(w[0, 1]) == 0.0
    c, w = render(Texture(colour, weight, complete=True), parts, surface)
    assert float(c[0, 1, 0]) == 200.0 and float(w[0, 1]) == 0.0  # a colour, still no input behind it


def test_the_texture_figure_shows_unseen_texels_grey_and_renders_the_body_from_the_texture_alone():
    from posegen_lite.figures.texture import ATLAS_PARTS, atlas, texture_figure, texture_views

    view, seen = _input(3)
    partial = unwrap(view.image, seen.parts, seen.surface, seen.facing * view.mask)
    tiles = atlas(partial)
    V, U = TEXTURE_SHAPE
    assert tiles.shape == (len(ATLAS_PARTS) * (V + 1) - 1, U, 3)
    chest = tiles[V + 1 : 2 * V + 1]  # the second part: the chest, front in the middle columns, back at the sides
    assert (chest[:, [0, -1]] == 128).all() and not (chest[:, U // 2 - 2 : U // 2 + 2] == 128).all()
    (front,) = texture_views(partial, view.joints3d, view.camera, [0.0])
    body = seen.parts >= 0
    assert (front[~body] == 255).all() and np.abs(
        front[body & view.mask].astype(float) - view.image[body & view.mask]
    ).mean() < 6
    assert texture_figure(view.image, view.joints3d, view.camera, view.mask, yaws=(0.0, 180.0)) is not None


def test_mix_texture_mixes_only_the_chosen_body_pixels_by_the_share():
    from posegen_lite.geometry.texture import mix_texture

    view, seen = _input()
    texture = complete_texture_of(view, seen)
    parts, surface = torch.from_numpy(seen.parts)[None], torch.from_numpy(seen.surface)[None]
    painted, _ = render(texture, parts, surface)
    views = torch.full((1, *SIZE, 3), 100.0)
    where = torch.zeros(1, *SIZE, dtype=torch.bool)
    where[0, : SIZE[0] // 2] = True  # the upper half, background included: only its body pixels change
    shade = torch.full((1, *SIZE), 0.5)
    out = mix_texture(views, texture, parts, surface, where, 0.25, shade)
    mixed = where & (parts >= 0)
    torch.testing.assert_close(out[mixed], 100.0 + 0.25 * (painted[mixed] * 0.5 - 100.0))
    assert torch.equal(out[~mixed], views[~mixed]) and mixed.sum() > 100
    assert torch.equal(mix_texture(views, texture, parts, surface, where, 0.0), views)
    torch.testing.assert_close(mix_texture(views, texture, parts, surface, where, 1.0)[mixed], painted[mixed])
    with pytest.raises(ValueError, match="share"):
        mix_texture(views, texture, parts, surface, where, 1.5)


def complete_texture_of(view, seen) -> Texture:
    from posegen_lite.models.texture_completion import complete_texture

    return complete_texture(unwrap(view.image, seen.parts, seen.surface, seen.facing))
