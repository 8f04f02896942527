"""The viewpoint widget: turn a held-out person with a slider and watch G1 and G2 draw the new view.

    people = held_out_people(4, size=(64, 64))
    app = ViewpointWidget(synth, people)
    app                      # in a notebook: sliders + image panels (JupyterLab, classic Notebook, Colab)
    app.yaw.value = 90       # what a test does: the panels update
    app.current_images()     # {"input", "target pose", "G1", "G2", "ground truth", "3D pose"} as uint8 arrays

Every panel is an ``ipywidgets.Image`` holding a PNG at the model's resolution, shown ``zoom``× larger by the
browser (nearest-neighbour: the pixels of an enlarged PNG, fewer bytes to encode and send). Views are cached per
(person, yaw, pitch) as PNGs; once a person is chosen the widget computes the whole turntable in the background at the
slider's 5° steps in batches, nearest angles first (``precompute=True``), so scrubbing only draws a view's panels (once)
and swaps PNGs; the sliders' views and the turntable share one compute thread, a slider's view first (``compute``).
Displayed in a notebook, the output also carries a static PNG of the panels, for viewers without a live kernel.
"""

from __future__ import annotations

import base64
import html
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw

from posegen_lite.app.compute import ComputeThread
from posegen_lite.app.panels import SkeletonPanel, decode_png, placeholder, png_bytes
from posegen_lite.app.people import ViewpointPerson, held_out_people, person_views, synthesize_person
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.posemaps import draw_skeleton
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer, SynthesisResult

PANELS = ("input", "target pose", "G1", "G2", "ground truth", "3D pose")
# Panels at the model's resolution are enlarged by the browser, pixel for pixel (the 3D pose is drawn at size).
PNG_LEVEL = 3  # zlib: a view's 5 new PNGs in 5.6 ms, 19.9 kB (level 6: 8.8 ms, 18.0 kB; notes/2026-12-widget-speed)
PIXELATED = "<style>.posegen-viewpoint img[class*='posegen-panel-'] { image-rendering: pixelated; }</style>"


@dataclass
class _Turntable:
    """A background turntable: its (person, pitch), the views' cache keys nearest first, when it started,
    whether it was told to stop / has ended, and the error that ended it early (None: none)."""

    target: tuple[int, float]
    keys: list[tuple[int, float, float, int]]
    started: float = field(default_factory=time.perf_counter)
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


@dataclass(frozen=True)
class _Undrawn:
    """A turntable view whose networks ran (``result``, and its ``truth`` when rendered): its panels are drawn when
    it is first shown, not in the turntable, which thus finishes sooner (each view's first show: ~6 ms more)."""

    result: SynthesisResult
    truth: np.ndarray | None

    @classmethod
    def of(cls, result: SynthesisResult, truth: np.ndarray | None) -> _Undrawn:
        """Kept without the pose maps and masks the panels do not read (0.6 MB a view at 128×64)."""
        return cls(replace(result, pose_maps=np.empty(0), mask=np.empty(0), body=None, seen=None), truth)


class ViewpointWidget:
    """Yaw and pitch sliders and a person selector over a ``NovelViewSynthesizer``.

    Args:
        synthesizer: the networks (and their image size).
        people: ``ViewpointPerson``s or ``Scene``s (the input view is the scene at yaw 0).
        yaw, pitch: initial angles in degrees (body rotation about its vertical axis / tilt; camera.py).
        zoom: display enlargement of the image panels. cache_size: remembered (person, yaw, pitch) views.
        precompute: compute the current person's turntable (every slider step, at the current pitch) in a
            compute thread, after any view the sliders ask for, so scrubbing over it is instant.
        yaw_step: the yaw slider's step in degrees (the turntable has 360 / yaw_step + 1 views).
        worker: the ``ComputeThread`` that runs the networks (default: the widget's own); the app passes the
            one it loaded the weights in, so that no other thread of its kernel calls torch (compute.py).

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
        worker: ComputeThread | None = None,
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
        # key (person, yaw, pitch) → (panels as arrays, as display PNGs) or _Undrawn; shared with the compute thread
        self._cache: OrderedDict[tuple[int, float, float, int], tuple[dict, dict] | _Undrawn] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        # every view and the turntable are computed in one thread, one at a time, the sliders' first (compute.py)
        self._worker = worker if worker is not None else ComputeThread()
        if worker is None:
            weakref.finalize(self, self._worker.close)
        self._local = threading.local()  # per thread (the compute thread's, the sliders'): its 3D pose painter
        self._input_png: dict[int, bytes] = {}  # each person's input panel, encoded once
        self.updates = 0  # views computed on demand (cache misses of the sliders); the tests read it
        self.precompute = precompute
        self.precomputed = 0  # views the background turntable computed
        self.precompute_seconds: float | None = None  # how long the last finished turntable took
        self._job: _Turntable | None = None
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
        return self._worker.run(self._synthesize, self._key())

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
        self, key: tuple[int, float, float, int], show: Callable[[str, bytes], None] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, bytes]] | _Undrawn:
        """The panels of view ``key`` = (person, yaw, pitch, sample seed or −1 for the prior mean), as arrays
        and as the PNGs the widget shows, computed in the compute thread ahead of the turntable; ``show(name,
        png)`` is handed the synthesized view as soon as it is drawn (``_panels``)."""
        return self._worker.run(self._compute_here, key, show)

    def _compute_here(self, key: tuple[int, float, float, int], show: Callable[[str, bytes], None] | None):
        cached = self._cached(key)  # the turntable may have made it while this call waited for the thread
        if cached is not None:
            return cached
        return self._panels(key, self._synthesize(key), show=show)

    def _show(self, name: str, png: bytes) -> None:
        """A panel's new picture into its image widget at once: a new view reaches the page before its side
        panels are drawn (the same bytes again later send nothing). Only the view: the side panels sent one by
        one as drawn took longer in Chromium on 2 cores than all at once (notes/2026-12-widget-speed.md)."""
        self.images[name].value = png

    def _panels(
        self,
        key: tuple[int, float, float, int],
        res: SynthesisResult,
        truth: np.ndarray | None = None,
        show: Callable[[str, bytes], None] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
        """The panels of view ``key`` around its synthesized ``res``, as arrays (in ``PANELS``' order) and as PNGs
        at model resolution (in the order they are drawn: the synthesized view — G2's, or G1's without a G2 —
        first, the 3D pose, the slowest, last); ``truth``: the ground truth when already rendered (the turntable
        renders a batch's at once); ``show(name, png)`` is handed the view's PNG as soon as it is encoded."""
        person, yaw, pitch, _ = key
        p = self.people[person]
        h, w = self._h, self._w
        if getattr(self._local, "painter", None) is None:  # SkeletonPanel is not thread-safe: one per thread
            self._local.painter = SkeletonPanel(size_px=h * self.zoom)
        painter = self._local.painter

        def ground_truth() -> np.ndarray:  # the scene's orbit camera has no pitch: no ground truth at pitch ≠ 0
            if truth is not None:
                return truth
            return p.scene.render(yaw).image if p.scene is not None and pitch == 0 else placeholder(h, w)

        drawings: list[tuple[str, Callable[[], np.ndarray]]] = [
            ("G2", lambda: res.refined if res.refined is not None else placeholder(h, w)),
            ("G1", lambda: res.coarse),
            ("ground truth", ground_truth),
            ("target pose", lambda: draw_skeleton(res.keypoints, res.visible, h, w)),
            ("3D pose", lambda: painter(res.joints3d, camera=p.camera)),
        ]
        if res.refined is None:  # G1's picture is the view
            drawings[:2] = drawings[1::-1]
        if person not in self._input_png:  # the input is the same picture in every view: encoded once
            self._input_png[person] = png_bytes(p.image, compress_level=PNG_LEVEL)
        panels, pngs = {"input": p.image}, {"input": self._input_png[person]}
        for name, draw in drawings:
            panels[name] = draw()
            pngs[name] = png_bytes(panels[name], compress_level=PNG_LEVEL)
            if show is not None and name == drawings[0][0]:
                show(name, pngs[name])
        return {name: panels[name] for name in PANELS}, pngs

    def _cached(self, key: tuple[int, float, float, int]) -> tuple[dict, dict] | _Undrawn | None:
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
        self, key: tuple[int, float, float, int], show: Callable[[str, bytes], None] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, bytes]]:
        value = self._cached(key)
        if value is None:
            value = self._compute(key, show)
            self.updates += 1
        if isinstance(value, _Undrawn):  # a turntable view, shown for the first time: its panels drawn here
            value = self._panels(key, value.result, value.truth, show)
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
        """(Re)start the background turntable for the current person and pitch, unless it runs already: a chain
        of calls in the compute thread, each batch's networks then its panels, so that a slider's view waits for
        one of them at most."""
        if not self.precompute:
            return
        target = (int(self.person.value), float(self.pitch.value))
        if self._job is not None:
            if self._job.target == target and not self._job.stop.is_set():
                return  # running, or done: the turntable of this person and pitch is there
            self._job.stop.set()
        keys = [(target[0], float(y), target[1], -1) for y in self.turntable_yaws()]  # -1: the prior mean
        self._job = job = _Turntable(target, keys)
        self.precompute_seconds = None
        self._worker.submit(self._turntable_step, self._turntable_views, job, 0)

    def _turntable_step(self, step: Callable[..., None], job: _Turntable, *args) -> None:
        """One step of a turntable; an error ends the turntable with one line under the panels (the views the
        sliders ask for are still computed, each on its own) instead of leaving it waiting forever."""
        try:
            step(job, *args)
        except Exception as err:
            logging.getLogger(__name__).exception("the viewpoint widget's turntable stopped")
            job.error = " ".join(str(err).split()) or type(err).__name__
            self.progress.value = f"&nbsp;· turntable stopped: {html.escape(job.error)}"
            job.done.set()

    def _turntable_views(self, job: _Turntable, start: int) -> None:
        """The networks of one batch of the turntable (one forward pass) and its ground truth (one render)."""
        if job.stop.is_set():
            return job.done.set()
        keys = [k for k in job.keys[start : start + self.synth.batch] if self._cached(k) is None]
        person, pitch = job.target
        scene, yaws = self.people[person].scene, [k[1] for k in keys]
        views = person_views(self.synth, self.people[person], yaws, pitch) if keys else []
        truths = [t.image for t in scene.render_many(yaws)] if keys and scene and pitch == 0 else [None] * len(keys)
        self._worker.submit(self._turntable_step, self._turntable_panels, job, start, keys, views, truths)

    def _turntable_panels(self, job: _Turntable, start: int, keys: list, views: list, truths: list) -> None:
        for key, res, truth in zip(keys, views, truths, strict=True):
            self._store(key, _Undrawn.of(res, truth))
            self.precomputed += 1
        done = min(len(job.keys), start + self.synth.batch)
        if job.stop.is_set():
            return job.done.set()
        self.progress.value = f"&nbsp;· turntable {done}/{len(job.keys)}"
        if done < len(job.keys):
            self._worker.submit(self._turntable_step, self._turntable_views, job, done)
            return None
        self.precompute_seconds = time.perf_counter() - job.started
        self.progress.value = f"&nbsp;· turntable ready: {len(job.keys)} views in {self.precompute_seconds:.1f} s"
        return job.done.set()

    def wait_precomputed(self, timeout: float = 120.0) -> bool:
        """Block until the current turntable is computed (True), or ``timeout`` seconds passed or an error ended
        it (False; the progress line says which error)."""
        if self._job is None:
            return not self.precompute
        return self._job.done.wait(timeout) and self._job.error is None

    def stop_precompute(self) -> None:
        """Stop the background turntable (it finishes the batch it is on)."""
        if self._job is not None:
            self._job.stop.set()
            self._job.done.wait()

    # --- view side ------------------------------------------------------------------------------------------
    def update(self) -> dict[str, np.ndarray]:
        """Recompute (or fetch) the panels for the current values and put their PNGs into the image widgets, the
        synthesized view first; a view not computed yet is shown as soon as the networks have drawn it."""
        panels, pngs = self._view(self._key(), show=self._show)
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


__all__ = ["PANELS", "ViewpointPerson", "ViewpointWidget", "held_out_people", "person_views", "synthesize_person",
           "turntable_figure", "png_bytes", "decode_png"]  # fmt: skip
