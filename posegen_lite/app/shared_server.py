"""The viewpoint page served by one process that shares one model: the lecture-hall front end.

    posegen serve                    # http://127.0.0.1:8870: a person, yaw and pitch sliders, a photo upload

Why not Voilà for a room: each Voilà visitor gets a kernel with its own torch and networks (354 MiB measured), so 20
visitors need 7 GB. Here one synthesizer answers everybody: a view is one request, computed by a single worker
thread (two cores give a second one nothing but contention; ``compute.ComputeThread``, in which ``posegen serve``
also loads the weights, so that no other thread calls torch), so the queue bounds the work in flight. The
held-out people's slider positions are computed at start and kept; other views (photos, pitches) go to a
bounded cache, uploaded photos to a bounded store under an id. A bad request is one line (HTTP 400), never a
traceback. Measured with 20 simultaneous visitors: benchmarks/bench_app_load.py.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from posegen_lite.app.compute import NOW, ComputeThread
from posegen_lite.app.panels import png_bytes
from posegen_lite.app.people import ViewpointPerson, synthesize_person
from posegen_lite.pipelines.checks import check_angle, check_pitch
from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

SLIDER_YAWS = [float(y) for y in range(-180, 181, 5)]  # the page's yaw slider: −180…180° in steps of 5°
VIEW_ZOOM = 3  # 128×64 views shown at 384×192: pixel repetition, the model's own pixels
DEFAULT_PORT = 8870


class RequestError(ValueError):
    """A visitor's request the service refuses: its one-line message is shown in the page."""


class ViewService:
    """The views and photos of every visitor, one model for all (no HTTP here: the tests call it directly).

    ``people``: the held-out people shown to everybody (ids ``"0"``, ``"1"``, …); photos added by
    ``add_photo`` get ids ``"p…"``. ``cache_views`` views and ``max_photos`` photos are kept, oldest dropped.
    """

    def __init__(self, synth: NovelViewSynthesizer, people: list[ViewpointPerson], cache_views: int = 512,
                 max_photos: int = 64, photos: bool = True) -> None:  # fmt: skip
        self.synth, self.cache_views, self.max_photos, self.photos = synth, cache_views, max_photos, photos
        self._people: OrderedDict[str, ViewpointPerson] = OrderedDict((str(k), p) for k, p in enumerate(people))
        self._shown = len(people)
        self._views: OrderedDict[tuple[str, float, float], bytes] = OrderedDict()
        self._pinned: dict[tuple[str, float, float], bytes] = {}  # the held-out turntables: never dropped
        self._lock = threading.Lock()  # the caches are shared by the event loop and the worker thread
        self.computed = 0  # views computed (not served from the cache): what the load test reads

    def people(self) -> list[dict[str, str]]:
        """The held-out people everybody sees: ``[{"id", "name"}]``."""
        return [{"id": k, "name": p.name} for k, p in list(self._people.items())[: self._shown]]

    def _person(self, person: str) -> ViewpointPerson:
        with self._lock:
            found = self._people.get(person)
        if found is None:
            raise RequestError(f"person: no person {person!r} here (a photo is kept for a while, then dropped)")
        return found

    def view(self, person: str, yaw: object, pitch: object = 0.0) -> bytes:
        """The PNG of ``person`` at ``yaw``/``pitch`` degrees (strings from a query are parsed), cached."""
        yaw_deg = _angle(yaw, "yaw")
        try:
            pitch_deg = check_pitch(_angle(pitch, "pitch"))
        except ValueError as err:
            raise RequestError(str(err)) from None
        p = self._person(person)  # first: a dropped photo's cached views are not served
        key = (person, round(yaw_deg, 1), round(pitch_deg, 1))
        with self._lock:
            if key in self._pinned:
                return self._pinned[key]
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        image = synthesize_person(self.synth, p, key[1], key[2]).image
        data = png_bytes(image, VIEW_ZOOM)
        with self._lock:
            self.computed += 1
            self._views[key] = data
            while len(self._views) > self.cache_views:
                self._views.popitem(last=False)
        return data

    def precompute(self, yaws: list[float], batch: int = 24) -> int:
        """Compute every held-out person's views at ``yaws`` (pitch 0; the page's slider positions) in batches and
        keep them for good: a room's first views then cost nothing. Returns the number of views."""
        for pid, p in list(self._people.items())[: self._shown]:
            for i in range(0, len(yaws), batch):
                chunk = [round(float(y), 1) for y in yaws[i : i + batch]]
                views = self.synth.synthesize_many(p.image, p.joints3d, chunk, camera=p.camera)
                with self._lock:
                    for y, v in zip(chunk, views, strict=True):
                        self._pinned[(pid, y, 0.0)] = png_bytes(v.image, VIEW_ZOOM)
        return len(self._pinned)

    def add_photo(self, data: bytes, name: str = "your photo") -> dict[str, list[dict[str, str]]]:
        """A visitor's photo file (its bytes and file ``name``) → ``{"people": [{"id", "name"}, …]}``: each person
        it holds, new people for that visitor's selector."""
        from posegen_lite.app.viewpoint_app import decode_upload, photo_people_persons, photo_upload_problem

        if not self.photos:
            raise RequestError("photo upload is switched off on this server")
        problem = photo_upload_problem()
        if problem is not None:
            raise RequestError(problem)
        name = Path(str(name)).name[:80] or "your photo"  # a file name, never a path
        try:
            found = photo_people_persons(decode_upload(data, name), self.synth, name=name)
        except ValueError as err:  # not an image, no person found: one line
            raise RequestError(str(err).splitlines()[0]) from None
        added = []
        with self._lock:
            for person in found:
                pid = "p" + secrets.token_hex(6)
                self._people[pid] = person
                added.append({"id": pid, "name": person.name})
            while len(self._people) > self._shown + self.max_photos:
                oldest = next(k for k in self._people if k.startswith("p"))
                del self._people[oldest]
        return {"people": added}


def _angle(value: object, name: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RequestError(f"{name}: not a number: {value!r}") from None
    try:
        return check_angle(value, name)
    except ValueError as err:
        raise RequestError(str(err)) from None


def make_app(service: ViewService, max_body_mb: int = 20, worker: ComputeThread | None = None):
    """The tornado application: ``/`` the page, ``/people``, ``/view?person=&yaw=&pitch=`` (PNG) and ``POST
    /photo`` (the file's bytes as the body). Views and photos are computed by one ``worker`` thread (default:
    a new one)."""
    import asyncio

    import tornado.web

    worker = worker if worker is not None else ComputeThread("posegen-view")

    class Base(tornado.web.RequestHandler):
        async def answer(self, work: Callable[[], object]) -> object | None:
            try:
                return await asyncio.wrap_future(worker.submit(work, priority=NOW))
            except RequestError as err:
                self.set_status(400)
                self.finish({"error": str(err)})
                return None

        def write_error(self, status_code: int, **kwargs) -> None:  # no traceback to a visitor
            self.finish({"error": f"the server could not answer ({status_code}); see its terminal"})

    class Page(Base):
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(PAGE.replace("{{PHOTOS}}", "true" if service.photos else "false"))

    class People(Base):
        def get(self) -> None:
            self.finish(json.dumps(service.people()))

    class View(Base):
        async def get(self) -> None:
            args = {k: self.get_argument(k, d) for k, d in (("person", "0"), ("yaw", "0"), ("pitch", "0"))}
            data = await self.answer(lambda: service.view(args["person"], args["yaw"], args["pitch"]))
            if data is not None:
                self.set_header("Content-Type", "image/png")
                self.set_header("Cache-Control", "max-age=3600")
                self.finish(data)

    class Photo(Base):
        async def post(self) -> None:
            body, name = self.request.body, self.get_argument("name", "your photo")
            found = await self.answer(lambda: service.add_photo(body, name))
            if found is not None:
                self.finish(found)

    return tornado.web.Application(
        [(r"/", Page), (r"/people", People), (r"/view", View), (r"/photo", Photo)],
        max_body_size=max_body_mb * 1024 * 1024,
    )


def serve(
    service: ViewService, port: int = DEFAULT_PORT, ip: str = "127.0.0.1", worker: ComputeThread | None = None
) -> None:
    """Serve ``make_app(service)`` until interrupted (Ctrl-C), the held-out people's slider positions computed
    first (``SLIDER_YAWS``), all in ``worker`` (the thread the weights were loaded in; default: a new one)."""
    import asyncio

    worker = worker if worker is not None else ComputeThread("posegen-view")
    print(f"posegen serve: computing {len(SLIDER_YAWS)} views of each held-out person first…", flush=True)
    worker.run(service.precompute, SLIDER_YAWS)

    async def main() -> None:
        app = make_app(service, worker=worker)
        app.listen(port, address=ip, max_body_size=20 * 1024 * 1024)
        print(f"posegen serve: http://{ip}:{port}/  (Ctrl-C stops it)", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>posegen_lite: a person from any viewpoint</title>
<style>body{font-family:sans-serif;margin:2em;max-width:46em} img{image-rendering:pixelated;border:1px solid #ccc}
label{display:block;margin:.6em 0} #msg{color:#a00;min-height:1.2em}</style></head>
<body><h1>A person from any viewpoint</h1>
<p>One image of a person, turned about the body's axis (posegen_lite, the PG2 recipe).</p>
<label>person <select id="person"></select></label>
<label>yaw <input id="yaw" type="range" min="-180" max="180" step="5" value="45"> <span id="yawv">45</span>°</label>
<label>pitch <input id="pitch" type="range" min="-30" max="30" step="5" value="0"> <span id="pitchv">0</span>°</label>
<label id="upload">your photo <input id="file" type="file" accept="image/*"></label>
<div id="msg"></div><img id="view" alt="the novel view" width="192" height="384">
<script>
const $ = (id) => document.getElementById(id);
let asked = 0;
async function show() {
  $("yawv").textContent = $("yaw").value; $("pitchv").textContent = $("pitch").value;
  const n = ++asked;
  const q = new URLSearchParams({person: $("person").value, yaw: $("yaw").value, pitch: $("pitch").value});
  const r = await fetch("view?" + q);
  if (n !== asked) return;  // a newer request is on its way: show that one
  if (!r.ok) { $("msg").textContent = (await r.json()).error; return; }
  $("msg").textContent = ""; $("view").src = URL.createObjectURL(await r.blob());
}
async function start() {
  for (const p of await (await fetch("people")).json()) $("person").add(new Option(p.name, p.id));
  if (!{{PHOTOS}}) $("upload").hidden = true;
  for (const id of ["person", "yaw", "pitch"]) $(id).addEventListener("input", show);
  $("file").addEventListener("change", async () => {
    const f = $("file").files[0]; if (!f) return;
    $("msg").textContent = "finding the person…";
    const r = await fetch("photo?" + new URLSearchParams({name: f.name}), {method: "POST", body: f});
    const a = await r.json();
    if (!r.ok) { $("msg").textContent = a.error; return; }
    for (const p of a.people) $("person").add(new Option(p.name, p.id));
    $("person").value = a.people[0].id; show();
    $("msg").textContent = a.people.length > 1 ? a.people.length + " people found: each is in the selector" : "";
  });
  show();
}
start();
</script></body></html>
"""
