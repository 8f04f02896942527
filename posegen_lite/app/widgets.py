"""The viewpoint widget: turn a held-out person with a slider and watch G1 and G2 draw the new view.

    people = held_out_people(4, size=(64, 64))
    app = ViewpointWidget(synth, people)
    app                      # in a notebook: sliders + image panels (JupyterLab, classic Notebook, Colab)
    app.yaw.value = 90       # what a test does: the panels update
    app.current_images()     # {"input", "target pose", "G1", "G2", "ground truth", "3D pose"} as uint8 arrays

Every panel is an ``ipywidgets.Image`` holding a PNG at the model's resolution, shown ``zoom``× larger by the
browser (nearest-neighbour: the pixels of an enlarged PNG, fewer bytes to encode and send). Views are cached per
(person, yaw, pitch) as PNGs; once a person is chosen a background thread computes the whole turntable at the
slider's 5° steps in batches, nearest angles first (``precompute=True``), so scrubbing only swaps PNGs.
Displayed in a notebook, the output also carries a static PNG of the panels, for viewers without a live kernel.
"""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from posegen_lite.app.panels import SkeletonPanel, decode_png, placeholder, png_bytes
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.posemaps import draw_skeleton
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, SynthesisResult
from posegen_lite.pipelines.unseen import photo_unseen

PANELS = ("input", "target pose", "G1", "G2", "ground truth", "3D pose")
# Panels at the model's resolution are enlarged by the browser, pixel for pixel (the 3D pose is drawn at size).
PNG_LEVEL = 6  # zlib's default: a view's six PNGs in 10.0 ms, 24.1 KiB (level 1: 5.7 ms, 31.3 KiB; notes 2026-12)
PIXELATED = "<style>.posegen-viewpoint img[class*='posegen-panel-'] { image-rendering: pixelated; }</style>"


@dataclass(frozen=True)
class ViewpointPerson:
    """One input person: their image at the input view and either its 3D joints (world frame) and camera, or
    — for a photo — its 2D keypoints, which the synthesizer lifts to 3D; ``scene`` (optional) renders the
    ground truth at any yaw."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8
    joints3d: np.ndarray | None  # (18, 3) metres, y up; None for a 2D (photo) person
    camera: Camera | None  # the camera of ``image``; None for a 2D person
    scene: Scene | None = None
    keypoints: np.ndarray | None = None  # (18, 2) pixels of ``image``, NaN where missing (2D person)
    visible: np.ndarray | None = None  # (18,) bool (2D person)
    silhouette: np.ndarray | None = None  # (H, W) bool, where the person is in ``image`` (a photo's segmentation)
    lifted: np.ndarray | None = None  # (18, 3) metres: a photo's 3D joints from its estimator (else lifted here)

    def __post_init__(self) -> None:
        if self.camera is None and self.keypoints is None:
            raise ValueError(f"{self.name}: a person needs 3D joints and a camera, or 2D keypoints")
        if self.camera is not None and self.joints3d is None:
            raise ValueError(f"{self.name}: a camera without 3D joints")

    @classmethod
    def from_scene(cls, scene: Scene) -> ViewpointPerson:
        view = scene.input_view  # cached on the scene: rendered once per person
        return cls(scene.name, view.image, view.joints3d, view.camera, scene)


def synthesize_person(
    synth: NovelViewSynthesizer, p: ViewpointPerson, yaw: float, pitch: float, seed: int | None = None
) -> SynthesisResult:
    """One view of ``p`` as the widget and the shared server show it: a photo (2D keypoints, lifted) on its own
    background with its colours on the unseen side; ``seed``: one sample of a conditional-VAE G1 (``None``: the
    prior's mean)."""
    if seed is None:
        return person_views(synth, p, [yaw], pitch)[0]
    image, keypoints, kw = _person_input(synth, p)
    return synth.synthesize(image, keypoints, yaw=yaw, pitch=pitch, samples=1, seed=seed, **kw)[0]


def person_views(
    synth: NovelViewSynthesizer, p: ViewpointPerson, yaws: Sequence[float], pitch: float
) -> list[SynthesisResult]:
    """``synthesize_person``'s prior-mean views of ``p`` at each of ``yaws``, in ``synth.batch``-view passes."""
    image, keypoints, kw = _person_input(synth, p)
    return synth.synthesize_many(image, keypoints, list(yaws), pitch=pitch, **kw)


def _person_input(synth: NovelViewSynthesizer, p: ViewpointPerson) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(image, keypoints, keyword arguments)`` of ``p`` for ``synthesize`` / ``synthesize_many``."""
    kw: dict = {}
    if p.silhouette is not None:  # a photo: its own background around the person, its colours on the unseen side
        kw = {"silhouette": p.silhouette, "unseen": photo_unseen(synth.needs_proxy)}
    if p.camera is None:  # a photo: 2D keypoints with the estimator's depth (or lifted inside synthesize)
        return p.image, p.keypoints, {"visible": p.visible, "lifted": p.lifted, **kw}
    return p.image, p.joints3d, {"camera": p.camera, **kw}


def held_out_people(n: int, size: tuple[int, int] = (64, 64), seed: int = 0) -> list[ViewpointPerson]:
    """The first ``n`` held-out synthetic test people (never seen in training), each at azimuth 0."""
    if n < 1:
        raise ValueError(f"need at least one person, got {n}")
    return [ViewpointPerson.from_scene(Scene.held_out(i, size, seed=seed)) for i in range(n)]


class ViewpointWidget:
    """Yaw and pitch sliders and a person selector over a ``NovelViewSynthesizer``.

    Args:
        synthesizer: the networks (and their image size).
        people: ``ViewpointPerson``s or ``Scene``s (the input view is the scene at yaw 0).
        yaw, pitch: initial angles in degrees (body rotation about its vertical axis / tilt; camera.py).
        zoom: display enlargement of the image panels. cache_size: remembered (person, yaw, pitch) views.
        precompute: compute the current person's turntable (every slider step, at the current pitch) in a
            background thread, so scrubbing over it is instant.
        yaw_step: the yaw slider's step in degrees (the turntable has 360 / yaw_step + 1 views).

    With a G1 that samples (a conditional VAE, ``synthesizer.samples``), a "new sample" button draws another
    guess of what the input never showed for the current view (seed 1, 2, …, kept while the sliders move) and
    "prior mean" goes back to the deterministic answer; the precomputed turntable holds the prior mean.
    """

    def __init__(
        self,
        synthesizer: NovelViewSynthesizer,
        people: Sequence[ViewpointPerson | Scene],
        yaw: int = 0,
        pitch: int = 0,
        zoom: int = 3,
        cache_size: int = 512,
        precompute: bool = True,
        yaw_step: int = 5,
    ) -> None:
        import ipywidgets as w

        self.synth = synthesizer
        self.people = [p if isinstance(p, ViewpointPerson) else ViewpointPerson.from_scene(p) for p in people]
        if not self.people:
            raise ValueError("ViewpointWidget needs at least one person")
        size = (synthesizer.height, synthesizer.width)
        for p in self.people:
            if p.image.shape[:2] != size:
                raise ValueError(f"{p.name}: image is {p.image.shape[:2]}, the synthesizer makes {size}")
        self.zoom = int(zoom)
        self._h, self._w = size
        # key (person, yaw, pitch) → (panels as arrays, panels as display PNGs); shared with the precompute thread
        self._cache: OrderedDict[tuple[int, float, float, int], tuple[dict[str, np.ndarray], dict[str, bytes]]] = (
            OrderedDict()
        )
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._compute_lock = threading.Lock()  # one view at a time: torch and matplotlib work, never interleaved
        self._painters = threading.local()  # the 3D pose panel's figure, one per thread (SkeletonPanel)
        self.updates = 0  # views computed on demand (cache misses of the sliders); the tests read it
        self.precompute = precompute
        self.precomputed = 0  # views the background thread computed
        self.precompute_seconds: float | None = None  # how long the last finished turntable took
        self._job: tuple[threading.Thread, threading.Event, tuple[int, float]] | None = None
        self.sample_seed: int | None = None  # the latent sample shown (None: the prior's mean)
        self._seeds_drawn = 0

        # continuous_update: while dragging, every step the slider passes is sent — cached steps show at once
        self.yaw = w.IntSlider(value=yaw, min=-180, max=180, step=yaw_step, description="yaw °", continuous_update=True)
        self.pitch = w.IntSlider(value=pitch, min=-30, max=30, step=5, description="pitch °", continuous_update=False)
        self.person = w.Dropdown(
            options=[(p.name, i) for i, p in enumerate(self.people)], value=0, description="person"
        )
        self.new_sample = w.Button(description="new sample", tooltip="draw another guess of the unseen side")
        self.prior_mean = w.Button(description="prior mean", tooltip="the deterministic answer")
        if not synthesizer.samples:  # a deterministic G1 has one answer: no sampling controls
            for button in (self.new_sample, self.prior_mean):
                button.layout.display = "none"
        self.new_sample.on_click(lambda _b: self.draw_sample())
        self.prior_mean.on_click(lambda _b: self.show_prior_mean())
        size_px = {"width": str(self._w * self.zoom), "height": str(self._h * self.zoom)}
        self.images = {name: w.Image(format="png", **({} if name == "3D pose" else size_px)) for name in PANELS}
        self.status = w.HTML()
        self.progress = w.HTML()
        boxes = [
            w.VBox([w.HTML(f"<b>{name}</b>"), self.images[name]], layout=w.Layout(align_items="center"))
            for name in PANELS
        ]
        self.view = w.VBox(
            [
                w.HBox([self.person, self.yaw, self.pitch, self.new_sample, self.prior_mean]),
                w.HBox(boxes),
                w.HBox([self.status, self.progress]),
                w.HTML(PIXELATED),
            ]
        )
        # CSS classes: stable handles for the browser tests (tests/browser/) and for styling
        self.view.add_class("posegen-viewpoint")
        controls = (("yaw", self.yaw), ("pitch", self.pitch), ("person", self.person), ("new-sample", self.new_sample))
        for name, control in (*controls, ("prior-mean", self.prior_mean)):
            control.add_class(f"posegen-{name}")
        for name, image in self.images.items():
            image.add_class("posegen-panel-" + name.replace(" ", "-").lower())
        self.status.add_class("posegen-status")
        self.progress.add_class("posegen-progress")
        for control in (self.yaw, self.pitch, self.person):
            control.observe(self._on_change, names="value")
        self.update()
        self._start_precompute()

    def add_person(self, person: ViewpointPerson | Scene, select: bool = True) -> int:
        """Add a person to the selector (e.g. an uploaded photo); returns its index and, with ``select``,
        shows it (which starts its turntable)."""
        p = person if isinstance(person, ViewpointPerson) else ViewpointPerson.from_scene(person)
        if p.image.shape[:2] != (self._h, self._w):
            raise ValueError(f"{p.name}: image is {p.image.shape[:2]}, the synthesizer makes {(self._h, self._w)}")
        self.people.append(p)
        index = len(self.people) - 1
        current = self.person.value
        self.person.unobserve(self._on_change, names="value")  # new options reset the value: not a user's choice
        try:
            self.person.options = [(q.name, i) for i, q in enumerate(self.people)]
            self.person.value = current
        finally:
            self.person.observe(self._on_change, names="value")
        if select:
            self.person.value = index  # shows the person and starts its turntable
        return index

    # --- model side -----------------------------------------------------------------------------------------
    def synthesize(self) -> SynthesisResult:
        """The ``synthesize`` call behind the current slider values (no caching, no display)."""
        return self._synthesize(self._key())

    def draw_sample(self) -> dict[str, np.ndarray]:
        """Show a new latent sample (the next seed) of the current view; returns its panels."""
        if not self.synth.samples:
            raise ValueError(
                "this G1 is deterministic: samples need a G1 trained as a conditional VAE "
                "(posegen train --g1.latent-channels K)"
            )
        self._seeds_drawn += 1
        self.sample_seed = self._seeds_drawn
        return self.update()

    def show_prior_mean(self) -> dict[str, np.ndarray]:
        """Back to the prior's mean (the deterministic answer); returns its panels."""
        self.sample_seed = None
        return self.update()

    def _key(self) -> tuple[int, float, float, int]:
        seed = -1 if self.sample_seed is None else self.sample_seed
        return int(self.person.value), float(self.yaw.value), float(self.pitch.value), seed

    def _synthesize(self, key: tuple[int, float, float, int]) -> SynthesisResult:
        person, yaw, pitch, seed = key
        return synthesize_person(self.synth, self.people[person], yaw, pitch, None if seed < 0 else seed)

    def _compute(
        self, key: tuple[int, float, float, int], first: Callable[[SynthesisResult], None] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
        """The panels of view ``key`` = (person, yaw, pitch, sample seed or −1 for the prior mean), as arrays
        and as the PNGs the widget shows; ``first`` is handed the synthesized view before the other panels are
        drawn. (Drawing them in a second thread while the networks ran was slower: the drawing holds the GIL the
        networks' Python needs between operations.)"""
        with self._compute_lock:
            res = self._synthesize(key)
            if first is not None:
                first(res)
            return self._panels(key, res)

    def _show_view(self, res: SynthesisResult) -> None:
        """The synthesized view into its panel at once (G2's, or G1's without a G2), before the other panels are
        drawn; the same PNG bytes as ``_panels``' (sent once)."""
        name = "G2" if res.refined is not None else "G1"
        self.images[name].value = png_bytes(res.image, compress_level=PNG_LEVEL)

    def _panels(self, key: tuple[int, float, float, int], res: SynthesisResult):
        """The panels of view ``key`` around its synthesized ``res``, as arrays and as PNGs (model resolution)."""
        person, yaw, pitch, _ = key
        p = self.people[person]
        h, w = self._h, self._w
        if p.scene is not None and pitch == 0:
            truth = p.scene.render(yaw).image
        else:  # the scene's orbit camera has no pitch: no ground truth to show
            truth = placeholder(h, w)
        painter = getattr(self._painters, "panel", None)
        if painter is None:
            painter = self._painters.panel = SkeletonPanel(size_px=h * self.zoom)
        panels = {
            "input": p.image,
            "target pose": draw_skeleton(res.keypoints, res.visible, h, w),
            "G1": res.coarse,
            "G2": res.refined if res.refined is not None else placeholder(h, w),
            "ground truth": truth,
            "3D pose": painter(res.joints3d, camera=p.camera),
        }
        return panels, {name: png_bytes(img, compress_level=PNG_LEVEL) for name, img in panels.items()}

    def _cached(self, key: tuple[int, float, float, int]) -> tuple[dict[str, np.ndarray], dict[str, bytes]] | None:
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def _store(self, key: tuple[int, float, float, int], value) -> None:
        with self._cache_lock:
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _view(
        self, key: tuple[int, float, float, int], first: Callable[[SynthesisResult], None] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
        value = self._cached(key)
        if value is None:
            value = self._compute(key, first)
            self.updates += 1
            self._store(key, value)
        return value

    def is_cached(self, yaw: float, pitch: float | None = None, person: int | None = None) -> bool:
        """Whether the view at ``yaw`` (and ``pitch``/``person``, default: the current ones) is ready."""
        key = (
            int(self.person.value if person is None else person),
            float(yaw),
            float(self.pitch.value if pitch is None else pitch),
            -1 if self.sample_seed is None else self.sample_seed,
        )
        with self._cache_lock:
            return key in self._cache

    def current_images(self) -> dict[str, np.ndarray]:
        """The panels for the current slider values, ``{name: (H, W, 3) uint8}`` at model resolution (the 3D
        pose at display size); computed once per (person, yaw, pitch) and cached."""
        return self._view(self._key())[0]

    # --- the background turntable ---------------------------------------------------------------------------
    def turntable_yaws(self) -> list[int]:
        """Every yaw the slider can take, nearest to its current value first (the order of the precompute)."""
        here = int(self.yaw.value)
        yaws = range(self.yaw.min, self.yaw.max + 1, self.yaw.step)
        return sorted(yaws, key=lambda y: (min(abs(y - here), 360 - abs(y - here)), y))

    def _start_precompute(self) -> None:
        """(Re)start the background turntable for the current person and pitch, unless it runs already."""
        if not self.precompute:
            return
        target = (int(self.person.value), float(self.pitch.value))
        if self._job is not None:
            thread, stop, job_target = self._job
            if job_target == target and not stop.is_set():
                return  # running, or done: the turntable of this person and pitch is there
            stop.set()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._precompute, args=(target, self.turntable_yaws(), stop), name="posegen-turntable", daemon=True
        )
        self._job = (thread, stop, target)
        self.precompute_seconds = None
        thread.start()

    def _precompute(self, target: tuple[int, float], yaws: list[int], stop: threading.Event) -> None:
        person, pitch = target
        t0 = time.perf_counter()
        todo = [(person, float(y), pitch, -1) for y in yaws]  # the prior mean (the deterministic answer)
        done = 0
        for start in range(0, len(todo), self.synth.batch):  # one forward pass per batch (synthesize_many)
            if stop.is_set():
                return
            keys = [k for k in todo[start : start + self.synth.batch] if self._cached(k) is None]
            if keys:
                with self._compute_lock:
                    views = person_views(self.synth, self.people[person], [k[1] for k in keys], pitch)
                for key, res in zip(keys, views, strict=True):
                    with self._compute_lock:  # view by view: a slider's new view waits for one batch at most
                        self._store(key, self._panels(key, res))
                    self.precomputed += 1
            done = min(len(todo), start + self.synth.batch)
            self.progress.value = f"&nbsp;· turntable {done}/{len(todo)}"
        self.precompute_seconds = time.perf_counter() - t0
        if not stop.is_set():
            self.progress.value = f"&nbsp;· turntable ready: {len(todo)} views in {self.precompute_seconds:.1f} s"

    def wait_precomputed(self, timeout: float = 120.0) -> bool:
        """Block until the current turntable is computed (True) or ``timeout`` seconds passed (False)."""
        if self._job is None:
            return not self.precompute
        thread = self._job[0]
        thread.join(timeout)
        return not thread.is_alive()

    def stop_precompute(self) -> None:
        """Stop the background thread (it finishes the view it is on)."""
        if self._job is not None:
            self._job[1].set()
            self._job[0].join()

    # --- view side ------------------------------------------------------------------------------------------
    def update(self) -> dict[str, np.ndarray]:
        """Recompute (or fetch) the panels for the current values and put their PNGs into the image widgets. A
        view not computed yet is shown as soon as the networks have drawn it, before the other panels."""
        panels, pngs = self._view(self._key(), first=self._show_view)
        for name, data in pngs.items():
            self.images[name].value = data
        p = self.people[self.person.value]
        notes = ([] if self.pitch.value == 0 else ["ground truth only at pitch 0"]) + (
            [] if self.synth.g2 is not None else ["these weights have no G2"]
        )
        if self.synth.samples:
            notes.append("prior mean" if self.sample_seed is None else f"sample {self.sample_seed} of the unseen side")
        self.status.value = f"{p.name}: body turned by {self.yaw.value}°, tilted by {self.pitch.value}°" + (
            f" ({'; '.join(notes)})" if notes else ""
        )
        return panels

    def displayed(self, name: str) -> np.ndarray:
        """What panel ``name`` shows right now, decoded from its PNG at model resolution."""
        return decode_png(self.images[name].value)

    def _on_change(self, change) -> None:
        if change is not None and change.get("owner") is self.person:
            self.sample_seed = None  # another person: start from the deterministic answer
        self.update()
        self._start_precompute()  # a new person or pitch: start its turntable

    def figure(self):
        """A static matplotlib snapshot of the current panels (for places where widgets do not render, such
        as a notebook viewed on GitHub)."""
        from posegen_lite.figures.grids import image_row_figure

        panels = self.current_images()
        names = [n for n in PANELS if n != "3D pose"]
        return image_row_figure(
            [panels[n] for n in names],
            titles=names,
            title=f"{self.people[self.person.value].name}, yaw {self.yaw.value}°, pitch {self.pitch.value}°",
        )

    def snapshot(self) -> np.ndarray:
        """The widget as a static picture ``(H', W', 3)`` uint8: the panels at display size side by side under
        their names, the status line below (PIL only, so it is cheap enough for every display)."""
        panels, _ = self._view(self._key())
        tiles = [panels[n] if n == "3D pose" else panels[n].repeat(self.zoom, 0).repeat(self.zoom, 1) for n in PANELS]
        gap, head, foot = 8, 16, 18
        height = max(t.shape[0] for t in tiles)
        width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) + 1)
        canvas = Image.new("RGB", (width, head + height + foot + gap), "white")
        draw = ImageDraw.Draw(canvas)
        x = gap
        for name, tile in zip(PANELS, tiles, strict=True):
            draw.text((x, 2), name, fill=(0, 0, 0))
            canvas.paste(Image.fromarray(tile), (x, head))
            x += tile.shape[1] + gap
        draw.text(
            (gap, head + height + 4),
            f"{self.status.value}  (static picture: run the notebook to turn the person with the sliders)",
            fill=(60, 60, 60),
        )
        return np.asarray(canvas)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live widget plus, for viewers without its kernel, a PNG ``snapshot`` and a one-line text."""
        bundle = dict(self.view._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = base64.b64encode(png_bytes(self.snapshot())).decode("ascii")
        bundle["text/plain"] = (
            f"ViewpointWidget({len(self.people)} people, yaw {self.yaw.value}°, pitch "
            f"{self.pitch.value}°): run the notebook to use the sliders"
        )
        return bundle


def turntable_figure(
    synth: NovelViewSynthesizer,
    people: Sequence[ViewpointPerson],
    yaws: Sequence[float] = tuple(range(0, 360, 45)),
    panel_inches: float = 1.0,
):
    """For each person a row of synthesized views over ``yaws`` (one ``synthesize_many`` batch) and, when the
    person has a scene, a row of ground truth below it; the input image leads each row."""
    from posegen_lite.figures.grids import image_table_figure

    rows, labels = [], []
    for p in people:
        views = synth.synthesize_many(p.image, p.joints3d, list(yaws), camera=p.camera)
        rows.append([p.image] + [v.image for v in views])
        labels.append(f"{p.name}\nsynthesized")
        if p.scene is not None:
            rows.append([p.image] + [t.image for t in p.scene.render_many(list(yaws))])
            labels.append("ground truth")
    return image_table_figure(
        rows, col_titles=["input"] + [f"{y:g}°" for y in yaws], row_titles=labels, panel_inches=panel_inches
    )


__all__ = [
    "PANELS",
    "ViewpointPerson",
    "ViewpointWidget",
    "held_out_people",
    "person_views",
    "turntable_figure",
    "png_bytes",
    "decode_png",
]
