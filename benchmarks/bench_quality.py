"""The quality table: identity, mean image, G1 and G1+G2 on the synthetic test and hard-views splits.

G1 and G1+G2 are scored twice: as the networks give them, and with the background filled as the synthesizer
(the demo, the widget) does it, rows "… + fill" (``warp.fill_uncovered``: the background the input's body
covered and the ring round the target's body proxy, ``--fill-ring``).

One command, the protocol of ``posegen_lite/evaluation/protocol.py`` (uint8 images, SSIM σ = 1.5 / 11×11 / range 255;
the table leads with L1 inside the target body mask, bbox-SSIM and the detail regions, because mask-SSIM
saturates on this data). The splits hold people the model never trained on. The image size comes from the
checkpoint. The mean-image baseline averages 256 training targets. Each model's L1 in the body is also given as
a ratio to the identity baseline's with a 95 % bootstrap interval that resamples the held-out people
(``evaluation.uncertainty``): a split holds only 40 people, and their pairs are not independent.

Run: ``python benchmarks/bench_quality.py [--checkpoint posegen_lite/assets/demo_128x64.pt] [--quick]``; prints
the table, writes ``benchmarks/results/quality.md`` (the table with its provenance), ``bench_quality.json`` and
the per-sample CSVs under ``benchmarks/results/quality/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation import (
    IdentityBaseline,
    MeanImageBaseline,
    WarpBaseline,
    checkpoint_predictors,
    evaluate,
    markdown_table,
    refinement_report,
    result_ratio_interval,
    write_results,
    yaw_table,
)
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

RESULTS = Path(__file__).resolve().parent / "results"
FILLED = " + fill"  # the rows of the networks with the background filled (the synthesizer's output)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEMO_WEIGHTS, help="checkpoint file or run dir")
    parser.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    parser.add_argument(
        "--people",
        type=int,
        default=400,
        help="training people of the synthetic dataset (held-out splits get a tenth, at least 8)",
    )
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="samples per split (default: all)")
    parser.add_argument("--quick", action="store_true", help="32 samples per split")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="where the networks run: cpu or cuda (same metrics)")
    parser.add_argument(
        "--fill-ring",
        type=int,
        default=OUTLINE_RING,
        help="also score the networks with the background filled as the synthesizer does (warp.fill_uncovered "
        "with this ring, rows '… + fill'); -1: only the networks' own output",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.checkpoint.exists():
        parser.error(f"{args.checkpoint} does not exist; pass --checkpoint runs/<run> (a Stage II or III run)")
    limit = 32 if args.quick and args.limit is None else args.limit

    ckpt_path, state = resolve_checkpoint(args.checkpoint)
    predictors = checkpoint_predictors(ckpt_path, device=args.device)
    g1 = predictors["G1"].g1
    size = (g1.config.height, g1.config.width)
    # extras: the body-proxy flow (for a G1 that warps) and the exact parts behind the detail metrics
    spec = DataSpec(data="synthetic", size=size, people=args.people, views=args.views, seed=args.data_seed, extras=True)
    predictors = {
        "identity": IdentityBaseline(),
        "mean image": MeanImageBaseline.fit(build_dataset(spec, "train"), n=256),
        "warp paste": WarpBaseline(),
        **predictors,
    }
    if args.fill_ring >= 0:  # what the demo and the widget show: the same networks, the background filled
        predictors |= checkpoint_predictors(ckpt_path, device=args.device, suffix=FILLED, fill_ring=args.fill_ring)

    results, rows, reports, intervals = [], [], [], []
    for split in args.splits:
        result = evaluate(predictors, build_dataset(spec, split), batch_size=args.batch_size, limit=limit, split=split)
        write_results(result, args.out / "quality")
        results.append(result)
        for model in result.models:
            rows.append(
                {
                    "split": split,
                    "model": model,
                    "samples": len(result),
                    **{m: s["mean"] for m, s in result.summary[model].items()},
                }
            )
        for model in result.models:
            if model != "identity":
                ci = result_ratio_interval(result, model)
                intervals.append({"split": split, "model": model, **vars(ci)})
        for suffix in ("", FILLED):
            if f"G1+G2{suffix}" in result.models:
                reports.append(refinement_report(result, f"G1{suffix}", f"G1+G2{suffix}") | {"models": suffix})

    table = markdown_table(results)
    info = machine_info()
    provenance = (
        f"checkpoint `{ckpt_path}` (stage {state.get('stage')}, step {state.get('step')}, "
        f"{size[0]}×{size[1]}, G1 width {g1.config.base_channels}); synthetic data seed {args.data_seed}, "
        f"held-out people of {args.people}-person training set; {len(results[0])} samples per split; "
        f"{info['time_utc']}, git {info['git_commit']}"
    )
    lines = [table, "", provenance]
    for result in results:  # the mean over all viewpoint changes hides whether small turns beat doing nothing
        shown = [m for m in result.models if m != "mean image"]
        lines += ["", f"L1 in the body by |yaw|, {result.split}:", "", yaw_table(result, models=shown)]
    lines += [
        "",
        "L1 in the body / the identity baseline's, with a 95 % bootstrap interval (the held-out people resampled, "
        "each with all their pairs; 2,000 resamples):",
        "",
        "| split | model | ratio | 95 % interval | people |",
        "|---|---|--:|--:|--:|",
        *(
            f"| {c['split']} | {c['model']} | {c['ratio']:.3f}× | {c['low']:.3f}–{c['high']:.3f} | {c['groups']} |"
            for c in intervals
        ),
    ]
    for rep in reports:
        lines.append(
            f"\nG1 → G1+G2{rep['models']} on {rep['split']}: sharpness ratio {rep['sharpness_coarse']:.3f} → "
            f"{rep['sharpness_refined']:.3f} (refined sharper on {100 * rep['fraction_refined_sharper']:.0f}% "
            f"of samples); mask-SSIM {rep['mask_ssim_coarse']:.4f} → {rep['mask_ssim_refined']:.4f}; "
            f"refinement criterion (docs/evaluation.md) {'met' if rep['passes'] else 'not met'}"
        )
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.md").write_text(text)
    print(text)
    path = write_json(
        args.out / "bench_quality.json",
        rows,
        checkpoint=str(ckpt_path),
        step=state.get("step"),
        refinement=reports,
        ratio_intervals=intervals,
        limit=limit,
    )
    print(f"wrote {args.out / 'quality.md'} and {path}")
    return rows


if __name__ == "__main__":
    main()
