"""Novel views of a scene with several people, built from the single-person models.

    crowd = CrowdSynthesizer(NovelViewSynthesizer.from_checkpoint())
    result = crowd.synthesize(image, joints, camera, yaw=60)    # per-person 3D joints + the scene camera
    results = crowd.synthesize_2d(image, keypoints, visible, yaws=[60])  # per-person 2D keypoints, lifted
    result.image                                                # (H, W, 3) uint8, the turned scene

2D keypoints can come as PG2 annotation rows, one per person (``keypoints_from_pg2_rows``).

A person whose target window misses the image or whose joints all leave it is dropped with a note in
``CrowdResult.notes``. An empty scene, a person with no visible joint in the input, or a bad yaw or pitch (as
``NovelViewSynthesizer`` refuses them, ``checks``) is a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from posegen_lite.data.synthetic.framing import FOV_Y, MARGIN
from posegen_lite.geometry.camera import Camera, intrinsics
from posegen_lite.geometry.people import find_people_tiled
from posegen_lite.geometry.photo import NoPersonFoundError, PhotoPose, PoseEstimator
from posegen_lite.geometry.ray_cameras import fit_orthographic
from posegen_lite.geometry.scene import (
    PersonTarget,
    Window,
    back_to_front,
    check_joints,
    crop,
    person_window,
    scene_targets,
)
from posegen_lite.geometry.shading import RENDER_LIGHT, Light, shading_maps
from posegen_lite.geometry.skeleton import check_keypoints, hip_centre
from posegen_lite.geometry.warp import ProxyMaps, source_maps
from posegen_lite.images import ensure_rgb, resize_image
from posegen_lite.pipelines.checks import check_angle, check_pitch, check_span, check_yaws
from posegen_lite.pipelines.compositing import (
    inpaint_background,
    paste,
    people_masks,
    plain_background,
    resize_float,
    soft_matte,
)
from posegen_lite.pipelines.photo import photo_people
from posegen_lite.pipelines.stage1 import input_key, is_input_view, lift_keypoints
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, SynthesisResult
from posegen_lite.pipelines.unseen import blend_views, lit_view

BACKGROUNDS = ("plain", "inpaint")


@dataclass
class CrowdPerson:
    """One person's share of a synthesized view (scene pixels unless said otherwise).

    Attributes:
        index: the person's index in the input lists.
        window: the target ``Window`` the synthesized crop is pasted into.
        keypoints: ``(18, 2)`` target keypoints in the scene image (NaN outside); visible: ``(18,)`` bool.
        depth: camera z of the target hip centre (metres). input_crop: ``(h, w, 3)`` uint8 model-size input.
        synthesis: the single-person ``SynthesisResult`` in the crop (its keypoints are crop pixels).
        alpha: ``(H, W)`` float32 in [0, 1], the person's matte in the scene.
    """

    index: int
    window: Window
    keypoints: np.ndarray
    visible: np.ndarray
    depth: float
    input_crop: np.ndarray
    synthesis: SynthesisResult
    alpha: np.ndarray


@dataclass
class CrowdResult:
    """One novel view of a scene. ``people[k]`` is None for a dropped person (see ``notes``); ``order`` is the
    paste order (back to front) of the people that were kept."""

    image: np.ndarray
    background: np.ndarray
    people: list[CrowdPerson | None]
    order: list[int]
    yaw: float
    pitch: float
    notes: list[str] = field(default_factory=list)

    def front_map(self, threshold: float = 0.5) -> np.ndarray:
        """``(H, W)`` int — the person in front at each pixel (the last pasted with alpha > ``threshold``), −1 none."""
        out = np.full(self.image.shape[:2], -1, np.int64)
        for k in self.order:
            person = self.people[k]
            if person is not None:  # ``order`` holds only the people kept
                out[person.alpha > threshold] = k
        return out


def _project_people(joints: Sequence[np.ndarray], camera: Camera) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xy, vis = zip(*(camera.project(j) for j in joints), strict=True)
    return list(xy), list(vis)


class CrowdSynthesizer:
    """Scene-level novel views with a single-person ``NovelViewSynthesizer``.

    The recipe, per viewpoint:

    1. Stage I for the scene (``geometry.scene``): turn the whole group about one vertical axis (group centre or
       a user pivot); every person gets a target pose, position and depth in the scene camera.
    2. Crop: around each person a *window* framed like the single-person data (the person as big and as centred
       as the model saw in training), in the input and in the target view. Pixels outside the image are padded
       with the background; the other people are painted over with the background outside this person's own body
       mask (the 2D keypoints say where everybody is), so the model sees one person as in training. Inside the
       person's mask, whoever stands in front stays (``hide_occluders=True`` paints them out too: measured worse).
    3. Synthesize each person's crop with ``NovelViewSynthesizer.generate`` (G1, + G2 when present) for the target
       keypoints in their target window; where G1 reads the body proxy and ``light`` moves with the camera (the
       embedded people's), the unseen side is painted as the synthesizer's default ``unseen="blend"`` paints it
       (``unseen.blend_views``: the crop's texture in albedo, completed once per crop, re-lit in each window).
    4. Composite back to front by target depth onto a background (``"plain"``: a per-row gradient fitted to the
       input's background pixels, or ``"inpaint"``: the input with the people filled in from their row
       neighbours), each person with a soft matte: the body mask of their target keypoints, feathered, where the
       synthesized pixels differ from the background.

    Args:
        synth: the single-person synthesizer (its G1/G2 size is the crop size).
        background: ``"plain"`` or ``"inpaint"`` (step 4 above).
        fov_y_deg, margin: the single-person data's framing (``data.synthetic.framing``) the crops reproduce.
        feather: Gaussian sigma (model pixels) of the matte's edge.
        hide_occluders: also paint out the people in front of a person *where they overlap the person's own
            body mask* (their clothes are then never copied onto the person, but the model turns the holes into
            faint ghosts: on 20 held-out scenes the per-person L1 rose from 0.098 to 0.113, see
            benchmarks/README.md), so it is off by default.
        light: how the scene is lit (step 3): ``RENDER_LIGHT``, fixed to the camera, as the embedded people are;
            ``None`` for a photo, whose light stays in its world: each person's unseen side is then the networks'.
    """

    def __init__(
        self,
        synth: NovelViewSynthesizer,
        background: str = "plain",
        fov_y_deg: float = FOV_Y,
        margin: float = MARGIN,
        feather: float = 1.0,
        hide_occluders: bool = False,
        light: Light | None = RENDER_LIGHT,
    ) -> None:
        if background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
        self.synth, self.background = synth, background
        self.fov_y_deg, self.margin, self.feather = fov_y_deg, margin, feather
        self.hide_occluders = hide_occluders
        self.light = light
        self.model_size = (synth.height, synth.width)

    # --- inputs -----------------------------------------------------------------------------------------------
    def _check(self, image: np.ndarray, joints: Sequence[np.ndarray], camera: Camera) -> tuple[np.ndarray, list]:
        img = ensure_rgb(image, convert=True)
        if len(joints) == 0:
            raise ValueError("the scene has no people: pass at least one person's joints")
        if (camera.height, camera.width) != img.shape[:2]:
            raise ValueError(f"camera sees {camera.height}×{camera.width} images, the image is {img.shape[:2]}")
        people = [check_joints(j, f"person {k}") for k, j in enumerate(joints)]
        for k, j in enumerate(people):
            if not camera.project(j)[1].any():
                raise ValueError(
                    f"person {k} has no visible joint in the input image (all behind the camera or outside "
                    "the frame): there is nothing to synthesize them from"
                )
        return img, people

    def background_of(self, image: np.ndarray, keypoints, visible) -> tuple[np.ndarray, np.ndarray]:
        """``(background (H, W, 3) uint8, people masks (N, H, W) bool)`` of the input image."""
        H, W, _ = image.shape
        masks = people_masks(keypoints, visible, H, W, grow=max(1, H // 64))
        union = masks.any(axis=0)
        fill = plain_background(image, union) if self.background == "plain" else inpaint_background(image, union)
        return fill, masks

    def input_crops(self, image: np.ndarray, joints: Sequence[np.ndarray], camera: Camera):
        """Each person's model-size input crop, with the people in front of them painted over by the background:
        ``(crops, background, input windows)``."""
        kps, vis = _project_people(joints, camera)
        fill, masks = self.background_of(image, kps, vis)
        depths = [float(camera.to_camera(hip_centre(j)[None])[0, 2]) for j in joints]
        crops, windows = [], []
        for k, j in enumerate(joints):
            win = person_window(j, camera, self.model_size, self.fov_y_deg, self.margin)
            if win is None:  # unreachable after _check: a visible joint means the person is in front
                raise ValueError(f"person {k} is behind the camera")
            others = [i for i in range(len(joints)) if i != k]
            clean = image
            if others:
                # The model saw one person per image: paint the others over with the background outside this
                # person's own mask (inside it, with hide_occluders, the nearer people's pixels too).
                nearer = masks[[i for i in others if depths[i] < depths[k]]].any(axis=0)
                if not self.hide_occluders:
                    nearer &= ~masks[k]
                behind = masks[[i for i in others if depths[i] >= depths[k]]].any(axis=0) & ~masks[k]
                clean = np.where((nearer | behind)[..., None], fill, image)
            crops.append(crop(clean, win, fill, self.model_size))
            windows.append(win)
        return crops, fill, windows

    # --- synthesis ----------------------------------------------------------------------------------------------
    def _warp(self, joints: np.ndarray, window, camera: Camera, targets: list) -> ProxyMaps:
        """``NovelViewSynthesizer.generate``'s ``warp``: the body proxy's maps from the person's input window to
        each of their target windows (the scene's camera cropped to each window, as the crops are)."""
        mh, mw = self.model_size
        crop = window.crop_camera(camera, mh, mw)
        return source_maps(
            joints, crop, [t.joints3d for t in targets], [t.window.crop_camera(camera, mh, mw) for t in targets]
        )

    def _blend(self, image, joints, window, camera: Camera, targets: list, warp: ProxyMaps, coarse, refined):
        """A person's ``(coarse, refined)`` target crops with the unseen side painted from the input crop's texture
        re-lit in each target window, as ``NovelViewSynthesizer``'s ``unseen="blend"`` (kept per crop in its memo)."""
        mh, mw = self.model_size
        cam = window.crop_camera(camera, mh, mw)
        light = self.light
        assert light is not None  # only called under a light fixed to the camera
        lit = lambda: lit_view(image, joints, cam, None, light, completion=self.synth.completion)  # noqa: E731
        inp = self.synth.memo.get(f"crowd lit {light}", input_key(image, joints, cam), lit)
        seen = (warp.parts.cpu(), warp.surface[:, 2:].permute(0, 2, 3, 1).cpu())
        cams = [t.window.crop_camera(camera, mh, mw) for t in targets]
        shade = shading_maps(np.stack([t.joints3d for t in targets]), cams, light, seen=seen)
        cpu, share = warp.to("cpu"), self.synth.texture_share
        painted = [None if v is None else blend_views(v, cpu, inp, shade, share) for v in (coarse, refined)]
        return painted[0], painted[1]

    def synthesize_many(
        self,
        image: np.ndarray,
        joints: Sequence[np.ndarray],
        camera: Camera,
        yaws: Sequence[float],
        pitch: float = 0.0,
        pivot: np.ndarray | None = None,
    ) -> list[CrowdResult]:
        """Novel views of the scene in ``image`` (people's ``(18, 3)`` world joints, their ``camera``) for each
        of ``yaws`` (degrees, the scene turned about the vertical axis through ``pivot``, default the group
        centre). Each person is synthesized for all viewpoints in one batch. Yaws and pitch are checked as
        ``NovelViewSynthesizer`` checks them (``checks``): finite degrees, pitch within ±90°."""
        return self._synthesize(image, joints, camera, check_yaws(yaws), check_pitch(pitch), pivot)

    def _synthesize(
        self,
        image: np.ndarray,
        joints: Sequence[np.ndarray],
        camera: Camera,
        yaws: list[float],
        pitch: float,
        pivot: np.ndarray | None,
    ) -> list[CrowdResult]:
        """``synthesize_many`` for checked ``yaws`` and ``pitch``."""
        img, people = self._check(image, joints, camera)
        crops, fill, windows = self.input_crops(img, people, camera)
        H, W, _ = img.shape
        mh, mw = self.model_size
        targets = [
            scene_targets(people, camera, self.model_size, self.fov_y_deg, self.margin, y, pitch, pivot) for y in yaws
        ]
        # Per person: the viewpoints where they are in view, their target keypoints in their target windows.
        jobs: dict[int, list[tuple[int, np.ndarray, np.ndarray, PersonTarget]]] = {k: [] for k in range(len(people))}
        notes: list[list[str]] = [[] for _ in yaws]
        for v, tv in enumerate(targets):
            for k, t in enumerate(tv):
                if t.window is None or not t.window.inside(H, W) or not t.in_view:
                    notes[v].append(f"person {k} is outside the target view (yaw {yaws[v]:g}°): dropped")
                    continue
                xy, ok = t.window.crop_camera(camera, mh, mw).project(t.joints3d)
                if not ok.any():
                    notes[v].append(f"person {k} has no joint inside their target window (yaw {yaws[v]:g}°): dropped")
                    continue
                jobs[k].append((v, xy, ok, t))
        made: dict[tuple[int, int], SynthesisResult] = {}
        for k, job in jobs.items():
            if not job:
                continue
            warp = self._warp(people[k], windows[k], camera, [j[3] for j in job]) if self.synth.needs_proxy else None
            # outline_ring 0: each person is matted onto the scene below (soft_matte), which already decides
            # where they end; a filled ring would cut shoes and hair the proxy does not cover.
            coarse, refined, maps, masks = self.synth.generate(
                crops[k], [j[1] for j in job], [j[2] for j in job], warp, outline_ring=0
            )
            if isinstance(warp, ProxyMaps) and self.light is not None:
                coarse, refined = self._blend(crops[k], people[k], windows[k], camera, [j[3] for j in job], warp,
                                              coarse, refined)  # fmt: skip
            for i, (v, xy, ok, _) in enumerate(job):
                ref = None if refined is None else refined[i]
                made[(v, k)] = SynthesisResult(
                    image=coarse[i] if ref is None else ref,
                    coarse=coarse[i],
                    refined=ref,
                    keypoints=xy,
                    visible=ok,
                    joints3d=targets[v][k].joints3d,
                    pose_maps=maps[i],
                    mask=masks[i],
                    yaw=float(yaws[v]),
                    pitch=float(pitch),
                )
        return [
            self._composite(img, fill, crops, targets[v], made, v, yaws[v], pitch, notes[v]) for v in range(len(yaws))
        ]

    def _composite(self, img, fill, crops, targets, made, v, yaw, pitch, notes) -> CrowdResult:
        """Paste the people of view ``v`` back to front by target depth onto the background ``fill``; the scene's
        own view (``is_input_view``) is the input ``img`` itself, bit for bit."""
        H, W, _ = fill.shape
        canvas = fill.astype(np.float32)
        kept = [k for k in range(len(targets)) if (v, k) in made]
        order = [kept[i] for i in back_to_front([targets[k].depth for k in kept])]
        people: list[CrowdPerson | None] = [None] * len(targets)
        for k in order:
            t, res = targets[k], made[(v, k)]
            win = t.window
            bg_crop = crop(fill, win, fill, self.model_size)
            alpha = soft_matte(res.image, bg_crop, res.keypoints, res.visible, self.feather)
            patch = res.image
            if (win.height, win.width) != self.model_size:
                patch = resize_image(res.image, win.height, win.width)
                alpha = resize_float(alpha, win.height, win.width)
            scene_alpha = np.zeros((H, W), np.float32)
            paste(canvas, scene_alpha, patch.astype(np.float32), alpha, win)
            people[k] = CrowdPerson(k, win, t.keypoints, t.visible, t.depth, crops[k], res, scene_alpha)
        image = img.copy() if is_input_view(yaw, pitch) else np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
        return CrowdResult(image, fill, people, order, float(yaw), float(pitch), list(notes))

    def synthesize(
        self,
        image: np.ndarray,
        joints: Sequence[np.ndarray],
        camera: Camera,
        yaw: float = 0.0,
        pitch: float = 0.0,
        pivot: np.ndarray | None = None,
    ) -> CrowdResult:
        """One novel view of the scene; see ``synthesize_many``."""
        return self._synthesize(image, joints, camera, [check_angle(yaw, "yaw")], check_pitch(pitch), pivot)[0]

    # --- 2D input ---------------------------------------------------------------------------------------------
    def lift_scene(
        self, keypoints: Sequence[np.ndarray], visible: Sequence[np.ndarray | None], height: int, width: int
    ) -> tuple[list[np.ndarray], Camera]:
        """Per-person 2D keypoints ``(18, 2)`` (pixels of one ``height × width`` image, e.g. PG2 rows) → world
        joints and a camera, so the 3D path can turn the scene.

        Each person is lifted on their own (the synthesizer's lifter, camera-aligned), the scaled orthographic
        fit gives their image scale ``s`` (pixels per metre), and they are placed at depth ``f / s`` in front of
        a level pinhole camera with the single-person data's field of view — people of similar height, on
        roughly level ground, seen by a camera held level: the assumptions of one photo without calibration.
        """
        if len(keypoints) == 0:
            raise ValueError("the scene has no people: pass at least one person's keypoints")
        if len(visible) != len(keypoints):
            raise ValueError(f"{len(keypoints)} keypoint sets but {len(visible)} visibility arrays")
        K = intrinsics(width, height, self.fov_y_deg)
        f = K[1, 1]
        R = np.diag([1.0, -1.0, -1.0])  # a level camera at the origin looking along −z (azimuth 0, camera.py)
        camera = Camera(K, R, np.zeros(3), width, height)
        people = []
        for k, (kp, vis) in enumerate(zip(keypoints, visible, strict=True)):
            xy, ok = check_keypoints(kp, vis)
            if not ok.any():
                raise ValueError(f"person {k} has no visible keypoint: there is nothing to place or synthesize")
            check_span(xy, ok, who=f"person {k}'s")
            lifted = lift_keypoints(xy, ok, self.synth.lifter)
            try:
                fitted = fit_orthographic(lifted, xy, ok, width, height)
                scale, offset = fitted.scale, np.asarray(fitted.offset, np.float32)
            except ValueError as err:
                raise ValueError(f"person {k}: {err}") from None
            depth = f / scale
            hip = hip_centre(lifted)
            u, v = scale * hip[0] + offset[0], -scale * hip[1] + offset[1]
            cam_xyz = np.array([(u - K[0, 2]) * depth / f, (v - K[1, 2]) * depth / f, depth])
            world_hip = R.T @ cam_xyz
            people.append((lifted - hip + world_hip).astype(np.float32))
        return people, camera

    def synthesize_2d(
        self,
        image: np.ndarray,
        keypoints: Sequence[np.ndarray],
        visible: Sequence[np.ndarray | None],
        yaws: Sequence[float] = (0.0,),
        pitch: float = 0.0,
    ) -> list[CrowdResult]:
        """Novel views from per-person 2D keypoints: ``lift_scene``, then ``synthesize_many``."""
        yaws, pitch = check_yaws(yaws), check_pitch(pitch)  # before the lifting: a bad angle costs nothing
        img = ensure_rgb(image, convert=True)
        people, camera = self.lift_scene(keypoints, visible, *img.shape[:2])
        return self._synthesize(img, people, camera, yaws, pitch, None)


def keypoints_from_pg2_rows(rows: Sequence[str], image_size: tuple[int, int]) -> tuple[list, list]:
    """Per-person ``(keypoints (18, 2), visible (18,))`` from PG2 annotation rows (``name: [ys…]: [xs…]``,
    ``data.real.pg2_format``), one row per person of one image of ``image_size`` ``(height, width)``."""
    from posegen_lite.data.real.pg2_format import parse_pg2_row

    parsed = [parse_pg2_row(row, f"person {k}", image_size) for k, row in enumerate(rows)]
    return [a.keypoints for a in parsed], [a.visible for a in parsed]


def people_from_photo(image: np.ndarray, estimator: PoseEstimator | None = None) -> list[PhotoPose]:
    """Every person's pose in a photo ``(H, W, 3)``, ready for ``CrowdSynthesizer.synthesize_2d``:

        people = people_from_photo(photo)  # the shipped MediaPipe estimator, by overlapping strips
        crowd = CrowdSynthesizer(synth, light=None)  # a photo's light stays in its world
        results = crowd.synthesize_2d(photo, [p.keypoints for p in people], [p.visible for p in people], yaws=[30])

    An estimator with ``estimate_people(image) -> list[PhotoPose]`` is asked once; any other (one person per
    call, as MediaPipe Pose) searches the whole photo and its overlapping halves and thirds
    (``geometry.people.find_people_tiled``: of the searches measured in docs/photos.md, the one that finds the
    most people with few false ones, none in a photo of one person; a fresh ``MediaPipeEstimator``, closed
    afterwards, if none is given). Raises ``NoPersonFoundError`` (a ``ValueError``) when nobody is found.
    """
    rgb = ensure_rgb(image, convert=True)
    many = getattr(estimator, "estimate_people", None)
    if many is None:
        return photo_people(rgb, estimator, finder=find_people_tiled)
    poses = list(many(rgb))
    if not poses:
        raise NoPersonFoundError("the estimator found no person in the photo")
    return poses
