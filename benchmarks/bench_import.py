"""Import time: what ``import posegen_lite`` and ``from posegen_lite import NovelViewSynthesizer`` cost.

Each measurement is a fresh Python process that times one import statement with ``time.perf_counter`` (the
interpreter's own start-up is not counted) and reports which heavy modules the statement loaded. The median of
``--repeats`` runs is reported, after one discarded warm-up run per statement (file-system cache). ``import
torch`` alone is measured too, because it is most of what a novel view has to import.

``--ref REV`` measures the same statements on another commit as well (e.g. ``--ref b14cdd9``, the tree before
the stage folders), exported with ``git archive`` into a temporary folder that is removed afterwards. The two trees are
measured in alternation, so a change in the machine's load hits both alike. The tree under test is put first on
``sys.path`` of each process (and each process reports the file it imported), so the measured code is that
tree's, whatever is installed.

Run: ``python benchmarks/bench_import.py [--repeats 9] [--ref b14cdd9] [--quick]``; prints a table, writes
``benchmarks/results/bench_import.json`` (with the load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_json

REPO = Path(__file__).resolve().parents[1]
STATEMENTS = (
    "import torch",
    "import posegen_lite",
    "from posegen_lite import NovelViewSynthesizer",
)
# modules whose presence after an import says what it dragged in
HEAVY = ("torch", "skimage", "matplotlib", "scipy", "plotly", "ipywidgets", "posegen_lite.training",
         "posegen_lite.evaluation", "posegen_lite.train", "posegen_lite.evaluate")  # fmt: skip

PROBE = """
import json, sys, time
t0 = time.perf_counter()
{statement}
seconds = time.perf_counter() - t0
pkg = sys.modules.get("posegen_lite")
print(json.dumps({{"seconds": seconds, "file": getattr(pkg, "__file__", None),
                  "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure_once(statement: str, tree: Path) -> dict:
    """One fresh process importing from ``tree``: ``{"seconds", "file", "loaded"}`` or ``{"error"}``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = PROBE.format(statement=statement, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(trees: dict[str, Path], repeats: int) -> list[dict]:
    """Median import time of every statement in every tree, the trees measured in alternation."""
    runs: dict[tuple[str, str], list[dict]] = {(label, s): [] for label in trees for s in STATEMENTS}
    for statement in STATEMENTS:
        for tree in trees.values():  # warm-up: file-system cache, .pyc files
            measure_once(statement, tree)
        for _ in range(repeats):
            for label, tree in trees.items():
                runs[label, statement].append(measure_once(statement, tree))
    rows = []
    for (label, statement), results in runs.items():
        ok = [r for r in results if "error" in r] == []
        times = [r["seconds"] for r in results if "seconds" in r]
        last = results[-1]
        rows.append(
            {
                "tree": label,
                "statement": statement,
                "median_s": statistics.median(times) if ok else None,
                "min_s": min(times) if ok else None,
                "max_s": max(times) if ok else None,
                "runs": len(times),
                "loaded": last.get("loaded"),
                "imported_from": last.get("file"),
                "error": None if ok else next(r["error"] for r in results if "error" in r),
            }
        )
    return rows


def export_revision(rev: str, folder: Path) -> Path:
    """The files of ``rev`` in ``folder`` (``git archive``: no checkout, no worktree bookkeeping)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _revision(tree: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="fresh processes per statement and tree")
    parser.add_argument("--ref", help="also measure this git revision (e.g. b14cdd9), exported to a temporary folder")
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_import.json")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="posegen_bench_import_") as tmp:
        trees = {f"this tree ({_revision(REPO) or 'uncommitted'})": REPO}
        if args.ref:
            trees[args.ref] = export_revision(args.ref, Path(tmp) / "ref")
        rows = measure(trees, repeats)
    load_after = os.getloadavg()

    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); {repeats} runs each")
    print("| statement | tree | median s | min s | max s | heavy modules loaded |\n|---|---|--:|--:|--:|---|")
    for r in sorted(rows, key=lambda r: (STATEMENTS.index(r["statement"]), r["tree"])):
        if r["error"]:
            print(f"| `{r['statement']}` | {r['tree']} | failed: {r['error']} | | | |")
            continue
        loaded = ", ".join(r["loaded"]) or "none"
        print(
            f"| `{r['statement']}` | {r['tree']} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} "
            f"| {loaded} |"
        )
    path = write_json(args.out, rows, repeats=repeats, load_average_before=load_before, load_average_after=load_after)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
