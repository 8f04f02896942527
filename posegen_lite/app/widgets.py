"""The viewpoint app: turn a held-out person with a slider and watch G1 and G2 draw the new view.

    people = held_out_people(4, size=(64, 64))
    app = ViewpointWidget(synth, people)
    app                      # in a notebook: sliders + image panels (JupyterLab, classic Notebook, Colab)
    app.yaw.value = 90       # what a test does: the panels update
    app.current_images()     # {"input", "target pose", "G1", "G2", "ground truth", "3D pose"} as uint8 arrays

Every panel is an ``ipywidgets.Image`` holding PNG bytes (enlarged ``zoom``× with nearest-neighbour so small
images stay crisp) — no plotting frontend or extra setup needed. Each change costs one ``synthesize`` call,
one small matplotlib 3D render and (at pitch 0) one ground-truth render; results are cached per
(person, yaw, pitch), so going back to an angle is instant. It is fast enough on a CPU at 64×64.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from posegen_lite.app.synthesizer import NovelViewSynthesizer, SynthesisResult
from posegen_lite.app.viz import skeleton_3d_image
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.camera import Camera
from posegen_lite.geometry.posemaps import draw_skeleton

PANELS = ("input", "target pose", "G1", "G2", "ground truth", "3D pose")


@dataclass(frozen=True)
class ViewpointPerson:
    """One input person: their image at the input view, its 3D joints (world frame) and camera; ``scene``
    (optional) renders the ground truth at any yaw."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8
    joints3d: np.ndarray  # (18, 3) metres, y up
    camera: Camera
    scene: Scene | None = None

    @classmethod
    def from_scene(cls, scene: Scene) -> ViewpointPerson:
        view = scene.input_view  # cached on the scene: rendered once per person
        return cls(scene.name, view.image, view.joints3d, view.camera, scene)


def held_out_people(n: int, size: tuple[int, int] = (64, 64), seed: int = 0) -> list[ViewpointPerson]:
    """The first ``n`` held-out synthetic test people (never seen in training), each at azimuth 0."""
    if n < 1:
        raise ValueError(f"need at least one person, got {n}")
    return [ViewpointPerson.from_scene(Scene.held_out(i, size, seed=seed)) for i in range(n)]


def png_bytes(image: np.ndarray, zoom: int = 1) -> bytes:
    """PNG encoding of an ``(H, W, 3)`` uint8 image, enlarged ``zoom``× by pixel repetition."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    if zoom > 1:
        img = img.repeat(zoom, axis=0).repeat(zoom, axis=1)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def decode_png(data: bytes, zoom: int = 1) -> np.ndarray:
    """Inverse of ``png_bytes``: the ``(H, W, 3)`` uint8 image at its original size."""
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return img[::zoom, ::zoom].copy() if zoom > 1 else img


def _placeholder(height: int, width: int, grey: int = 235) -> np.ndarray:
    """A flat panel for "not available" (a cross marks it as deliberately empty)."""
    img = np.full((height, width, 3), grey, np.uint8)
    n = min(height, width)
    idx = np.arange(n)
    img[(idx * height) // n, (idx * width) // n] = 180
    img[(idx * height) // n, width - 1 - (idx * width) // n] = 180
    return img


class ViewpointWidget:
    """Yaw and pitch sliders and a person selector over a ``NovelViewSynthesizer``.

    Args:
        synthesizer: the networks (and their image size).
        people: ``ViewpointPerson``s or ``Scene``s (the input view is the scene at yaw 0).
        yaw, pitch: initial angles in degrees (body rotation about its vertical axis / tilt; camera.py).
        zoom: display enlargement of the image panels. cache_size: remembered (person, yaw, pitch) views.
    """

    def __init__(
        self,
        synthesizer: NovelViewSynthesizer,
        people: Sequence[ViewpointPerson | Scene],
        yaw: int = 0,
        pitch: int = 0,
        zoom: int = 3,
        cache_size: int = 256,
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
        self._cache: OrderedDict[tuple[int, float, float], dict[str, np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self.updates = 0  # synthesize calls made (cache misses); the tests read it

        self.yaw = w.IntSlider(value=yaw, min=-180, max=180, step=5, description="yaw °", continuous_update=False)
        self.pitch = w.IntSlider(value=pitch, min=-30, max=30, step=5, description="pitch °", continuous_update=False)
        self.person = w.Dropdown(
            options=[(p.name, i) for i, p in enumerate(self.people)], value=0, description="person"
        )
        h, wd = size
        self.images = {name: w.Image(format="png") for name in PANELS}
        self.status = w.HTML()
        boxes = [
            w.VBox([w.HTML(f"<b>{name}</b>"), self.images[name]], layout=w.Layout(align_items="center"))
            for name in PANELS
        ]
        self.view = w.VBox([w.HBox([self.person, self.yaw, self.pitch]), w.HBox(boxes), self.status])
        for control in (self.yaw, self.pitch, self.person):
            control.observe(self._on_change, names="value")
        self._h, self._w = h, wd
        self.update()

    # --- model side -----------------------------------------------------------------------------------------
    def synthesize(self) -> SynthesisResult:
        """The ``synthesize`` call behind the current slider values (no caching, no display)."""
        p = self.people[self.person.value]
        return self.synth.synthesize(
            p.image, p.joints3d, yaw=float(self.yaw.value), pitch=float(self.pitch.value), camera=p.camera
        )

    def _compute(self) -> dict[str, np.ndarray]:
        p = self.people[self.person.value]
        res = self.synthesize()
        self.updates += 1
        h, w = self._h, self._w
        if p.scene is not None and self.pitch.value == 0:
            truth = p.scene.render(float(self.yaw.value)).image
        else:  # the scene's orbit camera has no pitch: no ground truth to show
            truth = _placeholder(h, w)
        cam = p.camera
        return {
            "input": p.image,
            "target pose": draw_skeleton(res.keypoints, res.visible, h, w),
            "G1": res.coarse,
            "G2": res.refined if res.refined is not None else _placeholder(h, w),
            "ground truth": truth,
            "3D pose": skeleton_3d_image(res.joints3d, camera=cam, size_px=h * self.zoom),
        }

    def current_images(self) -> dict[str, np.ndarray]:
        """The panels for the current slider values, ``{name: (H, W, 3) uint8}`` at model resolution (the 3D
        pose at display size); computed once per (person, yaw, pitch) and cached."""
        key = (int(self.person.value), float(self.yaw.value), float(self.pitch.value))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        panels = self._compute()
        self._cache[key] = panels
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return panels

    # --- view side ------------------------------------------------------------------------------------------
    def update(self) -> dict[str, np.ndarray]:
        """Recompute (or fetch) the panels for the current values and put their PNGs into the image widgets."""
        panels = self.current_images()
        for name, img in panels.items():
            self.images[name].value = png_bytes(img, 1 if name == "3D pose" else self.zoom)
        p = self.people[self.person.value]
        notes = ([] if self.pitch.value == 0 else ["ground truth only at pitch 0"]) + (
            [] if self.synth.g2 is not None else ["these weights have no G2"]
        )
        self.status.value = f"{p.name}: body turned by {self.yaw.value}°, tilted by {self.pitch.value}°" + (
            f" ({'; '.join(notes)})" if notes else ""
        )
        return panels

    def displayed(self, name: str) -> np.ndarray:
        """What panel ``name`` shows right now, decoded from its PNG at model resolution."""
        return decode_png(self.images[name].value, 1 if name == "3D pose" else self.zoom)

    def _on_change(self, change) -> None:  # noqa: ARG002 - ipywidgets callback signature
        self.update()

    def figure(self):
        """A static matplotlib snapshot of the current panels (for places where widgets do not render, such
        as a notebook viewed on GitHub)."""
        from posegen_lite.app.viz import image_row_figure

        panels = self.current_images()
        names = [n for n in PANELS if n != "3D pose"]
        return image_row_figure(
            [panels[n] for n in names],
            titles=names,
            title=f"{self.people[self.person.value].name}, yaw {self.yaw.value}°, pitch {self.pitch.value}°",
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)


def turntable_figure(
    synth: NovelViewSynthesizer,
    people: Sequence[ViewpointPerson],
    yaws: Sequence[float] = tuple(range(0, 360, 45)),
    panel_inches: float = 1.0,
):
    """For each person a row of synthesized views over ``yaws`` (one ``synthesize_many`` batch) and, when the
    person has a scene, a row of ground truth below it; the input image leads each row."""
    from posegen_lite.app.viz import image_table_figure

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
    "turntable_figure",
    "png_bytes",
    "decode_png",
]
