"""app.shared_server: one process, one model, every visitor's views and photos (``posegen serve``)."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest
from conftest import tiny_synthesizer
from PIL import Image

from posegen_lite.app.shared_server import VIEW_ZOOM, RequestError, ViewService, make_app
from posegen_lite.app.widgets import held_out_people

SIZE = (32, 16)


@pytest.fixture(scope="module")
def service() -> ViewService:
    synth = tiny_synthesizer(SIZE)
    return ViewService(synth, held_out_people(2, SIZE), cache_views=3)


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_view_is_the_synthesizer_s_picture_and_is_computed_once(service):
    from posegen_lite.app.widgets import synthesize_person

    p = held_out_people(2, SIZE)[1]
    data = service.view("1", "45", "0")
    want = synthesize_person(service.synth, p, 45.0, 0.0).image.repeat(VIEW_ZOOM, 0).repeat(VIEW_ZOOM, 1)
    np.testing.assert_array_equal(_png(data), want)
    before = service.computed
    assert service.view("1", 45.0, 0) == data and service.computed == before  # the room's second visitor: cached
    for yaw in (10, 20, 30):  # the cache keeps 3 views: the first is dropped, then computed again
        service.view("0", yaw)
    service.view("1", "45", "0")
    assert service.computed == before + 4
    assert [p["name"] for p in service.people()] == [q.name for q in held_out_people(2, SIZE)]


@pytest.mark.parametrize(
    "args, message",
    [(("9", "0"), "no person '9'"), (("0", "east"), "yaw: not a number"), (("0", "nan"), "finite"),
     (("0", "0", "120"), "pitch must be within")],
)  # fmt: skip
def test_bad_requests_are_one_line(service, args, message):
    with pytest.raises(RequestError, match=message) as err:
        service.view(*args)
    assert "\n" not in str(err.value)


def test_a_file_that_is_not_an_image_is_one_line(service):
    pytest.importorskip("mediapipe")
    with pytest.raises(RequestError) as err:
        service.add_photo(b"this is a text file, not a photo", "/home/me/notes.txt")
    assert "\n" not in str(err.value) and str(err.value).startswith("notes.txt: not an image")


def test_the_http_front_answers_views_errors_and_many_visitors_at_once(service):
    tornado = pytest.importorskip("tornado")
    import asyncio

    from tornado.httpclient import AsyncHTTPClient, HTTPClientError
    from tornado.testing import bind_unused_port

    sock, port = bind_unused_port()

    async def visit() -> None:
        server = tornado.httpserver.HTTPServer(make_app(service))
        server.add_sockets([sock])
        client = AsyncHTTPClient()
        base = f"http://127.0.0.1:{port}"
        page = await client.fetch(base + "/")
        assert b"A person from any viewpoint" in page.body and b"{{PHOTOS}}" not in page.body
        people = json.loads((await client.fetch(base + "/people")).body)
        assert [p["id"] for p in people] == ["0", "1"]
        # ten visitors at once, each at their own yaw: every one gets a picture of the model's size
        views = await asyncio.gather(*(client.fetch(f"{base}/view?person=0&yaw={5 * k + 1}") for k in range(10)))
        for v in views:
            assert v.headers["Content-Type"] == "image/png"
            assert _png(v.body).shape == (SIZE[0] * VIEW_ZOOM, SIZE[1] * VIEW_ZOOM, 3)
        with pytest.raises(HTTPClientError) as err:
            await client.fetch(base + "/view?person=0&yaw=sideways")
        assert err.value.code == 400
        assert json.loads(err.value.response.body) == {"error": "yaw: not a number: 'sideways'"}
        server.stop()

    asyncio.run(visit())
    assert threading.active_count() < 50  # one worker thread, not one per request


def test_a_photo_becomes_a_person_for_a_while():
    pytest.importorskip("mediapipe")
    skdata = pytest.importorskip("skimage.data")
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, format="PNG")
    service = ViewService(tiny_synthesizer(SIZE), held_out_people(1, SIZE), max_photos=1)
    first = service.add_photo(buf.getvalue(), "astronaut.png")["people"][0]
    assert first["name"] == "astronaut.png"
    assert first["id"].startswith("p") and _png(service.view(first["id"], 45)).shape[:2] == (96, 48)
    same = service.synth.synthesize_photo(skdata.astronaut(), yaw=45).image  # the view synthesize_photo gives
    np.testing.assert_array_equal(_png(service.view(first["id"], 45)), same.repeat(VIEW_ZOOM, 0).repeat(VIEW_ZOOM, 1))
    second = service.add_photo(buf.getvalue())["people"][0]
    assert second["id"] != first["id"] and [p["id"] for p in service.people()] == ["0"]  # photos are not shared
    with pytest.raises(RequestError, match="no person"):
        service.view(first["id"], 45)  # one photo is kept: the older is dropped
    service.synth.close()


def test_precomputed_slider_views_are_kept_for_good():
    service = ViewService(tiny_synthesizer(SIZE), held_out_people(2, SIZE), cache_views=1)
    assert service.precompute([0.0, 45.0, 90.0], batch=2) == 6
    p = held_out_people(2, SIZE)[1]
    want = service.synth.synthesize_many(p.image, p.joints3d, [45.0, 90.0], camera=p.camera)[0].image
    for _ in range(2):
        np.testing.assert_array_equal(_png(service.view("1", "45")), want.repeat(VIEW_ZOOM, 0).repeat(VIEW_ZOOM, 1))
        service.view("0", 10)
        service.view("0", 20)  # the one-view cache turns over; the precomputed views stay
    assert service.computed == 4
