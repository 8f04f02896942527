"""The viewpoint app for scenes with several people: turn the whole group with a slider.

    app = CrowdViewpointWidget(CrowdSynthesizer(synth), [CrowdScene.held_out(i, (128, 192)) for i in range(3)])
    app                      # in a notebook: scene selector, yaw slider, pivot selector + image panels
    app.yaw.value = 90       # what a test does: the panels update
    app.current_images()     # {"input", "target poses", "synthesized", "ground truth"} as uint8 arrays

The pivot is the group centre or one person's hip centre (the scene turns about the vertical axis through
it). The ground truth is shown for the group-centre pivot, which is what the scene's orbit camera renders.
Panels are ``ipywidgets.Image`` PNGs (``widgets.png_bytes``); views are cached per (scene, yaw, pivot).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from posegen_lite.app.widgets import ViewpointWidget, decode_png, png_bytes
from posegen_lite.data.synthetic.crowds import CrowdScene
from posegen_lite.geometry.posemaps import draw_skeleton
from posegen_lite.geometry.skeleton import hip_centre
from posegen_lite.pipelines.crowd import CrowdResult, CrowdSynthesizer

CROWD_PANELS = ("input", "target poses", "synthesized", "ground truth")
GROUP = -1  # the pivot selector's value for the group centre


def draw_skeletons(keypoints: Sequence[np.ndarray], visible: Sequence[np.ndarray], height: int, width: int):
    """Every person's skeleton (``posemaps.draw_skeleton``) on one black ``(H, W, 3)`` uint8 canvas, in the
    order given (later people drawn over earlier ones)."""
    canvas = np.zeros((height, width, 3), np.uint8)
    for kp, vis in zip(keypoints, visible, strict=True):
        if vis.any():
            drawn = draw_skeleton(kp, vis, height, width)
            ink = drawn.any(axis=2)
            canvas[ink] = drawn[ink]
    return canvas


class CrowdViewpointWidget:
    """A yaw slider, a scene selector and a pivot selector over a ``CrowdSynthesizer``.

    Args:
        crowd: the crowd synthesizer (single-person networks inside).
        scenes: ``CrowdScene``s (the input is each scene at yaw 0).
        yaw: initial angle in degrees (the group turned about the pivot's vertical axis; camera.py).
        zoom: display enlargement. cache_size: remembered (scene, yaw, pivot) views.
    """

    def __init__(
        self,
        crowd: CrowdSynthesizer,
        scenes: Sequence[CrowdScene],
        yaw: int = 0,
        zoom: int = 2,
        cache_size: int = 64,
    ) -> None:
        import ipywidgets as w

        self.crowd = crowd
        self.scenes = list(scenes)
        if not self.scenes:
            raise ValueError("CrowdViewpointWidget needs at least one scene")
        self.zoom = int(zoom)
        self._cache: OrderedDict[tuple[int, float, int], dict[str, np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self.updates = 0  # synthesize calls made (cache misses); the tests read it
        self.last_result: CrowdResult | None = None

        self.yaw = w.IntSlider(value=yaw, min=-180, max=180, step=10, description="yaw °", continuous_update=False)
        self.scene = w.Dropdown(options=[(s.name, i) for i, s in enumerate(self.scenes)], value=0, description="scene")
        self.pivot = w.Dropdown(description="pivot")
        self._pivot_options()
        self.images = {name: w.Image(format="png") for name in CROWD_PANELS}
        self.status = w.HTML()
        boxes = [
            w.VBox([w.HTML(f"<b>{name}</b>"), self.images[name]], layout=w.Layout(align_items="center"))
            for name in CROWD_PANELS
        ]
        self.view = w.VBox([w.HBox([self.scene, self.yaw, self.pivot]), w.HBox(boxes), self.status])
        self.scene.observe(self._on_scene, names="value")
        for control in (self.yaw, self.pivot):
            control.observe(self._on_change, names="value")
        self.update()

    def _pivot_options(self) -> None:
        n = len(self.scenes[self.scene.value].people)
        self.pivot.options = [("group centre", GROUP)] + [(f"person {k}", k) for k in range(n)]
        self.pivot.value = GROUP

    # --- model side -----------------------------------------------------------------------------------------
    def pivot_point(self) -> np.ndarray | None:
        """The pivot of the current selection (None = the group centre)."""
        if self.pivot.value == GROUP:
            return None
        return hip_centre(self.scenes[self.scene.value].joints[self.pivot.value])

    def synthesize(self) -> CrowdResult:
        """The ``CrowdSynthesizer.synthesize`` call behind the current values (no caching, no display)."""
        s = self.scenes[self.scene.value]
        src = s.input_view
        yaw = float(self.yaw.value)
        return self.crowd.synthesize(src.image, s.joints, src.camera, yaw=yaw, pivot=self.pivot_point())

    def current_images(self) -> dict[str, np.ndarray]:
        """The panels for the current values, ``{name: (H, W, 3) uint8}``; computed once per key and cached."""
        key = (int(self.scene.value), float(self.yaw.value), int(self.pivot.value))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        s = self.scenes[self.scene.value]
        res = self.synthesize()
        self.updates += 1
        self.last_result = res
        h, w = s.size
        if self.pivot.value == GROUP:
            truth = s.render(float(self.yaw.value)).image
        else:  # the orbit camera turns about the group centre only: no ground truth for another pivot
            truth = np.full((h, w, 3), 235, np.uint8)
        kept = [p for p in res.people if p is not None]
        panels = {
            "input": s.input_view.image,
            "target poses": draw_skeletons([p.keypoints for p in kept], [p.visible for p in kept], h, w),
            "synthesized": res.image,
            "ground truth": truth,
        }
        self._cache[key] = panels
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return panels

    # --- view side ------------------------------------------------------------------------------------------
    def update(self) -> dict[str, np.ndarray]:
        """Recompute (or fetch) the panels and put their PNGs into the image widgets."""
        panels = self.current_images()
        for name, img in panels.items():
            self.images[name].value = png_bytes(img, self.zoom)
        s = self.scenes[self.scene.value]
        pivot = "the group centre" if self.pivot.value == GROUP else f"person {self.pivot.value}"
        notes = [] if self.pivot.value == GROUP else ["ground truth only about the group centre"]
        if self.last_result is not None and self.last_result.notes:
            notes += self.last_result.notes
        self.status.value = f"{s.name} ({len(s.people)} people): turned by {self.yaw.value}° about {pivot}" + (
            f" ({'; '.join(notes)})" if notes else ""
        )
        return panels

    def displayed(self, name: str) -> np.ndarray:
        """What panel ``name`` shows right now, decoded from its PNG."""
        return decode_png(self.images[name].value, self.zoom)

    def _on_scene(self, change) -> None:  # ipywidgets passes the change; unused
        self._pivot_options()  # may trigger _on_change itself when the value changes
        self.update()

    def _on_change(self, change) -> None:  # ipywidgets passes the change; unused
        self.update()

    def figure(self):
        """A static matplotlib snapshot of the current panels."""
        from posegen_lite.figures.grids import image_row_figure

        panels = self.current_images()
        return image_row_figure(
            [panels[n] for n in CROWD_PANELS],
            titles=list(CROWD_PANELS),
            title=f"{self.scenes[self.scene.value].name}, yaw {self.yaw.value}°",
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)


def viewpoint_widget(synth, items: Sequence, **kw):
    """The viewpoint app for ``items``: a ``CrowdViewpointWidget`` for crowd scenes (``synth`` may be a
    ``NovelViewSynthesizer``, wrapped in a ``CrowdSynthesizer``), else the single-person ``ViewpointWidget``."""
    if items and all(isinstance(i, CrowdScene) for i in items):
        crowd = synth if isinstance(synth, CrowdSynthesizer) else CrowdSynthesizer(synth)
        return CrowdViewpointWidget(crowd, items, **kw)
    return ViewpointWidget(synth, items, **kw)
