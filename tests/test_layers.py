"""The package's layers import one way only: a lower layer never imports a higher one.

Order, lowest first (docs/architecture.md):

    images, device, allocator, resources → geometry → data → models → evaluation → training → app, assignments

The walk reads every module's source with ``ast`` and looks at every import statement, including those inside
functions and ``if TYPE_CHECKING`` blocks, so a lazy import cannot hide a back-arrow. Modules of one layer may
import each other.
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
    "app": 6,
    "assignments": 6,
    "__main__": 6,  # `python -m posegen_lite` is the CLI's front door
}
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


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every ``posegen_lite...`` module the file at ``path`` imports, with its line number.

    ``from posegen_lite.geometry import camera`` counts as an import of ``posegen_lite.geometry.camera``'s layer
    (the layer is the same either way); relative imports are resolved against the module's package.
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
                found.append((node.lineno, target))
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
