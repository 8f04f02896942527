"""The ``posegen`` command line: each subcommand a thin layer over a library function (cli/, a module each).

posegen demo            the main job: novel views of held-out people (grid PNG + turntable GIF; --crowd: 2–6)
posegen app | serve     the viewpoint page: Voilà, a kernel per visitor | one process and model for a room
posegen stage1-figure   Stage I figure: skeleton, pose maps and mask at several yaws
posegen synth           render a split of the embedded dataset to disk (PNG + manifest)
posegen train           Stage II or Stage III training (--config configs/*.toml); works under torchrun
posegen evaluate        the evaluation table for checkpoints and baselines
posegen export          inference-only weights of a checkpoint (what ships in assets/)
posegen check-data      validate a real dataset's folder layout
posegen train-lifter    retrain the learned 2D→3D lifter shipped in assets/lifter.pt
posegen assignments     classroom assignments: build student notebooks and autograders, grade submissions

A project error (bad option, missing or damaged checkpoint or dataset file, a diverged training) is one line
on stderr and a non-zero exit status; `posegen --debug ...` or POSEGEN_DEBUG=1 shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from posegen_lite.cli import (
    app,
    assignments,
    check_data,
    demo,
    evaluate,
    export,
    serve,
    stage1_figure,
    synth,
    train,
    train_lifter,
)

SUBCOMMANDS = (demo, app, serve, stage1_figure, synth, train, evaluate, export, check_data, train_lifter, assignments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posegen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (or POSEGEN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def _project_errors() -> tuple[type[BaseException], ...]:
    """What a user can cause and fix: bad options and files (ValueError covers FormatError, ImageError and
    NoPersonFoundError), missing files and disks (OSError), damaged checkpoints, a diverged training, a
    missing optional extra. Anything else is a bug and keeps its traceback."""
    from posegen_lite.models.checkpoints import CheckpointError

    return (ValueError, OSError, CheckpointError, FloatingPointError, ImportError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.debug or os.environ.get("POSEGEN_DEBUG", "") not in ("", "0"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except _project_errors() as err:
        # Bad input deserves a one-line message, not a traceback.
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"posegen {args.command}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 1 if isinstance(err, FloatingPointError) else 2


if __name__ == "__main__":
    sys.exit(main())
