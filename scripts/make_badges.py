"""Rewrite every notebook's "Open in Colab" badge and Colab install cell from posegen_lite.app.notebook.REPO_URL.

    python scripts/make_badges.py           # rewrite in place
    python scripts/make_badges.py --check   # exit 1 if any notebook disagrees with the constant

The badge is the first line of each notebook's first (markdown) cell; the install cell is the first code cell
and holds ``REPO_URL = "..."``. Only those two lines change; outputs are left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from posegen_lite.app.notebook import NOTEBOOKS, REPO_URL, colab_badge  # noqa: E402

BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.M)
REPO_RE = re.compile(r'^REPO_URL = "[^"]*"$', re.M)


def fix(path: Path) -> bool:
    """Rewrite ``path``'s badge and install-cell address; True if anything changed. ``ValueError`` if the
    notebook lacks either place."""
    book = nbformat.read(path, as_version=4)
    first_md = next(c for c in book.cells if c.cell_type == "markdown")
    first_code = next(c for c in book.cells if c.cell_type == "code")
    if not BADGE_RE.search(first_md.source) or not REPO_RE.search(first_code.source):
        raise ValueError(f"{path}: no Colab badge in the first markdown cell or no REPO_URL in the first code cell")
    md = BADGE_RE.sub(colab_badge(path.name), first_md.source, count=1)
    code = REPO_RE.sub(f'REPO_URL = "{REPO_URL}"', first_code.source, count=1)
    changed = (md, code) != (first_md.source, first_code.source)
    if changed:
        first_md.source, first_code.source = md, code
        nbformat.write(book, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report notebooks that would change")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = ROOT / "notebooks" / name
        if args.check:
            book = nbformat.read(path, as_version=4)
            md = next(c for c in book.cells if c.cell_type == "markdown").source
            code = next(c for c in book.cells if c.cell_type == "code").source
            if colab_badge(name) not in md or f'REPO_URL = "{REPO_URL}"' not in code:
                stale.append(name)
        elif fix(path):
            stale.append(name)
    for name in stale:
        print(("stale: " if args.check else "rewrote: ") + name)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
