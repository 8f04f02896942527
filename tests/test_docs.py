"""The docs a newcomer reads stay true: their links resolve, the README stays short, module docstrings stay short.

* Every relative link (``[text](path)``, ``![alt](path)``, with or without ``#anchor``) in README.md,
  CONTRIBUTING.md, docs/*.md, benchmarks/README.md, benchmarks/notes/*.md and assets/README.md names a file or
  folder of the repository, and an anchor into a markdown file names one of its headings (GitHub's slugs).
  Links inside fenced code blocks and inline code are not links; web addresses are not checked (no network).
* README.md is at most 200 lines (CONTRIBUTING.md, "Writing docs").
* Every module docstring in posegen_lite/ is at most 15 lines; measurements belong in benchmarks/.
* The README's quality figure is the one ``bench_quality.py`` last recorded, and that record was made with the
  shipped weights and the synthesizer's own blend: new weights fail here until the benchmark is run again.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 200
DOCSTRING_MAX_LINES = 15


def _doc_files() -> list[Path]:
    files = [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "benchmarks/README.md", "assets/README.md")]
    files += sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "benchmarks" / "notes").glob("*.md"))
    return [f for f in files if f.exists()]


_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
# [text](target) or ![alt](target); the text may hold one level of brackets; the target ends at a space or ")"
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line with inline code removed) for every line outside fenced code blocks."""
    lines, in_fence = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            lines.append((number, _INLINE_CODE.sub("", line)))
    return lines


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every markdown link in the file's prose."""
    return [(n, m.group(1)) for n, line in _prose_lines(path.read_text(encoding="utf-8")) for m in _LINK.finditer(line)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (word characters, spaces and hyphens
    kept), spaces to hyphens. Markdown links in the heading count by their text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, with GitHub's -1, -2 … suffixes for repeated headings."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def _is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith("//")


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """One line per link of ``path`` that does not resolve: 'file:line: target (why)', file relative to ``root``."""
    problems = []
    for number, target in links(path):
        if _is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not resolved.exists():
            problems.append(f"{where} (no such file)")
        elif root not in resolved.parents and resolved != root:
            problems.append(f"{where} (outside the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where} (no heading with this anchor)")
    return problems


def test_the_link_checker_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `posegen` command: flags\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](other.md) [ok anchor](other.md#the-posegen-command-flags) [self](#page)\n"
        "[missing](nope.md) [bad anchor](other.md#nope) [web](https://example.org/x)\n"
        "`[not a link](nope2.md)`\n```\n[in a fence](nope3.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert problems == ["page.md:3: nope.md (no such file)", "page.md:3: other.md#nope (no heading with this anchor)"]


def test_slugs_follow_github() -> None:
    assert slug("Your own photos") == "your-own-photos"
    assert slug("`bench_ddp.py`: 1 vs 2 processes") == "bench_ddppy-1-vs-2-processes"
    assert slug("Run times (measured)") == "run-times-measured"
    assert slug("Stage I → II, done") == "stage-i--ii-done"


@pytest.mark.parametrize("path", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert not broken_links(path), "\n".join(broken_links(path))


def test_the_docs_have_links_to_check() -> None:
    assert sum(len(links(p)) for p in _doc_files()) > 20, "the link pattern no longer matches the docs' links"


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def docstring_lines(path: Path) -> int:
    """Lines of a module's docstring text (0 without one); the closing quotes' own line does not count."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=True)
    return len(docstring.strip().splitlines()) if docstring else 0


def test_module_docstrings_are_short() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "posegen_lite").rglob("*.py"))
        if (n := docstring_lines(p)) > DOCSTRING_MAX_LINES
    }
    assert not long, f"module docstrings over {DOCSTRING_MAX_LINES} lines (move detail to docs/): {long}"


def test_the_readme_s_quality_figure_is_the_benchmark_s_for_the_shipped_weights() -> None:
    import hashlib
    import json

    from posegen_lite.geometry.warp import OUTLINE_RING
    from posegen_lite.models.texture_completion import TEXTURE_SHARE
    from posegen_lite.resources import completion_weights, demo_weights

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    quoted = re.search(r"as the demo shows it is (\d\.\d+)× that of returning the input \(95 % interval "
                       r"(\d\.\d+)–(\d\.\d+)", readme)  # fmt: skip
    assert quoted, "README.md no longer quotes the quality figure this test checks"
    record = json.loads((ROOT / "benchmarks" / "results" / "bench_quality.json").read_text())
    (row,) = [r for r in record["ratio_intervals"] if r["split"] == "test" and r["model"] == "G1+G2 + blend"]
    assert quoted.groups() == tuple(f"{row[k]:.3f}" for k in ("ratio", "low", "high"))
    assert row["samples"] == 320 and record["limit"] is None  # every held-out test pair
    sha = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in
           (("checkpoint", demo_weights()), ("completion", completion_weights()))}  # fmt: skip
    assert record["sha256"] == sha, "the shipped weights changed: run benchmarks/bench_quality.py again"
    assert record["texture_share"] == TEXTURE_SHARE and record["fill_ring"] == OUTLINE_RING
