"""Recomputing the reference values the checks compare against (``reference.reference_values``) from the
package's own implementations: run after a deliberate change of the package's conventions.

    python -c "from posegen_lite.assignments.recompute import write_reference_values; write_reference_values()"
"""

from __future__ import annotations

import json
from pathlib import Path

from . import evaluation, stage1
from .reference import REFERENCE_FILE, reference_values


def compute_reference_values() -> dict:
    """Recompute every stored value from the package (a few seconds: renders 8 synthetic pairs)."""
    from ..evaluation import IdentityBaseline
    from ..geometry.skeleton import reference_pose

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
