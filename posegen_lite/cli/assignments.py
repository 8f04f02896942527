"""``posegen assignments build|grade``: the command-line layer over ``build`` (argparse only)."""

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
    b.add_argument("--only", nargs="+", help="build only these assignments (e.g. stage1_pose)")
    b.add_argument(
        "--run-tests", action="store_true", help="also execute each solution notebook and run every check on it (slow)"
    )
    b.set_defaults(func=_run_build)

    g = inner.add_parser("grade", help="grade submitted notebooks into a CSV of scores (local, no Docker)")
    g.add_argument("submissions", nargs="+", help="submitted .ipynb files or folders of them")
    g.add_argument("--autograders", default="dist/autograder", help="folder of <assignment>.zip (from build)")
    g.add_argument("--csv", default="scores.csv", help="the scores table to write (default scores.csv)")
    g.add_argument(
        "--full",
        action="store_true",
        help="run the notebooks at full size (default: POSEGEN_FAST=1, the checks do not need more)",
    )
    g.add_argument("--written", help="CSV of hand-graded written points (columns student, question, points)")
    g.add_argument("--verbose", action="store_true", help="show otter's own output")
    g.set_defaults(func=_run_grade)


def _run_build(args: argparse.Namespace) -> int:
    from posegen_lite.assignments.build import MASTERS_DIR, build

    built = build(args.out, source=args.source or MASTERS_DIR, names=args.only, run_tests=args.run_tests)
    for b in built:
        print(f"{b.name}: student {b.student} | autograder {b.autograder} | solutions {b.solution}")
    return 0


def _run_grade(args: argparse.Namespace) -> int:
    from posegen_lite.assignments.grade import grade

    grades = grade(
        args.submissions, args.autograders, args.csv, fast=not args.full, verbose=args.verbose, written=args.written
    )
    for g in grades:
        status = g.error or g.first_failure or "all checks passed"
        print(f"{g.submission}: {g.total:g}/{g.total_possible:g} — {status}")
    print(f"scores → {Path(args.csv)}; a report per student → {Path(args.csv).with_suffix('')}_reports/")
    return 0
