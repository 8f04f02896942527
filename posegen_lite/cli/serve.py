"""``posegen serve``: the viewpoint page from one process that shares one model (a lecture hall's visitors)."""

from __future__ import annotations

import argparse

from posegen_lite.cli.common import int_at_least, positive_int

DEFAULT_PORT = 8870  # app.shared_server.DEFAULT_PORT, repeated so that `posegen serve --help` needs no torch


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="the viewpoint page from one process and one model, for a room of visitors")
    p.add_argument("--port", type=int_at_least(1), default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights)")
    p.add_argument("--people", type=positive_int, default=4, help="held-out people in the selector")
    p.add_argument("--no-photos", action="store_true", help="no photo upload (it needs MediaPipe)")
    p.add_argument("--cache-views", type=positive_int, default=512, help="views kept for the next visitor")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posegen_lite.app.compute import ComputeThread
    from posegen_lite.app.people import held_out_people
    from posegen_lite.app.shared_server import ViewService, serve
    from posegen_lite.app.viewpoint_app import check_weights
    from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS, NovelViewSynthesizer

    worker = ComputeThread("posegen-view")  # the one thread that calls torch (app/compute.py): loading included
    worker.run(check_weights, args.weights)
    synth = worker.run(NovelViewSynthesizer.from_checkpoint, args.weights or DEMO_WEIGHTS)
    people = held_out_people(args.people, (synth.height, synth.width))
    service = ViewService(synth, people, cache_views=args.cache_views, photos=not args.no_photos)
    serve(service, args.port, args.ip, worker=worker)
    return 0
