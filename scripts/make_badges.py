"""Point the notebooks at a repository and ref: rewrite every notebook's "Open in Colab" badge and Colab install
cell, and the install that opens every assignment master's set-up cell (notebooks/assignments/), from
posegen_lite/app/colab.py's REPO_URL and REF — the one place they are configured.

    python scripts/make_badges.py                                   # rewrite from the configured repo/ref
    python scripts/make_badges.py --repo https://github.com/me/fork --ref v1.0   # configure, then rewrite
    python scripts/make_badges.py --check                           # exit 1 if a notebook disagrees

``--repo``/``--ref`` first store the new values in colab.py (so the package, the tests and every later run
agree), then rewrite the notebooks. The badge is the first line of each notebook's first (markdown) cell; the
install cell is the first code cell, generated whole by ``colab.install_cell``. A master's set-up cell is its
first code cell: its opening, up to ``colab.SETUP_END``, is ``colab.assignment_setup``; the rest is the master's
own and stays. Outputs are left alone.
``--root`` works on another checkout (the tests use a copy).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.M)
CONSTANT_RE = {name: re.compile(rf'^{name} = "[^"]*"$', re.M) for name in ("REPO_URL", "REF")}


def load_colab(root: Path):
    """The ``colab`` module of the checkout at ``root`` (read from its file, not whatever is installed)."""
    spec = importlib.util.spec_from_file_location("_posegen_colab", root / "posegen_lite" / "app" / "colab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configure(root: Path, repo: str | None, ref: str | None) -> None:
    """Store ``repo``/``ref`` (those given) as REPO_URL/REF in ``root``'s colab.py; validates them first."""
    colab = load_colab(root)
    colab.install_cell(colab.NOTEBOOKS[0], repo or colab.REPO_URL, ref or colab.REF)  # ValueError if unusable
    path = root / "posegen_lite" / "app" / "colab.py"
    text = path.read_text()
    for name, value in (("REPO_URL", repo), ("REF", ref)):
        if value is not None:
            text, n = CONSTANT_RE[name].subn(f'{name} = "{value}"', text, count=1)
            if n != 1:
                raise ValueError(f'{path}: no `{name} = "..."` line to rewrite')
    path.write_text(text)


def expected(colab, name: str) -> tuple[str, str]:
    """``(badge line, install cell source)`` that notebook ``name`` should hold."""
    return colab.colab_badge(name), colab.install_cell(name)


def first_cells(book) -> tuple:
    md = next((c for c in book.cells if c.cell_type == "markdown"), None)
    code = next((c for c in book.cells if c.cell_type == "code"), None)
    if md is None or code is None or not BADGE_RE.search(md.source):
        raise ValueError("no Colab badge in the first markdown cell, or no code cell")
    return md, code


def fix(path: Path, colab) -> bool:
    """Rewrite ``path``'s badge and install cell; True if anything changed."""
    book = nbformat.read(path, as_version=4)
    md, code = first_cells(book)
    badge, install = expected(colab, path.name)
    new_md = BADGE_RE.sub(badge, md.source, count=1)
    changed = (new_md, install) != (md.source, code.source)
    if changed:
        md.source, code.source = new_md, install
        nbformat.write(book, path)
    return changed


def is_current(path: Path, colab) -> bool:
    md, code = first_cells(nbformat.read(path, as_version=4))
    badge, install = expected(colab, path.name)
    return md.source.splitlines()[0] == badge and code.source == install


def master_setup(book, colab) -> tuple:
    """``(cell, the rest of its source after the install)`` of an assignment master's set-up cell."""
    code = next((c for c in book.cells if c.cell_type == "code"), None)
    end = -1 if code is None else code.source.find(colab.SETUP_END)
    if end < 0 or not code.source.startswith(colab.ASSIGNMENT_SETUP_START):
        raise ValueError("the first code cell does not open with the Colab install (colab.assignment_setup)")
    return code, code.source[end + len(colab.SETUP_END) :]


def fix_master(path: Path, colab) -> bool:
    """Rewrite the install that opens master ``path``'s set-up cell; True if anything changed."""
    book = nbformat.read(path, as_version=4)
    code, rest = master_setup(book, colab)
    source = colab.assignment_setup() + rest
    if source == code.source:
        return False
    code.source = source
    nbformat.write(book, path)
    return True


def is_current_master(path: Path, colab) -> bool:
    code, rest = master_setup(nbformat.read(path, as_version=4), colab)
    return code.source == colab.assignment_setup() + rest


def targets(root: Path, colab) -> list[tuple[Path, object, object]]:
    """``(path, fix, is_current)`` of every notebook to point at the repository: tutorials, then masters."""
    tutorials = [(root / "notebooks" / name, fix, is_current) for name in colab.NOTEBOOKS]
    masters = sorted((root / "notebooks" / "assignments").glob("*.ipynb"))
    return tutorials + [(path, fix_master, is_current_master) for path in masters]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report notebooks that would change")
    parser.add_argument("--repo", help="GitHub address to install from, e.g. https://github.com/OWNER/NAME")
    parser.add_argument("--ref", help="branch or tag the install cell clones (a tag pins the code for a course)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to work on (default: this one)")
    args = parser.parse_args(argv)
    if args.check and (args.repo or args.ref):
        parser.error("--check does not change the configuration; drop --repo/--ref")
    if args.repo or args.ref:
        configure(args.root, args.repo, args.ref)
    colab = load_colab(args.root)
    stale = []
    for path, fix_one, current in targets(args.root, colab):
        if (not current(path, colab)) if args.check else fix_one(path, colab):
            stale.append(str(path.relative_to(args.root / "notebooks")))
    for name in stale:
        print(("stale: " if args.check else "rewrote: ") + name)
    if not args.check:
        print(f"notebooks install {colab.REPO_URL} at {colab.REF}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
