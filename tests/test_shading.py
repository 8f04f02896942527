"""geometry.shading: a light fixed to the camera, and how it shades the body proxy; the texture in albedo."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic import shading as renderer
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.shading import RENDER_LIGHT, Light, lambert, proxy_normals, shading_maps
from posegen_lite.geometry.texture import render, unwrap, view_surface
from posegen_lite.models.texture_completion import albedo_texture, complete_texture

SIZE = (128, 64)


def test_lambert_is_ambient_plus_diffuse_times_the_cosine_towards_the_light():
    light = Light((0.0, 0.0, -2.0), 0.4, 0.6)  # towards the camera (z forward), any length
    normals = torch.tensor([[0.0, 0.0, -3.0], [0.0, 0.0, 1.0], [1.0, 0.0, -1.0], [5.0, 0.0, 0.0]])
    np.testing.assert_allclose(lambert(normals, light).numpy(), [1.0, 0.4, 0.4 + 0.6 / np.sqrt(2), 0.4], rtol=1e-6)


def test_a_light_needs_a_direction_and_some_light():
    with pytest.raises(ValueError, match="direction"):
        Light((0.0, 0.0, 0.0), 0.4, 0.6)
    with pytest.raises(ValueError, match="ambient"):
        Light((0.0, 0.0, -1.0), -0.1, 0.6)
    with pytest.raises(ValueError, match="ambient"):
        Light((0.0, 0.0, -1.0), 0.0, 0.0)


def test_the_renderer_lights_the_embedded_people_with_the_render_light():
    d = np.asarray(RENDER_LIGHT.direction) / np.linalg.norm(RENDER_LIGHT.direction)
    np.testing.assert_allclose(renderer._LIGHT, d, rtol=1e-6)
    assert (renderer._AMBIENT, renderer._DIFFUSE) == pytest.approx((RENDER_LIGHT.ambient, RENDER_LIGHT.diffuse))


def test_the_proxy_is_shaded_by_its_outward_normals_and_the_background_not_at_all():
    view = Scene.held_out(0, SIZE).input_view
    parts, normals = proxy_normals(view.joints3d[None], [view.camera])
    shade = shading_maps(view.joints3d[None], [view.camera], RENDER_LIGHT)[0]
    seen = view_surface(view.joints3d, view.camera)
    body = parts[0] >= 0
    np.testing.assert_array_equal(parts[0].numpy(), seen.parts)
    assert body.sum() > 300 and (shade[~body] == 1).all() and (normals[0][~body] == 0).all()
    np.testing.assert_allclose(shade[body].numpy(), lambert(normals[0][body], RENDER_LIGHT).numpy())
    lo, hi = RENDER_LIGHT.ambient, RENDER_LIGHT.ambient + RENDER_LIGHT.diffuse
    assert float(shade[body].min()) >= lo - 1e-6 and float(shade[body].max()) <= hi + 1e-6
    # outward: every normal the camera sees points back along its pixel's ray, at the angle view_surface reports
    K = view.camera.K
    ys, xs = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    rays = np.stack([(xs - K[0, 2]) / K[0, 0], (ys - K[1, 2]) / K[1, 1], np.ones(SIZE)], -1)[body.numpy()]
    n = normals[0][body].numpy()
    cos = (n * rays).sum(-1) / np.linalg.norm(n, axis=-1) / np.linalg.norm(rays, axis=-1)
    assert (cos < 1e-6).all()
    np.testing.assert_allclose(-cos, seen.facing[body.numpy()], atol=1e-5)


def test_an_albedo_texture_relit_in_its_own_view_gives_back_the_seen_pixels():
    view = Scene.held_out(6, SIZE).input_view
    seen = view_surface(view.joints3d, view.camera)
    shade = shading_maps(view.joints3d[None], [view.camera], RENDER_LIGHT)[0].numpy()
    texture = albedo_texture(view.image, view.joints3d, view.camera, RENDER_LIGHT)
    assert texture.complete
    colour, _ = render(texture, torch.from_numpy(seen.parts), torch.from_numpy(seen.surface))
    square = seen.facing > 0.8
    relit = colour.numpy() * shade[..., None]
    error = np.abs(relit - view.image.astype(np.float32))[square].mean()
    shifted = np.abs(np.roll(view.image.astype(np.float32), 1, axis=1) - view.image)[square].mean()
    plain, _ = render(complete_texture(unwrap(view.image, seen.parts, seen.surface, seen.facing)),
                      torch.from_numpy(seen.parts), torch.from_numpy(seen.surface))  # fmt: skip
    unlit = np.abs(plain.numpy() - view.image.astype(np.float32))[square].mean()
    # as close as the colours' own texture gives them back (texels average their pixels), far below a shifted image
    assert error < unlit + 1.5 and error < shifted / 2
    # the albedo is the colour over the shade: brighter than the image wherever the shade is below 1
    assert colour.numpy()[square].mean() > view.image[square].mean()
    # without a light (a light fixed to the world) the texture is the colours' own
    plain = albedo_texture(view.image, view.joints3d, view.camera, None)
    own = complete_texture(unwrap(view.image, seen.parts, seen.surface, seen.facing))
    torch.testing.assert_close(plain.colour, own.colour)


def test_views_already_cast_give_the_same_normals_and_shade_without_casting_again():
    from posegen_lite.geometry.camera import rotate_about_body_axis
    from posegen_lite.geometry.shading import surface_normals
    from posegen_lite.geometry.warp import source_maps

    view = Scene.held_out(2, SIZE).input_view
    targets = np.stack([rotate_about_body_axis(view.joints3d, yaw) for yaw in (0.0, 70.0, 180.0)])
    cams = [view.camera] * len(targets)
    warp = source_maps(view.joints3d, view.camera, targets)
    surface = warp.surface[:, 2:].permute(0, 2, 3, 1)
    parts, cast = proxy_normals(targets, cams)
    assert torch.equal(parts, warp.parts)
    again = surface_normals(targets, cams, warp.parts, surface)
    unit = lambda n: n / n.norm(dim=-1, keepdim=True).clamp_min(1e-9)  # noqa: E731
    # the same directions (the surface coordinates are clamped to [−1, 1], so a cap's tip may move its length)
    torch.testing.assert_close(unit(again), unit(cast), atol=2e-3, rtol=0)
    torch.testing.assert_close(
        shading_maps(targets, cams, RENDER_LIGHT, seen=(warp.parts, surface)),
        shading_maps(targets, cams, RENDER_LIGHT),
        atol=1e-4,
        rtol=0,
    )


def test_the_targets_proxy_built_once_shades_and_outlines_as_built_anew():
    from posegen_lite.geometry.camera import rotate_about_body_axis
    from posegen_lite.geometry.outline import outline_coverage
    from posegen_lite.geometry.proxy import PROXY_PARTS, build_proxy
    from posegen_lite.geometry.warp import source_maps

    view = Scene.held_out(3, SIZE).input_view
    targets = np.stack([rotate_about_body_axis(view.joints3d, yaw) for yaw in (10.0, 95.0, 170.0)])
    cams, widths = [view.camera] * len(targets), np.full(len(PROXY_PARTS), 1.3)
    warp = source_maps(view.joints3d, view.camera, targets, radius_scale=widths)
    seen = (warp.parts, warp.surface[:, 2:].permute(0, 2, 3, 1))
    built = build_proxy(targets.astype(np.float64), widths)
    once = shading_maps(targets, cams, RENDER_LIGHT, widths, seen, proxy=built)
    assert torch.equal(once, shading_maps(targets, cams, RENDER_LIGHT, widths, seen))
    kept = outline_coverage(targets, cams, radius_scale=widths, proxy=built)
    assert torch.equal(kept, outline_coverage(targets, cams, radius_scale=widths))
