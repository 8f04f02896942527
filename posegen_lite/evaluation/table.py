"""The evaluation table of checkpoints and baselines (what ``posegen evaluate`` prints).

The baselines (returning I_A, the mean image of 256 training targets) are always scored; each checkpoint adds
its G1 (and G1+G2) rows, with ``fill_ring`` the same networks with the background filled (rows ``… + fill``), and
with ``texture_share`` too, as the demo shows them (rows ``… + blend``: the unseen side mixed with the input's
re-lit texture, completed by ``completion``'s network when given; the seen side re-lit). Per split a CSV and a
summary JSON are written (``reports.write_results``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.device import pick_device
from posegen_lite.evaluation.predictors import IdentityBaseline, MeanImageBaseline, Predictor, checkpoint_predictors
from posegen_lite.evaluation.protocol import EvalResult, evaluate
from posegen_lite.evaluation.reports import markdown_table, refinement_report, write_results
from posegen_lite.models.texture_completion import load_completion


def _label(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def table_predictors(
    spec: DataSpec,
    checkpoints: Sequence[Path],
    fill_ring: int | None = None,
    texture_share: float | None = None,
    completion: Path | None = None,
) -> dict[str, Predictor]:
    """The baselines and every checkpoint's networks, by row name; the blend's texture completed by the network
    saved at ``completion`` when given (``texture_completion.load_completion``). Raises ``ValueError`` when a
    checkpoint makes images of another size than ``spec.size``, ``FileNotFoundError`` when one is missing."""
    net = None if completion is None or texture_share is None else load_completion(completion)
    for c in checkpoints:
        if not c.exists():
            raise FileNotFoundError(f"checkpoint {c} does not exist")
    device = pick_device("auto")
    predictors: dict[str, Predictor] = {
        "identity": IdentityBaseline(),
        "mean image": MeanImageBaseline.fit(build_dataset(spec, "train"), n=256),
    }
    for c in checkpoints:
        suffix = f" ({_label(c)})" if len(checkpoints) > 1 else ""
        found = checkpoint_predictors(c, device=device, suffix=suffix)
        g1 = next(iter(found.values())).g1
        if (g1.config.height, g1.config.width) != tuple(spec.size):
            raise ValueError(
                f"{c} makes {g1.config.height}×{g1.config.width} images but --size is "
                f"{spec.size[0]}x{spec.size[1]}; pass --size {g1.config.height}x{g1.config.width}"
            )
        predictors.update(found)
        if fill_ring is not None:  # the same networks, the background filled as the synthesizer does it
            predictors.update(checkpoint_predictors(c, device=device, suffix=f" + fill{suffix}", fill_ring=fill_ring))
        if fill_ring is not None and texture_share is not None:  # … and the unseen side blended: what the demo shows
            predictors.update(checkpoint_predictors(c, device, f" + blend{suffix}", fill_ring, texture_share, net))
    return predictors


def evaluation_table(
    spec: DataSpec,
    checkpoints: Sequence[Path],
    splits: Sequence[str],
    out: str | Path,
    batch_size: int = 32,
    limit: int | None = None,
    fill_ring: int | None = None,
    log: Callable[[str], None] = print,
    texture_share: float | None = None,
    completion: Path | None = None,
) -> str:
    """Score the baselines and ``checkpoints`` on ``splits``; write each split's CSV and JSON and
    ``out/table.md``; return the markdown table. A real dataset without a ``test_hard`` split skips it."""
    predictors = table_predictors(spec, checkpoints, fill_ring, texture_share, completion)
    results: list[EvalResult] = []
    for split in splits:
        try:
            dataset = build_dataset(spec, split)
        except ValueError as err:
            if spec.data != "synthetic" and split == "test_hard":
                print(f"skipping {split}: {err}", file=sys.stderr)
                continue
            raise
        result = evaluate(predictors, dataset, batch_size=batch_size, limit=limit, split=split)
        paths = write_results(result, out)
        log(f"{split}: {len(result)} samples in {result.seconds:.0f} s → {paths['csv']}, {paths['json']}")
        if {"G1", "G1+G2"} <= set(result.models):
            rep = refinement_report(result)
            log(
                f"{split}: sharpness G1 {rep['sharpness_coarse']:.3f} → G1+G2 {rep['sharpness_refined']:.3f}; "
                f"mask-SSIM change {-rep['mask_ssim_drop']:+.4f}"
            )
        results.append(result)
    if not results:
        raise ValueError("no split could be evaluated")
    table = markdown_table(results)
    (Path(out) / "table.md").write_text(table + "\n")
    return table
