"""``posegen assignments build|grade``: the command-line layer over ``build``, ``grade`` and ``challenge``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    """Add the ``assignments`` subcommand (with ``build`` and ``grade``) to the CLI's subparsers."""
    p = sub.add_parser("assignments", help="classroom assignments: build student notebooks, grade submissions")
    inner = p.add_subparsers(dest="assignments_command", required=True)

    b = inner.add_parser("build", help="student notebooks + autograders from the master notebooks (otter assign)")
    b.add_argument("--out", default="dist", help="output folder (default dist/)")
    b.add_argument("--source", help="folder of master notebooks (default notebooks/assignments/)")
    b.add_argument("--only", nargs="+", help="build only these assignments (e.g. stage1_pose challenge)")
    b.add_argument(
        "--run-tests", action="store_true", help="also execute each solution notebook and run every check on it (slow)"
    )
    b.set_defaults(func=_run_build)

    g = inner.add_parser(
        "grade",
        help="grade submitted notebooks into a CSV of scores (local, no Docker); with --challenge, score the "
        "challenge's weights on its hidden split into a leaderboard",
    )
    g.add_argument("submissions", nargs="+", help="submitted .ipynb files or folders of them (--challenge: weights)")
    g.add_argument("--autograders", default="dist/autograder", help="folder of <assignment>.zip (from build)")
    g.add_argument("--csv", help="the table to write (default scores.csv; with --challenge leaderboard.csv)")
    g.add_argument(
        "--full",
        action="store_true",
        help="run the notebooks at full size (default: POSEGEN_FAST=1, the checks do not need more)",
    )
    g.add_argument("--written", help="CSV of hand-graded written points (columns student, question, points)")
    g.add_argument("--verbose", action="store_true", help="show otter's own output")
    c = g.add_argument_group("the challenge (docs/teaching.md, 'Challenge')")
    c.add_argument(
        "--challenge",
        action="store_true",
        help="the submissions are exported weights (<student>.pt files, or <student>/ folders holding one)",
    )
    c.add_argument("--track", default="cpu", choices=("cpu", "gpu"), help="the budget they were trained under")
    c.add_argument("--limit", type=int, help="score only this many pairs of the hidden split (default all)")
    c.add_argument("--device", default="auto", help="where to run the networks (default auto)")
    g.set_defaults(func=_run_grade)


def _run_build(args: argparse.Namespace) -> int:
    from posegen_lite.assignments.build import EVERY, MASTERS_DIR, build

    built = build(args.out, source=args.source or MASTERS_DIR, names=args.only or EVERY, run_tests=args.run_tests)
    for b in built:
        print(f"{b.name}: student {b.student} | autograder {b.autograder} | solutions {b.solution}")
    return 0


def _run_grade(args: argparse.Namespace) -> int:
    if args.challenge:
        return _run_challenge(args)
    from posegen_lite.assignments.grade import grade

    csv_path = args.csv or "scores.csv"
    grades = grade(
        args.submissions, args.autograders, csv_path, fast=not args.full, verbose=args.verbose, written=args.written
    )
    for g in grades:
        status = g.error or g.first_failure or "all checks passed"
        print(f"{g.submission}: {g.total:g}/{g.total_possible:g} — {status}")
    print(f"scores → {Path(csv_path)}; a report per student → {Path(csv_path).with_suffix('')}_reports/")
    return 0


def _run_challenge(args: argparse.Namespace) -> int:
    from posegen_lite.assignments.challenge import grade_challenge
    from posegen_lite.device import pick_device

    csv_path = args.csv or "leaderboard.csv"
    entries = grade_challenge(
        args.submissions, args.autograders, csv_path, args.track, args.limit, device=str(pick_device(args.device))
    )
    for e in entries:
        print(e)
    print(f"leaderboard → {Path(csv_path)}; a report per student → {Path(csv_path).with_suffix('')}_reports/")
    return 0
