"""The end-to-end object: one image of a person + their keypoints + a viewpoint change → the novel view.

    synth = NovelViewSynthesizer.from_checkpoint()  # the shipped demo weights (or a checkpoint / run dir)
    result = synth.synthesize(image, joints3d, camera=camera, yaw=90)      # 3D keypoints + their camera
    result = synth.synthesize(image, keypoints2d, visible=visible, yaw=90)  # 2D keypoints: lifted first
    result = synth.synthesize_photo(photo, yaw=90)                          # any photo: MediaPipe pose, crop
    result.image                                                            # (H, W, 3) uint8

Bad input is a ``ValueError`` naming the problem, never an empty pose (``checks``). One call checks each
argument once and lifts 2D keypoints once, whatever the number of yaws. Stage I (``stage1``: rotate the 3D pose
about the body axis, project, pose maps, body proxy) runs in numpy before any network; Stage II and III are
batched forward passes of G1 and (if present) G2, ``batch`` views at a time. ``synthesize_many`` does several
viewpoints in one call — what the turntable and the widget use; what depends on the input alone is kept across
calls (``stage1.InputMemo``), so a slider's next view of the same input starts from Stage I's targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from posegen_lite.device import pick_device
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.photo import MediaPipeEstimator
from posegen_lite.geometry.shading import RENDER_LIGHT, Light
from posegen_lite.geometry.warp import OUTLINE_RING, ProxyMaps, fill_uncovered
from posegen_lite.images import ensure_rgb, to_tensor, to_uint8
from posegen_lite.models.g1 import G1
from posegen_lite.models.g2 import G2, keep_pasted
from posegen_lite.models.inputs import Maps, chunks, g1_inputs, g2_inputs, maps_rows
from posegen_lite.models.texture_completion import FILL_SHARE, TEXTURE_SHARE, TextureCompletionNet, load_completion
from posegen_lite.pipelines.checks import (
    MIN_JOINTS,
    TooFewJointsError,
    check_angle,
    check_joint_count,
    check_pitch,
    check_samples,
    check_silhouette,
    check_yaws,
)
from posegen_lite.pipelines.compositing import on_input_background, soften_views
from posegen_lite.pipelines.photo_views import PhotoViews
from posegen_lite.pipelines.poses import PoseMethods
from posegen_lite.pipelines.result import SynthesisResult
from posegen_lite.pipelines.stage1 import (
    LIFTERS,
    InputMemo,
    fit_widths,
    input_key,
    is_input_view,
    outline,
    pose_inputs,
    proxy_warp,
    seen_source,
    shading,
    target_proxy,
    turn,
)
from posegen_lite.pipelines.unseen import blend_views, check_unseen, lit_input, unseen_painter, with_draw
from posegen_lite.resources import completion_weights, demo_weights

DEMO_WEIGHTS = demo_weights()
COMPLETION_WEIGHTS = completion_weights()

__all__ = ["COMPLETION_WEIGHTS", "DEMO_WEIGHTS", "NovelViewSynthesizer", "SynthesisResult", "TooFewJointsError"]


Net = TypeVar("Net", bound=torch.nn.Module)


def _placed(net: Net, device: torch.device, memory_format: torch.memory_format) -> Net:
    """``net`` on ``device``, its weights in ``memory_format``, in eval mode."""
    return net.to(device).to(memory_format=memory_format).eval()  # type: ignore[call-overload]  # stubs lack it


class NovelViewSynthesizer(PoseMethods, PhotoViews):
    """G1 (+ G2) and Stage I geometry behind one call. Images must be the networks' size ``(H, W)``; the pose
    methods (``source_pose``, ``target_pose``, ``target_pose_2d``, ``proxy_flow``) come from ``poses.PoseMethods``,
    the photo methods (``synthesize_photo``, ``prepare_photo``, ``photo_views``) from ``photo_views.PhotoViews``."""

    def __init__(
        self,
        g1: G1,
        g2: G2 | None = None,
        device: str | torch.device = "auto",
        pose_kind: str = "disc",
        lifter: str = "mlp",
        min_joints: int = MIN_JOINTS,
        fill_uncovered: bool = True,
        outline_ring: int = OUTLINE_RING,
        batch: int = 8,
        soft_outline: bool = True,
        completion: TextureCompletionNet | None = None,
    ) -> None:
        self.device = pick_device(device) if isinstance(device, str) else device
        # On a CPU the networks run channels_last (weights and inputs: oneDNN's convolutions on 16–64 channels are
        # faster with channels innermost; the 73-view turntable ~17 % faster, benchmarks/README.md). The same
        # weights: outputs move by a rounding (1 level in 0.002 % of a turntable's pixels). Not measured on a GPU.
        cpu = self.device.type == "cpu"
        self.memory_format = torch.channels_last if cpu else torch.contiguous_format
        self.g1 = _placed(g1, self.device, self.memory_format)
        self.g2 = None if g2 is None else _placed(g2, self.device, self.memory_format)
        self.height, self.width = g1.config.height, g1.config.width
        self.pose_kind = pose_kind
        if lifter not in LIFTERS:
            raise ValueError(f"lifter must be 'mlp' or 'closed_form', got {lifter!r}")
        self.lifter = lifter
        if min_joints < 0:
            raise ValueError(f"min_joints must be ≥ 0, got {min_joints}")
        self.min_joints = min_joints  # a target pose with fewer joints in the image raises TooFewJointsError
        # Background the input's body covered and the target shows (warp.uncovered_background) is filled from the
        # background around it rather than taken from the networks, which paint faint copies of the input's limbs
        # there. Only where Stage I builds the body proxy anyway (``needs_proxy``). With it, the background within
        # ``outline_ring`` pixels of the target's proxy silhouette is refilled too: the networks' halo round the
        # body (warp.fill_uncovered; 0 turns that part off), and the filled outline is antialiased from the proxy's
        # sub-pixel coverage, as a camera mixes body and background where the outline crosses a pixel (outline.py;
        # ``soft_outline=False``: the hard edge of the proxy's silhouette).
        self.fill_uncovered = fill_uncovered
        self.soft_outline = soft_outline
        if outline_ring < 0:
            raise ValueError(f"outline_ring must be ≥ 0, got {outline_ring}")
        self.outline_ring = outline_ring
        if batch < 1:
            raise ValueError(f"batch must be ≥ 1, got {batch}")
        # Views per forward pass. On 2 CPU cores 73 views took 2.8–3.0 s in batches of 8 and 5.4–11.8 s in one
        # batch of 73, whose activations no longer fit the caches (benchmarks/notes/2026-12-app-speed.md).
        self.batch = batch
        # The unseen-side blend's texture: the hand-made fill, corrected by this network when given (the shipped
        # one: ``from_checkpoint``), and the texture's share in the blend that was best with each on `val`.
        self.completion = None if completion is None else completion.to("cpu").eval()
        self.texture_share = FILL_SHARE if completion is None else TEXTURE_SHARE
        self.memo = InputMemo()  # the input's Stage I work, kept across calls (a slider's moves)
        self._photo_estimator: MediaPipeEstimator | None = None  # built on the first photo, freed by close()

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path = DEMO_WEIGHTS,
        device: str | torch.device = "auto",
        completion: str | Path | None = COMPLETION_WEIGHTS,
        **kw,
    ) -> NovelViewSynthesizer:
        """Load G1 (and G2 if the checkpoint is from Stage III) from a checkpoint file or run dir, and the texture
        completion network from ``completion`` (the shipped one; ``None``: the hand-made fill alone)."""
        from posegen_lite.models.weights import load_models

        dev = pick_device(device) if isinstance(device, str) else device
        models = load_models(path, device=dev)
        g1, g2 = models["g1"], models.get("g2")
        assert isinstance(g1, G1) and (g2 is None or isinstance(g2, G2))  # what load_models builds
        net = None if completion is None else load_completion(completion)
        return cls(g1, g2, device=dev, completion=net, **kw)

    @property
    def warps(self) -> bool:
        """Whether G1 warps the input with the 3D body proxy (``G1Config.warp``): then it needs 3D poses."""
        return self.g1.config.warp != "none"

    @property
    def needs_proxy(self) -> bool:
        """Whether Stage I must build the body proxy (``proxy_flow``): G1 warps with it, or G2 keeps its edits
        inside its silhouette (``G2Config.silhouette_difference``), reads the warped input (``warped_input``) or
        edits only what the input saw (``visible_difference``), or G1's latent works in its texture space."""
        g2_needs = self.g2 is not None and self.g2.config.uses_proxy
        return self.warps or g2_needs or self.g1.config.latent_surface

    # --- Stage II + III -----------------------------------------------------------------------------------
    def _image_tensor(self, image: np.ndarray) -> torch.Tensor:
        img = ensure_rgb(image, convert=True)
        if img.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"image is {img.shape[0]}×{img.shape[1]}, the model expects {self.height}×{self.width}"
                " (resize it and its keypoints first, e.g. images.resize_image)"
            )
        return to_tensor(img)

    def generate(
        self,
        image: np.ndarray,
        keypoints: Sequence[np.ndarray],
        visible: Sequence[np.ndarray],
        warp: Maps = None,
        noise: torch.Tensor | None = None,
        outline_ring: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Pose-guided generation for target poses given as 2D keypoints (one batch):
        ``(coarse (N, H, W, 3) uint8, refined or None, pose maps (N, 18, H, W), masks (N, 1, H, W))``.
        ``warp``: the body proxy's ``ProxyMaps`` (``proxy_flow``) when ``needs_proxy`` (a dict of some of its
        fields is enough for a model that needs no more: ``{"flow", "visibility"}`` for a G1 that only warps);
        ``noise``: latent draws ``G1.latent_shape(N)`` for a conditional-VAE G1 (``None``: the prior's mean).
        With full ``ProxyMaps`` and ``fill_uncovered``, the background the input's body covered, and the
        background within ``outline_ring`` pixels of the target's proxy silhouette, are filled from the background
        around them in both outputs (``warp.fill_uncovered``); ``outline_ring`` here overrides the synthesizer's for
        this call (the crowd path mattes each person itself and passes 0). The outline is left hard here:
        ``synthesize`` antialiases it (``soft_outline``), from the target poses in 3D that it knows."""
        image_a = self._image_tensor(image)
        maps, masks = pose_inputs(list(keypoints), list(visible), self.size, self.pose_kind)  # Stage I
        coarse, refined = self.networks(image_a, maps, masks, warp, noise, outline_ring)
        return coarse, refined, maps, masks

    @torch.no_grad()
    def networks(
        self,
        image: torch.Tensor,
        maps: np.ndarray,
        masks: np.ndarray,
        warp: Maps = None,
        noise: torch.Tensor | None = None,
        outline_ring: int | None = None,
        source: list[torch.Tensor] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Stage II + III for Stage I's outputs: G1 (and G2) on the input ``image`` ``(3, H, W)`` in [-1, 1] for
        each of ``N`` target ``maps`` ``(N, 18, H, W)`` with body ``masks`` ``(N, 1, H, W)``:
        ``(coarse (N, H, W, 3) uint8, refined or None)``; ``warp``, ``noise``, ``outline_ring`` as ``generate``;
        ``source``: G1's features of ``image`` when known (``source_features``). Runs ``batch`` views at a time."""
        parts = [self._networks(image, maps[s], masks[s], maps_rows(warp, s), None if noise is None else noise[s],
                                outline_ring, source) for s in chunks(len(maps), self.batch)]  # fmt: skip
        coarse = np.concatenate([c for c, _ in parts])
        return coarse, None if self.g2 is None else np.concatenate([r for _, r in parts])

    def _networks(
        self,
        image: torch.Tensor,
        maps: np.ndarray,
        masks: np.ndarray,
        warp: Maps,
        noise: torch.Tensor | None,
        outline_ring: int | None,
        source: list[torch.Tensor] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``networks`` for one forward pass."""
        fmt = self._fmt
        image_a = fmt(image.to(self.device).unsqueeze(0)).expand(len(maps), -1, -1, -1)  # G1 encodes it once
        pose_b = fmt(torch.from_numpy(maps).to(self.device))
        extras = {k: fmt(v) for k, v in g1_inputs(self.g1.config, warp, self.device).items()}  # the proxy's maps
        g2_extras = (
            {} if self.g2 is None else {k: fmt(v) for k, v in g2_inputs(self.g2.config, warp, self.device).items()}
        )
        if noise is not None:
            extras["noise"] = noise.to(self.device)
        uncovered = self._uncovered(warp)
        ring = self.outline_ring if outline_ring is None else outline_ring
        if ring < 0:
            raise ValueError(f"outline_ring must be ≥ 0, got {ring}")
        out, paste = self.g1.coarse_and_paste(image_a, pose_b, **extras, source=source)
        coarse = self._fill(out.float(), uncovered, ring)
        mask_b = fmt(torch.from_numpy(masks).to(self.device))
        refined = None
        if self.g2 is not None:  # G2 refines what G1 generated; what G1 pasted stays (``keep_pasted``)
            view = keep_pasted(coarse, self.g2(image_a, coarse, mask_b, **g2_extras).float(), paste)
            refined = self._fill(view, uncovered, ring)
        return to_uint8(coarse), None if refined is None else to_uint8(refined)

    @torch.no_grad()
    def source_features(self, image: torch.Tensor) -> list[torch.Tensor] | None:
        """G1's features of the input ``image`` ``(3, H, W)`` in [-1, 1] alone (``G1.source_features``; None for a G1
        that does not warp): the same for every view of it, so a slider's moves compute them once."""
        return self.g1.source_features(self._fmt(image.to(self.device)[None])) if self.warps else None

    def _features(self, key: bytes, image: torch.Tensor) -> list[torch.Tensor] | None:
        """``source_features`` of the input ``key``, kept while G1's weights stay as they are. The memo's key names
        each weight tensor and its version, which counts its in-place changes (``load_state_dict``, an optimizer's
        step); the tensors are kept beside the features, so no other tensor can take their ids while it holds them."""
        if self.g1.source_encoder is None:
            return None
        params = list(self.g1.source_encoder.parameters())
        weights = hash(tuple((id(p), p._version) for p in params))
        return self.memo.get(f"features {weights}", key, lambda: (params, self.source_features(image)))[1]

    def _fmt(self, t: torch.Tensor) -> torch.Tensor:
        return t.contiguous(memory_format=self.memory_format) if t.dim() == 4 else t

    def _uncovered(self, warp: Maps) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(the input's, the target's proxy silhouette) of full ``ProxyMaps`` when ``fill_uncovered``, else None."""
        if not self.fill_uncovered or not isinstance(warp, ProxyMaps):
            return None
        return warp.source_silhouette.to(self.device), warp.silhouette.to(self.device)

    @staticmethod
    def _fill(images: torch.Tensor, silhouettes: tuple[torch.Tensor, torch.Tensor] | None, ring: int) -> torch.Tensor:
        """``images`` with the background the input covered, and the ``ring`` round the body, filled from the
        background around them."""
        return images if silhouettes is None else fill_uncovered(images, *silhouettes, ring=ring)

    # --- one call: Stage I, then Stage II + III ----------------------------------------------------------------
    def synthesize_many(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaws: Sequence[float],
        pitch: float = 0.0,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
        min_joints: int | None = None,
        noise: torch.Tensor | None = None,
        silhouette: np.ndarray | None = None,
        unseen: str | None = None,
        light: Light | None = RENDER_LIGHT,
    ) -> list[SynthesisResult]:
        """Novel views of the person in ``image`` for each of ``yaws`` (degrees, body rotation; camera.py).

        ``keypoints``: ``(18, 3)`` 3D joints in metres in the world frame of ``camera`` (required then), or
        ``(18, 2)`` 2D keypoints in pixels of ``image`` (+ ``visible``), lifted to 3D first (or given their 3D
        joints as ``lifted``). ``pitch`` within ±90°. Raises ``TooFewJointsError`` when a target pose has
        fewer than ``min_joints`` (default: the synthesizer's, 4) joints inside the image. ``noise``: one latent
        draw per yaw for a conditional-VAE G1 (``latent_noise``; default: the prior's mean). At the input's own
        view (yaw a whole number of turns, pitch 0) the coarse, refined and final images are the input itself;
        ``generate`` shows the networks' own answer for any target pose. ``silhouette``: where the person is in
        ``image``, ``(H, W)`` bool or [0, 1] (a photo's segmentation, a render's exact mask); given it, the body
        proxy's parts are first widened to it (``stage1.fit_widths``), and each view keeps the networks' pixels
        only on its target body and shows the input's own background around it, sharp, filled only where the
        person stood (``compositing.over_input_background``). ``unseen`` (with a silhouette) paints what the input did
        not see instead of the networks' guess: ``"texture"`` from the input unwrapped onto the proxy and completed
        (``unseen.person_texture``; the photo path's default), ``"part_colours"`` one colour per part — since the
        networks learned the unseen side of synthetic people only (docs/photos.md); ``"blend"`` (the default where
        G1 uses the body proxy, else ``"networks"``) paints the body from the input's texture, completed in albedo
        and re-lit in each view by ``light`` (a light fixed to the camera: the embedded people's, by default; then
        G2's edits are painted over), and re-lights what it saw squarely; with ``light=None`` (a light fixed to the
        world, as in a photo) it mixes the unshaded texture with the networks' guess where the input did not see the
        body (``unseen.blend_views``, docs/unseen-side.md).
        """
        yaws, pitch = check_yaws(yaws), check_pitch(pitch)
        args = (image, keypoints, yaws, pitch, camera, visible, lifted, min_joints, noise, silhouette, unseen, light)
        return self._synthesize(*args)

    def _synthesize(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaws: list[float],
        pitch: float,
        camera: Camera | None,
        visible: np.ndarray | None,
        lifted: np.ndarray | None,
        min_joints: int | None,
        noise: torch.Tensor | None,
        silhouette: np.ndarray | None = None,
        unseen: str | None = None,
        light: Light | None = RENDER_LIGHT,
    ) -> list[SynthesisResult]:
        """``synthesize_many`` for checked ``yaws`` and ``pitch``: every other argument is checked here, once."""
        image_a = self._image_tensor(image)
        person = None if silhouette is None else check_silhouette(silhouette, self.height, self.width)
        unseen = unseen or ("blend" if self.needs_proxy else "networks")
        check_unseen(unseen, person is not None and self.needs_proxy, self.needs_proxy)
        # Stage I: the input pose in 3D (2D keypoints lifted once for all yaws), the target poses, their pose
        # maps and body masks, and the body proxy's maps — everything the networks read.
        key = input_key(image, keypoints, camera, visible, lifted, person, self.lifter, self.size)
        source = self.memo.get("source", key, lambda: self.source_pose(keypoints, camera, visible, lifted))
        poses = [turn(source, y, pitch, self.size) for y in yaws]
        need = self.min_joints if min_joints is None else min_joints
        check_joint_count([p[1] for p in poses], yaws, pitch, need, self.size)
        maps, masks = pose_inputs([p[0] for p in poses], [p[1] for p in poses], self.size, self.pose_kind)
        widths = None
        if person is not None and self.needs_proxy:
            mask = person  # narrowed for the lambda
            widths = self.memo.get("widths", key, lambda: fit_widths(source, self.size, mask))
        targets, warp, proxy = [p[2] for p in poses], None, None
        if self.needs_proxy:  # the input's proxy seen by its camera once per input, the targets' once per call
            seen = self.memo.get("source view", key, lambda: seen_source(source, self.size, widths))
            proxy = target_proxy(targets, widths)
            warp = proxy_warp(source, targets, self.size, widths, seen, proxy)
        # Stage II + III: the yaws in batches of ``batch`` views, from G1's features of the input (once per input)
        features = self._features(key, image_a)
        coarse, refined = self.networks(image_a, maps, masks, warp, noise, source=features)
        if unseen == "blend" and isinstance(warp, ProxyMaps):  # the texture once per input, re-lit per view
            net = None if light is None else self.completion  # it learned the embedded people's albedo, not a photo's
            share = FILL_SHARE if net is None else self.texture_share
            lit = lambda: lit_input(image, source, self.size, widths, light, person, net)  # noqa: E731
            inp, cpu = self.memo.get(f"lit {light}", key, lit), warp.to("cpu")
            shade = None if light is None else shading(source, targets, self.size, light, widths, cpu, proxy)
            # the texture paints over the prior's mean; a draw keeps what it adds to it (unseen.with_draw)
            mean = (None, None) if noise is None else self.networks(image_a, maps, masks, warp, None, source=features)

            def blended(views: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
                if prior is None:
                    return blend_views(views, cpu, inp, shade, share)
                return with_draw(blend_views(prior, cpu, inp, shade, share), views, prior, cpu)

            coarse = blended(coarse, mean[0])
            refined = None if refined is None else blended(refined, mean[1])
        if person is not None:
            paint = lambda: unseen_painter(unseen, image, person, source, self.size, widths)  # noqa: E731
            colours = None if unseen in ("networks", "blend") else self.memo.get(f"unseen {unseen}", key, paint)
            coarse = on_input_background(coarse, image, person, warp, masks, colours)
            if refined is not None:
                refined = on_input_background(refined, image, person, warp, masks, colours)
        if isinstance(warp, ProxyMaps) and self.fill_uncovered and self.soft_outline:  # antialiased (outline.py)
            cover, on = outline(source, targets, self.size, widths, proxy), warp.silhouette
            coarse = soften_views(coarse, on, cover)
            refined = None if refined is None else soften_views(refined, on, cover)
        # The input's own view was observed: every stage returns the input there, bit for bit (a photo's
        # background included), never a network's reconstruction of it.
        same = [i for i, y in enumerate(yaws) if is_input_view(y, pitch)]
        if same:
            observed = ensure_rgb(image, convert=True)
            coarse[same] = observed
            if refined is not None:
                refined[same] = observed
        out = []
        if isinstance(warp, ProxyMaps):  # once for the batch: ``silhouette`` is computed on every access
            body, seen = warp.silhouette[:, 0].cpu().numpy() > 0.5, warp.visibility[:, 0].cpu().numpy() > 0.5
        for i, (xy, vis, rotated) in enumerate(poses):
            ref = None if refined is None else refined[i]
            image_i = coarse[i] if ref is None else ref
            out.append(SynthesisResult(image_i, coarse[i], ref, xy, vis, rotated, maps[i], masks[i], yaws[i], pitch))
            if isinstance(warp, ProxyMaps):
                out[-1].body, out[-1].seen = body[i], seen[i]
        return out

    def synthesize(
        self,
        image: np.ndarray,
        keypoints: np.ndarray,
        yaw: float = 0.0,
        pitch: float = 0.0,
        camera: Camera | None = None,
        visible: np.ndarray | None = None,
        lifted: np.ndarray | None = None,
        min_joints: int | None = None,
        samples: int | None = None,
        seed: int = 0,
        temperature: float = 1.0,
        silhouette: np.ndarray | None = None,
        unseen: str | None = None,
        light: Light | None = RENDER_LIGHT,
    ) -> SynthesisResult | list[SynthesisResult]:
        """One novel view; see ``synthesize_many``.

        ``samples=k`` (a G1 trained as a conditional VAE, ``posegen train --g1.latent-channels K``): a list of
        ``k`` views whose unseen parts are drawn from the learned prior, reproducible for ``seed``; ``temperature``
        scales the prior's spread (0: every sample is the prior's mean). ``samples=None``: one view, the
        prior's mean — the deterministic answer.
        """
        yaw = check_angle(yaw, "yaw")  # checked as one angle: a yaw of "90" must not become the list ["9", "0"]
        noise = None if samples is None else self.latent_noise(samples, seed, temperature)
        pitch = check_pitch(pitch)
        yaws = [yaw] * (samples or 1)
        many = self._synthesize(
            image, keypoints, yaws, pitch, camera, visible, lifted, min_joints, noise, silhouette, unseen, light
        )
        return many[0] if samples is None else many

    @property
    def samples(self) -> bool:
        """Whether G1 can draw several answers (a conditional VAE, ``G1Config.latent_channels > 0``)."""
        return self.g1.config.latent_channels > 0

    def latent_noise(self, samples: int, seed: int = 0, temperature: float = 1.0) -> torch.Tensor:
        """``samples`` standard-normal latent draws ``G1.latent_shape(samples)`` × ``temperature``, from a CPU
        generator seeded with ``seed`` (the same on every machine and device)."""
        if not self.samples:
            raise ValueError(
                "this G1 is deterministic: samples need a G1 trained as a conditional VAE "
                "(posegen train --g1.latent-channels K)"
            )
        check_samples(samples, temperature)
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(self.g1.latent_shape(samples), generator=gen) * temperature
