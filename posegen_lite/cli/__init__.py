"""The ``posegen`` command line, the package's top layer: one module per subcommand (``main.py`` lists them).

Importing it needs no torch, so ``posegen --help`` and ``posegen <sub> --help`` answer at once.
"""

from posegen_lite.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
