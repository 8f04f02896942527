"""Re-executing the notebooks to refresh their stored outputs (what is committed, so readers on GitHub see the
figures): a tool for the repository's maintainers, not something a notebook calls.

    python -m posegen_lite.app.notebook_runner                      # every notebook, CPU tier
    python -m posegen_lite.app.notebook_runner --tier fast notebooks/02_stage2_unet.ipynb
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from posegen_lite.app.colab import NOTEBOOKS
from posegen_lite.app.notebook_runs import ROOT, RUNS_ENV
from posegen_lite.app.tiers import FAST_ENV, SIZE_ENV, TIERS


def execute_notebook(path: str | Path, tier: str = "cpu", timeout: int = 1800) -> float:
    """Run a notebook top to bottom at ``tier`` and store its outputs in place (what is committed, so readers
    on GitHub see the figures); returns the seconds it took. Needs ``nbclient`` (installed with nbval).

    ``tier="cpu"`` (the default) stores what a reader should see: real weights, a short real training;
    ``"fast"`` is what CI runs. Training runs go to a fresh temporary ``POSEGEN_RUNS`` folder, so an old run
    is never resumed into the stored outputs.

        python -m posegen_lite.app.notebook_runner                      # every notebook, CPU tier
        python -m posegen_lite.app.notebook_runner --tier fast notebooks/02_stage2_unet.ipynb
    """
    import tempfile
    import time

    import nbformat
    from nbclient import NotebookClient

    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; choose one of {', '.join(TIERS)}")
    path = Path(path)
    book = nbformat.read(path, as_version=4)
    keys = (FAST_ENV, SIZE_ENV, RUNS_ENV, "MPLBACKEND")
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="posegen_runs_") as runs:
        os.environ.update({SIZE_ENV: tier, RUNS_ENV: runs, "MPLBACKEND": "Agg"})  # the kernel inherits them
        os.environ[FAST_ENV] = "1" if tier == "fast" else "0"
        try:
            t0 = time.monotonic()
            NotebookClient(
                book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
            ).execute()
            seconds = time.monotonic() - t0
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    nbformat.write(book, path)
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Re-execute notebooks and store their outputs in place.")
    parser.add_argument("notebooks", nargs="*", help="notebook files (default: all of notebooks/)")
    parser.add_argument("--tier", default="cpu", choices=list(TIERS), help="size tier to run at (default: cpu)")
    args = parser.parse_args(argv)
    for arg in args.notebooks or [str(ROOT / "notebooks" / n) for n in NOTEBOOKS]:
        seconds = execute_notebook(arg, tier=args.tier)
        print(f"{arg}: {seconds:.1f} s at tier {args.tier}, {Path(arg).stat().st_size / 1e3:.0f} kB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
