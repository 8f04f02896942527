"""pipelines.unseen: the side the input never showed, painted with the input's own per-part colours or texture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.fit import proxy_view
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS, PROXY_PARTS
from posegen_lite.geometry.texture import TEXTURE_SHAPE, Texture, render
from posegen_lite.geometry.warp import ProxyMaps
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.texture_completion import close_gaps
from posegen_lite.pipelines.stage1 import fit_widths, outline, proxy_warp
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer
from posegen_lite.pipelines.unseen import (
    HEAD,
    MIN_TEXEL_WEIGHT,
    PARTNER,
    complete_texture,
    paint_from_texture,
    paint_unseen,
    part_colours,
)

SIZE = (64, 32)


def test_partners_are_left_and_right():
    assert PROXY_PARTS[PARTNER[PROXY_PARTS.index("r_forearm")]] == "l_forearm"
    assert PARTNER[PROXY_PARTS.index("chest")] == PROXY_PARTS.index("chest")


def test_a_part_s_colour_is_its_median_and_a_hidden_part_takes_its_partner_s():
    parts = np.full((4, 6), -1)
    parts[:, :3] = PROXY_PARTS.index("chest")
    parts[:, 3:] = PROXY_PARTS.index("l_forearm")
    image = np.zeros((4, 6, 3), np.uint8)
    image[:, :3] = (200, 10, 10)
    image[0, 0] = (0, 255, 0)  # one pixel of a print: the median ignores it
    image[:, 3:] = (10, 10, 200)
    colours = part_colours(image, np.ones((4, 6), bool), parts, np.zeros((4, 6, 3)))
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("chest")], (200, 10, 10))
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("r_forearm")], (10, 10, 200))  # its partner's
    np.testing.assert_array_equal(colours[PROXY_PARTS.index("r_foot")], np.median(image.reshape(-1, 3), axis=0))
    views = np.zeros((1, 4, 6, 3), np.uint8)
    painted = paint_unseen(views, parts[None], np.zeros((1, 4, 6), bool) | (np.arange(6) < 3)[None, None], colours)
    assert (painted[0, :, :3] == 0).all() and (painted[0, :, 3:] == (10, 10, 200)).all()  # only the unseen


def test_a_head_seen_only_from_behind_gets_no_face():
    """Input: a held-out person seen from behind. Turned to face the camera, the face they never showed is
    painted one colour — the back of the head's (hair) — not a face, and not the networks' guess."""
    scene = Scene.held_out(5, SIZE)
    back = scene.render(180.0)
    torch.manual_seed(0)
    synth = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, warp="paste")), None, device="cpu")
    front = synth.synthesize(back.image, back.joints3d, camera=back.camera, yaw=180, silhouette=back.mask,
                             unseen="part_colours")  # fmt: skip
    source = synth.source_pose(back.joints3d, back.camera)
    widths = fit_widths(source, SIZE, back.mask)
    parts, local = proxy_view(source.joints3d, source.proxy_camera(*SIZE), widths)
    seen_head = back.mask & (parts == HEAD)
    assert seen_head.sum() >= 6 and (local[seen_head, 2] < 0.5).all()  # from behind: no face pixel in the input
    hair = np.median(back.image[seen_head], axis=0)
    target = proxy_warp(source, [front.joints3d], SIZE, widths)  # the fitted proxy the synthesizer used
    whole = outline(source, [front.joints3d], SIZE, widths)[0, 0].numpy() == 1  # the outline mixes in background
    face = (target.parts[0].numpy() == HEAD) & ~front.seen & whole
    np.testing.assert_array_equal(target.silhouette[0, 0].numpy() > 0.5, front.body)
    assert face.sum() >= 4
    painted = front.image[face].astype(float)
    assert np.abs(painted - hair).max() <= 1  # one colour, the back of the head's


# --- the completed texture (unseen="texture") --------------------------------------------------------------


def _texture(seen_u, colour_of_u) -> Texture:
    """A texture whose texels with ``seen_u(u)`` were seen squarely, coloured ``colour_of_u(u)`` (on every part)."""
    V, U = TEXTURE_SHAPE
    u = (torch.arange(U, dtype=torch.float32) + 0.5) / U * 2.0 - 1.0
    colour = torch.stack([colour_of_u(x) for x in u], -1).view(1, 3, 1, U).expand(NUM_PROXY_PARTS, 3, V, U)
    weight = torch.stack([torch.tensor(1.0 if seen_u(x) else 0.0) for x in u]).view(1, 1, 1, U)
    return Texture(colour.clone(), weight.expand(NUM_PROXY_PARTS, 1, V, U).clone())


def test_a_completed_texture_keeps_what_was_seen_and_gives_every_texel_a_colour():
    red, blue = torch.tensor([200.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 200.0])
    partial = _texture(lambda u: abs(u) < 0.5, lambda u: red if abs(u) < 0.2 else blue)
    done = complete_texture(partial)
    assert done.complete and torch.isfinite(done.colour).all()
    seen = partial.weight >= MIN_TEXEL_WEIGHT
    assert torch.equal(done.colour * seen, partial.colour * seen)
    assert torch.equal(done.weight, partial.weight)  # still says what the input stood behind


def test_the_back_of_a_chest_continues_its_sides_never_its_front():
    """Seen from the front: a print in the middle, the garment at the sides. The back is the sides' colour; the
    front's colour reaches no texel behind. (The head: the next test.)"""
    red, blue = torch.tensor([200.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 200.0])
    done = complete_texture(_texture(lambda u: abs(u) < 0.5, lambda u: red if abs(u) < 0.2 else blue))
    U = TEXTURE_SHAPE[1]
    behind = [0, 1, U - 2, U - 1]  # u near ±1
    back = done.colour[PROXY_PARTS.index("chest")][..., behind]
    assert (back[0] < 5).all() and (back[2] > 195).all()


def test_the_back_of_a_head_continues_its_hair_from_the_crown_never_the_face_or_the_ears():
    """Seen from the front: hair above the crown's height, a face (red) in the middle below it, skin at the sides
    (the ears). The back is the hair's colour: neither the ears' skin nor the face reaches it."""
    from posegen_lite.models.texture_completion import CROWN_V

    V, U = TEXTURE_SHAPE
    v = (torch.arange(V, dtype=torch.float32) + 0.5) / V * 2.0 - 1.0
    u = (torch.arange(U, dtype=torch.float32) + 0.5) / U * 2.0 - 1.0
    hair, skin, face = (
        torch.tensor([90.0, 60.0, 20.0]),
        torch.tensor([230.0, 180.0, 150.0]),
        torch.tensor([200.0, 0, 0]),
    )
    colour = torch.zeros(NUM_PROXY_PARTS, 3, V, U)
    weight = torch.zeros(NUM_PROXY_PARTS, 1, V, U)
    for iv in range(V):
        for iu in range(U):
            if abs(u[iu]) < 0.5:  # seen from the front
                below = face if abs(u[iu]) < 0.2 else skin
                colour[HEAD, :, iv, iu] = hair if v[iv] > CROWN_V else below
                weight[HEAD, :, iv, iu] = 1.0
    done = complete_texture(Texture(colour, weight))
    back = done.colour[HEAD][..., u.abs() > 0.8].permute(1, 2, 0).reshape(-1, 3)
    np.testing.assert_allclose(back.numpy(), hair.expand_as(back).numpy(), atol=1)
    seen = weight[HEAD, 0] > 0
    assert torch.equal(done.colour[HEAD][:, seen], colour[HEAD][:, seen])  # what was seen keeps its colour


def test_a_side_the_input_did_not_see_takes_its_mirror_image_from_the_partner_part():
    V, U = TEXTURE_SHAPE
    colour = torch.zeros(NUM_PROXY_PARTS, 3, V, U)
    weight = torch.zeros(NUM_PROXY_PARTS, 1, V, U)
    right, left = PROXY_PARTS.index("r_forearm"), PROXY_PARTS.index("l_forearm")
    colour[right] = torch.rand(3, V, U, generator=torch.Generator().manual_seed(0)) * 255
    weight[right] = 1.0
    done = complete_texture(Texture(colour, weight))
    torch.testing.assert_close(done.colour[left], colour[right].flip(-1))  # u → −u: the same side of the body


def test_texture_paints_only_what_the_input_did_not_see_or_saw_at_a_grazing_angle():
    """Four target pixels, each showing the input pixel straight across (flow 0): seen squarely, unseen, seen at a
    grazing angle (its input pixel's weight 0.1), and background."""
    texture = Texture(
        torch.full((NUM_PROXY_PARTS, 3, *TEXTURE_SHAPE), 100.0),
        torch.ones(NUM_PROXY_PARTS, 1, *TEXTURE_SHAPE),
        complete=True,
        source_weight=torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1]]).repeat(3, 1),
    )
    parts = torch.full((1, 3, 8), PROXY_PARTS.index("chest"))
    parts[0, :, 7] = -1  # background
    surface = torch.zeros(1, 5, 3, 8)
    surface[:, 4] = 1.0  # outward: the front
    visibility = torch.ones(1, 1, 3, 8)
    visibility[..., 3] = 0.0
    warp = ProxyMaps(torch.zeros(1, 2, 3, 8), visibility, parts, surface, torch.ones(1, 1, 3, 8))
    out = paint_from_texture(np.zeros((1, 3, 8, 3), np.uint8), warp, texture)[0, 1]
    assert (out[:3] == 0).all()  # seen squarely, away from the rim: the networks' pixel stays
    assert (out[3] == 100).all() and (out[6] == 100).all()  # unseen; seen at a grazing angle
    assert (out[5] == 100).all()  # next to the grazing pixel: the warp samples between them
    assert (out[7] == 0).all()  # the background is not the body's


def test_texture_on_a_head_seen_only_from_behind_paints_no_face():
    """Input: a held-out person seen from behind; turned to face the camera, the face pixels are painted from the
    back of the head's colours (within their range), at yaw 0 the input comes back bit for bit."""
    scene = Scene.held_out(5, SIZE)
    back = scene.render(180.0)
    torch.manual_seed(0)
    synth = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4, warp="paste")), None, device="cpu")
    same, front = synth.synthesize_many(back.image, back.joints3d, [0, 180], camera=back.camera,
                                        silhouette=back.mask, unseen="texture")  # fmt: skip
    np.testing.assert_array_equal(same.image, back.image)
    source = synth.source_pose(back.joints3d, back.camera)
    widths = fit_widths(source, SIZE, back.mask)
    parts, _ = proxy_view(source.joints3d, source.proxy_camera(*SIZE), widths)
    hair = back.image[back.mask & (parts == HEAD)].astype(float)
    target = proxy_warp(source, [front.joints3d], SIZE, widths)
    whole = outline(source, [front.joints3d], SIZE, widths)[0, 0].numpy() == 1  # the outline mixes in background
    face = (target.parts[0].numpy() == HEAD) & ~front.seen & whole
    assert face.sum() >= 4
    painted = front.image[face].astype(float)
    assert (painted >= hair.min(0) - 1).all() and (painted <= hair.max(0) + 1).all()


def test_a_hole_inside_the_seen_texels_closes_from_its_neighbours_and_the_seen_side_does_not_grow():
    V, U = TEXTURE_SHAPE
    colour = torch.zeros(NUM_PROXY_PARTS, 3, V, U)
    weight = torch.zeros(NUM_PROXY_PARTS, 1, V, U)
    colour[:, :, 9:12, 4:7] = torch.tensor([100.0, 50.0, 0.0]).view(3, 1, 1)
    weight[:, :, 9:12, 4:7] = 1.0
    weight[:, :, 10, 5] = 0.0  # a hole in the middle of a seen patch
    colour[:, :, 10, 5] = 0.0
    closed, w = close_gaps(colour, weight, passes=1)
    np.testing.assert_allclose(closed[0, :, 10, 5].numpy(), [100.0, 50.0, 0.0])  # the neighbours' colour
    assert 0 < float(w[0, 0, 10, 5]) < 1.0  # trusted less than what was seen
    assert float(w[0, 0, 10, 7]) == 0.0 and float(w[0, 0, 8, 5]) == 0.0  # beside the patch: still unseen


@pytest.mark.parametrize("learned", [False, True])
def test_by_default_the_body_mixes_the_networks_guess_with_the_relit_texture(learned):
    """With the hand-made fill, FILL_SHARE of the texture; completed by a network, TEXTURE_SHARE of its texture."""
    from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
    from posegen_lite.geometry.texture import view_surface
    from posegen_lite.models.texture_completion import (
        FILL_SHARE,
        TEXTURE_SHARE,
        TextureCompletionConfig,
        TextureCompletionNet,
        albedo_texture,
    )
    from posegen_lite.models.warping import relight_seen
    from posegen_lite.pipelines.stage1 import shading

    torch.manual_seed(0)
    view = Scene.held_out(0, SIZE).input_view
    g1 = G1(G1Config(*SIZE, base_channels=4, warp="paste"))
    net = None
    if learned:  # a network whose correction is far from 0
        net = TextureCompletionNet(TextureCompletionConfig(width=4, levels=1)).eval()
        torch.nn.init.normal_(net.head.weight, std=0.5)
    s = NovelViewSynthesizer(g1, None, device="cpu", soft_outline=False, completion=net)
    share = TEXTURE_SHARE if learned else FILL_SHARE
    assert s.texture_share == share
    yaws = [0.0, 40.0, 180.0]
    nets = s.synthesize_many(view.image, view.joints3d, yaws, camera=view.camera, unseen="networks")
    mixed = s.synthesize_many(view.image, view.joints3d, yaws, camera=view.camera)  # "blend", the default
    np.testing.assert_array_equal(mixed[0].image, view.image)  # the input's own view stays the input
    source = s.source_pose(view.joints3d, view.camera)
    targets = [r.joints3d for r in mixed[1:]]
    warp = proxy_warp(source, targets, SIZE)
    body = (warp.parts >= 0).numpy()
    unseen = body & (warp.visibility[:, 0] < 0.5).numpy()
    assert unseen.sum() > 100
    got = np.stack([r.image for r in mixed[1:]]).astype(np.float32)
    own = np.stack([r.image for r in nets[1:]]).astype(np.float32)
    shade_b = shading(source, targets, SIZE, RENDER_LIGHT)
    # every pixel of the proxy's body: ``share`` of the input's albedo texture, re-lit as the target view's light
    # shades it (the body rendered from the texture; where the input saw it, the texture of the input's pixels the
    # proxy covers wholly); off the body, the networks'
    camera = source.proxy_camera(*SIZE)
    texture = albedo_texture(view.image, source.joints3d, camera, RENDER_LIGHT, completion=net)
    seen_texture = albedo_texture(view.image, source.joints3d, camera, RENDER_LIGHT, completion=net, whole_pixels=True)
    if learned:  # the network's texture, not the fill's
        assert not torch.equal(texture.colour, albedo_texture(view.image, source.joints3d, camera, RENDER_LIGHT).colour)
    uv = warp.surface[:, 2:].permute(0, 2, 3, 1)
    painted = np.where(unseen[..., None], render(texture, warp.parts, uv)[0].numpy(),
                       render(seen_texture, warp.parts, uv)[0].numpy())  # fmt: skip
    relit = np.clip(painted * shade_b.numpy()[..., None], 0, 255)
    seen_body = body & ~unseen  # where the two textures differ, the picture takes the one of whole pixels
    assert (render(texture, warp.parts, uv)[0].numpy() != painted)[seen_body].any()
    want = np.where(body[..., None], own + share * (relit - own), own)
    # then what the input saw squarely: its own colour re-lit (relight_seen)
    shade_a = shading_maps(source.joints3d[None], [camera], RENDER_LIGHT)[0]
    facing_a = torch.from_numpy(view_surface(source.joints3d, camera).facing)
    maps = [m[None, None].expand(2, 1, *SIZE) for m in (shade_a, facing_a)]
    image = torch.from_numpy(view.image).float().permute(2, 0, 1)[None].expand(2, -1, -1, -1)
    seen = relight_seen(torch.from_numpy(want).permute(0, 3, 1, 2), image, warp.flow, warp.visibility, *maps,
                        shade_b[:, None]).permute(0, 2, 3, 1).clamp(0, 255).numpy()  # fmt: skip
    square = (seen != want).any(-1)
    assert square[0].sum() > 15 and not square[1].any()  # at 40° the front was seen squarely; at 180° nothing
    assert np.abs(got - seen).max() <= 0.5 + 1e-3  # rounded to uint8
    np.testing.assert_array_equal(got[~body], own[~body])
    # a light fixed to the world (a photo) leaves the texture's colours unshaded, completed by the fill alone (the
    # network learned the embedded people's albedo)
    world = s.synthesize_many(view.image, view.joints3d, yaws, camera=view.camera, light=None)
    assert not np.array_equal(world[2].image, mixed[2].image)
    # … and, unshaded, paints only what the input did not see: the pixels it saw stay the networks'
    np.testing.assert_array_equal(np.stack([r.image for r in world[1:]])[~unseen], own[~unseen])
    fill = NovelViewSynthesizer(g1, None, device="cpu", soft_outline=False)
    fill_world = fill.synthesize_many(view.image, view.joints3d, yaws, camera=view.camera, light=None)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(world, fill_world, strict=True))
    # PG2's own G1 reads no body proxy: its unseen side is the networks', and a blend is refused
    pg2 = NovelViewSynthesizer(G1(G1Config(*SIZE, base_channels=4)), None, device="cpu")
    assert not pg2.needs_proxy
    plain = pg2.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera)
    np.testing.assert_array_equal(
        plain.image, pg2.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera, unseen="networks").image
    )
    with pytest.raises(ValueError, match="blend"):
        pg2.synthesize(view.image, view.joints3d, yaw=90.0, camera=view.camera, unseen="blend")


def test_under_the_blend_a_draw_adds_to_the_texture_what_it_adds_to_the_prior_s_mean():
    """The texture paints over the networks' prior mean; a conditional-VAE draw keeps its own variation there: on the
    body pixels the input did not see, a sample is the blended mean plus (the networks' draw − their mean); elsewhere
    it is the blended mean, and at temperature 0 it is the mean."""
    torch.manual_seed(0)
    view = Scene.held_out(0, SIZE).input_view
    g1 = G1(G1Config(*SIZE, base_channels=4, z_dim=8, warp="paste", latent_channels=3))
    for p in g1.parameters():  # an untrained latent path starts near 0: make the draws differ visibly
        p.data.add_(0.05 * torch.randn_like(p))
    s = NovelViewSynthesizer(g1, None, device="cpu", soft_outline=False)
    kw = dict(yaw=180.0, camera=view.camera)
    mean = s.synthesize(view.image, view.joints3d, **kw)
    draws = s.synthesize(view.image, view.joints3d, samples=2, seed=3, **kw)
    nets_mean = s.synthesize(view.image, view.joints3d, unseen="networks", **kw)
    nets = s.synthesize(view.image, view.joints3d, samples=2, seed=3, unseen="networks", **kw)
    unseen = mean.body & ~mean.seen
    assert unseen.sum() > 100
    for draw, net in zip(draws, nets, strict=True):
        want = np.clip(mean.image.astype(int) + net.image.astype(int) - nets_mean.image.astype(int), 0, 255)
        np.testing.assert_array_equal(draw.image[unseen], want[unseen])
        np.testing.assert_array_equal(draw.image[~unseen], mean.image[~unseen])
    assert (draws[0].image != draws[1].image).any(-1)[unseen].sum() > 20  # two different backs
    cold = s.synthesize(view.image, view.joints3d, samples=1, seed=3, temperature=0.0, **kw)[0]
    np.testing.assert_array_equal(cold.image, mean.image)
