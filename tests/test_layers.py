"""The package's layers import one way only, its modules import in no circle, and no room outgrows the house.

Order, lowest first (docs/architecture.md):

    images, device, allocator, resources, assets → geometry → data → models → evaluation → training
    → pipelines → figures → app, assignments → cli, __main__

The walk reads every module's source with ``ast`` and looks at every import statement, including those inside
functions and ``if TYPE_CHECKING`` blocks, so a lazy import cannot hide a back-arrow or a circle. Modules of one
layer may import each other, but not in a circle; the two front ends ``app`` and ``assignments`` share a rank and
never import each other (the CLI above them joins them). No file is over ``MAX_FILE_LINES`` lines, and no folder's
own modules hold more than ``MAX_FOLDER_SHARE`` of the package's lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "posegen_lite"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# first part of the dotted name under posegen_lite → its rank (higher may import lower, never the reverse)
LAYERS: dict[str, int] = {
    "images": 0,
    "device": 0,
    "allocator": 0,
    "resources": 0,
    "assets": 0,
    "geometry": 1,
    "data": 2,
    "models": 3,
    "evaluation": 4,
    "training": 5,
    "pipelines": 6,  # what a user calls: needs neither training nor evaluation (test_import_stays_light)
    "figures": 7,
    "app": 8,
    "assignments": 8,
    "cli": 9,
    "__main__": 9,  # `python -m posegen_lite` is the CLI's front door
}
# Same rank, but strangers: neither front end imports the other (the CLI, above both, uses both).
STRANGERS = ("app", "assignments")
MAX_FILE_LINES = 500
MAX_FOLDER_SHARE = 0.16  # of the package's lines, in one directory's own .py files
# posegen_lite/__init__.py is the public facade: it names every layer (lazily, as strings) and sits above them all.
FACADE = PACKAGE


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer key of a posegen_lite module name (None for the facade itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def is_module(name: str, root: Path = ROOT) -> bool:
    """Whether the dotted ``posegen_lite...`` name is a module or package of the tree at ``root``."""
    folder = root.joinpath(*name.split(".")[1:])
    return folder.with_suffix(".py").is_file() or (folder / "__init__.py").is_file()


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every ``posegen_lite...`` module the file at ``path`` imports, with its line number.

    ``from posegen_lite.geometry import camera`` is an import of ``posegen_lite.geometry.camera`` when that is a
    module of the tree, else (a name defined in the package) of ``posegen_lite.geometry``; relative imports are
    resolved against the module's package.
    """
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: climb level - 1 packages from this module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == PACKAGE:  # `from posegen_lite import x`: x may be a subpackage or a public name
                found += [(node.lineno, f"{PACKAGE}.{alias.name}") for alias in node.names]
            else:
                subs = [f"{target}.{alias.name}" for alias in node.names]
                found += [(node.lineno, sub if is_module(sub, root) else target) for sub in subs]
    return [(line, mod) for line, mod in found if mod == PACKAGE or mod.startswith(PACKAGE + ".")]


def modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer():
    unknown = {layer_of(module_name(p)) for p in modules()} - set(LAYERS) - {None}
    assert not unknown, f"modules outside the known layers (add them to LAYERS and docs/architecture.md): {unknown}"


def test_no_import_points_to_a_higher_layer():
    back_arrows = []
    for path in modules():
        source = layer_of(module_name(path))
        if source is None:  # the facade
            continue
        for line, target in imported_modules(path):
            key = layer_of(target)
            if key is None:
                back_arrows.append(f"{path.relative_to(ROOT.parent)}:{line} imports the facade {PACKAGE}")
            elif key in LAYERS and LAYERS[key] > LAYERS[source]:
                back_arrows.append(f"{path.relative_to(ROOT.parent)}:{line} ({source}) imports {target} ({key})")
    assert not back_arrows, "imports from a lower layer to a higher one:\n" + "\n".join(back_arrows)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checker itself: a lazy import in a function body and a relative import are both found."""
    pkg = tmp_path / PACKAGE / "geometry"
    pkg.mkdir(parents=True)
    (pkg / "demo.py").write_text(
        "def f():\n    from posegen_lite.training import loop\n    from ..app import cli\n    from . import camera\n"
    )
    found = [mod for _, mod in imported_modules(pkg / "demo.py", root=tmp_path / PACKAGE)]
    assert found == ["posegen_lite.training", "posegen_lite.app", "posegen_lite.geometry"]
    (pkg / "camera.py").write_text("")  # now `from . import camera` names a module: the edge goes to it
    found = [mod for _, mod in imported_modules(pkg / "demo.py", root=tmp_path / PACKAGE)]
    assert found == ["posegen_lite.training", "posegen_lite.app", "posegen_lite.geometry.camera"]


# --- circles ------------------------------------------------------------------------------------------------------


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the package's modules it imports (function-level and ``TYPE_CHECKING`` imports included).

    An import of ``a.b.c`` is an edge to ``a.b.c`` only, not to the packages ``a`` and ``a.b`` whose
    ``__init__`` Python also runs first. Those package facades only re-export their submodules' names (or hold
    a docstring): counting them would close a circle between every facade and each submodule it names, which
    no code depends on. A facade that imports a module which imports the facade by name is still an edge both
    ways, so a real circle through a facade is caught.
    """
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    return {
        name: {target for _, target in imported_modules(path, root) if target in paths and target != name}
        for name, path in paths.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan): each is at least one import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    found = circles(import_graph())
    assert not found, "modules that import each other in a circle:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_the_circle_finder_sees_a_circle_through_a_function_level_import(tmp_path):
    """The checker itself: a → b at module level and b → a inside a function is a circle; a → b → c is not."""
    pkg = tmp_path / PACKAGE / "assignments"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("from . import c\n\ndef f():\n    from posegen_lite.assignments import a\n")
    (pkg / "c.py").write_text("import numpy\n")
    assert circles(import_graph(tmp_path / PACKAGE)) == [["posegen_lite.assignments.a", "posegen_lite.assignments.b"]]
    (pkg / "b.py").write_text("from . import c\n")
    assert circles(import_graph(tmp_path / PACKAGE)) == []


def test_the_front_ends_never_import_each_other():
    """``app`` and ``assignments`` share a rank; the CLI above them is where they meet."""
    arrows = []
    for path in modules():
        source = layer_of(module_name(path))
        if source not in STRANGERS:
            continue
        for line, target in imported_modules(path):
            if layer_of(target) in STRANGERS and layer_of(target) != source:
                arrows.append(f"{path.relative_to(ROOT.parent)}:{line} ({source}) imports {target}")
    assert not arrows, "imports between the front ends:\n" + "\n".join(arrows)


# --- sizes --------------------------------------------------------------------------------------------------------


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_file_is_over_the_line_limit():
    long = {str(p.relative_to(ROOT.parent)): line_count(p) for p in modules() if line_count(p) > MAX_FILE_LINES}
    assert not long, f"files over {MAX_FILE_LINES} lines (split them by concept): {long}"


def test_no_folder_holds_too_big_a_share_of_the_package():
    """A directory's own ``.py`` files (not its subfolders'): a room that grows past this wants splitting."""
    per_folder: dict[str, int] = {}
    for path in modules():
        folder = str(path.parent.relative_to(ROOT.parent))
        per_folder[folder] = per_folder.get(folder, 0) + line_count(path)
    total = sum(per_folder.values())
    big = {f: f"{n / total:.1%}" for f, n in per_folder.items() if n > MAX_FOLDER_SHARE * total}
    assert not big, f"folders over {MAX_FOLDER_SHARE:.0%} of the package's {total} lines: {big}"


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("import posegen_lite", ["torch", "posegen_lite.geometry"]),
        (
            "from posegen_lite import NovelViewSynthesizer",
            ["posegen_lite.training", "posegen_lite.evaluation", "posegen_lite.data", "skimage"],
        ),
    ],
)
def test_import_stays_light(statement, absent):
    """A user who only wants a novel view never loads the training loop, the evaluation code or scikit-image."""
    code = f"import sys; {statement}; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [], f"`{statement}` loaded {out}"
