"""Show the source of a library function in a notebook, so calling the library never hides the lesson.

``show_source(masked_l1)`` displays the function's code (syntax-highlighted markdown in Jupyter, Colab and on
GitHub; plain text elsewhere) with the file and line it comes from. It reads the installed code, so what the
notebook shows is always what runs.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

__all__ = ["Source", "show_source"]


class Source:
    """A function's (or class's) source code and where it lives; displays itself as a Python code block."""

    def __init__(self, obj, docstring: bool = True) -> None:
        obj = inspect.unwrap(obj)  # a decorated function (``@torch.no_grad()``): its own file, not the decorator's
        lines, first = inspect.getsourcelines(obj)
        code = textwrap.dedent("".join(lines))
        if not docstring:
            code = _drop_docstring(code)
        self.code = code.rstrip() + "\n"
        self.name = getattr(obj, "__qualname__", repr(obj))
        path = Path(inspect.getsourcefile(obj) or "?")
        parts = path.parts
        # show the path from the package down (posegen_lite/training/losses.py), not the machine's folders
        # (the innermost "posegen_lite": on Colab the checkout folder has the package's name too)
        pkg = max((i for i, p in enumerate(parts) if p == "posegen_lite"), default=None)
        self.where = "/".join(parts[pkg:]) if pkg is not None else path.name
        self.line = first

    def __repr__(self) -> str:
        return f"# {self.where}, line {self.line}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"`{self.where}`, line {self.line}\n```python\n{self.code}```"


def _drop_docstring(code: str) -> str:
    """``code`` without the docstring of its outer function/class (kept short on screen)."""
    import ast

    tree = ast.parse(code)
    node = tree.body[0]
    body = getattr(node, "body", None)
    if not body or not isinstance(body[0], ast.Expr) or not isinstance(getattr(body[0], "value", None), ast.Constant):
        return code
    lines = code.splitlines(keepends=True)
    doc = body[0]
    return "".join(lines[: doc.lineno - 1] + lines[doc.end_lineno :])


def show_source(obj, docstring: bool = True) -> Source:
    """The source of ``obj`` (a function, method or class) as a ``Source`` that a notebook displays.

    ``docstring=False`` leaves out the outer docstring, when the notebook's text already explains it."""
    return Source(obj, docstring=docstring)
