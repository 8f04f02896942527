"""Stored reference values the checks compare against (CS231n style: a tolerance on numbers computed once).

``reference_values.json`` beside this file holds them; ``recompute.compute_reference_values()`` recomputes them
from the package's own implementations, and ``tests/test_assignments.py`` checks that the two still agree, so a
change in the package that moves them is noticed instead of silently failing students. This module only reads
them: the checks (``stage1``, ``evaluation``) import it, and ``recompute`` imports the checks.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REFERENCE_FILE = Path(__file__).with_name("reference_values.json")


@lru_cache(maxsize=1)
def reference_values() -> dict:
    """The stored values (read once)."""
    return json.loads(REFERENCE_FILE.read_text())
