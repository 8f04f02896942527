"""Stored reference values the checks compare against (CS231n style: a tolerance on numbers computed once).

``reference_values.json`` beside this file holds them; ``compute_reference_values()`` recomputes them from the
package's own implementations, and ``tests/test_assignments.py`` checks that the two still agree, so a
change in the package that moves them is noticed instead of silently failing students.
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


def compute_reference_values() -> dict:
    """Recompute every stored value from the package (a few seconds: renders 8 synthetic pairs)."""
    from ..evaluation import IdentityBaseline
    from ..geometry.skeleton import reference_pose
    from . import evaluation, stage1

    xy, _ = stage1._test_camera().project(reference_pose(), within_image=False)
    batch = evaluation.ablation_batch()
    identity = evaluation.reference_ablation({"identity": IdentityBaseline()}, batch)["identity"]
    return {
        "stage1": {"projected_reference_pose": [[round(float(v), 4) for v in p] for p in xy]},
        "evaluation": {
            "samples": evaluation.ABLATION_SAMPLES,
            "identity": {k: round(v, 5) for k, v in identity.items()},
        },
    }


def write_reference_values(path: str | Path = REFERENCE_FILE) -> Path:
    """Recompute and store the values (run after a deliberate change of the package's conventions)."""
    path = Path(path)
    path.write_text(json.dumps(compute_reference_values(), indent=1) + "\n")  # re-compact by hand if you like
    reference_values.cache_clear()
    return path
