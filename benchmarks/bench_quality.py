"""The quality table: identity, mirror, per-part median, mean image, G1 and G1+G2 on the synthetic test and
hard-views splits, and the measures of the unseen side (L1 on unseen pixels, mottle, turntable consistency).

G1 and G1+G2 are scored twice: as the networks give them, and with the background filled as the synthesizer
(the demo, the widget) does it, rows "… + fill" (``warp.fill_uncovered``: the background the input's body
covered and the ring round the target's body proxy, ``--fill-ring``).

One command, the protocol of ``posegen_lite/evaluation/protocol.py`` (uint8 images, SSIM σ = 1.5 / 11×11 / range 255;
the table leads with L1 inside the target body mask, bbox-SSIM and the detail regions, because mask-SSIM
saturates on this data). The splits hold people the model never trained on. The image size comes from the
checkpoint. The mean-image baseline averages 256 training targets. Each model's L1 in the body is also given as
a ratio to the identity baseline's with a 95 % bootstrap interval that resamples the held-out people
(``evaluation.uncertainty``): a split holds only 40 people, and their pairs are not independent.

The unseen side (docs/evaluation.md, "Measures of the unseen side"): every model's L1 on the target body
pixels the input never saw (also as a ratio to the identity baseline's), its mottle ratio there (median over
samples), and its turntable consistency ratio on ``--turntable-people`` held-out people of ``test_hard``
(targets 5° apart; median over people).

Run: ``python benchmarks/bench_quality.py [--checkpoint posegen_lite/assets/demo_128x64.pt] [--quick]``; prints
the table, writes ``benchmarks/results/quality.md`` (the table with its provenance), ``bench_quality.json`` and
the per-sample CSVs under ``benchmarks/results/quality/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import file_sha256, machine_info, write_json

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.evaluation import (
    EvalResult,
    IdentityBaseline,
    MeanImageBaseline,
    MirrorBaseline,
    PartMedianBaseline,
    SourceParts,
    UnseenRecorder,
    WarpBaseline,
    checkpoint_predictors,
    evaluate,
    markdown_table,
    refinement_report,
    result_ratio_interval,
    turntable_pair,
    turntable_scores,
    write_results,
    yaw_table,
)
from posegen_lite.geometry.warp import OUTLINE_RING
from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.models.texture_completion import TEXTURE_SHARE, load_completion
from posegen_lite.pipelines.synthesizer import COMPLETION_WEIGHTS, DEMO_WEIGHTS

RESULTS = Path(__file__).resolve().parent / "results"
FILLED = " + fill"  # the rows of the networks with the background filled
BLENDED = " + blend"  # … and the unseen side mixed with the re-lit texture: the synthesizer's output
QUICK_SAMPLES, QUICK_MEAN, QUICK_TURNTABLE = 16, 32, 3  # --quick: a smoke run in under a minute, not a figure
TURNTABLE_STEP = 5.0  # degrees between the two target views of the turntable consistency


def with_unseen_scores(result: EvalResult, recorders: dict[str, UnseenRecorder]) -> EvalResult:
    """``result`` with each model's mottle ratio (``UnseenRecorder``, same samples in the same order) added."""
    per_sample = {m: values | {"mottle_ratio": recorders[m].scores()["mottle_ratio"]} for m, values in
                  result.per_sample.items()}  # fmt: skip
    return EvalResult(result.split, per_sample, result.meta, seconds=result.seconds)


def _median(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan")


def unseen_table(results: list[EvalResult], turntable: dict, n_turntable: int) -> list[str]:
    """The unseen side's tables: L1 on unseen pixels (and ÷ identity's) and mottle ratio per split; the
    turntable ratios (test_hard only)."""
    lines = [
        "The unseen side (docs/evaluation.md): L1 on the target body pixels the input never saw (mean; ÷ the "
        "identity baseline's); mottle ratio there, within body parts (median over the samples where it is "
        "defined; 1 = as much fine texture as the truth, > 1 mottled, < 1 too flat):",
        "",
        "| split | model | L1 unseen ↓ | × identity | mottle →1 | samples with mottle |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for result in results:
        base = result.mean("identity", "masked_l1_unseen")
        for model in result.models:
            l1 = result.mean(model, "masked_l1_unseen")
            mottle = result.per_sample[model]["mottle_ratio"]
            lines.append(
                f"| {result.split} | {model} | {l1:.4f} | {l1 / base:.3f}× | {_median(mottle):.3f} | "
                f"{int(np.isfinite(mottle).sum())} |"
            )
    if turntable:
        lines += [
            "",
            f"Turntable consistency on test_hard, two targets {TURNTABLE_STEP:g}° apart from one input: the "
            "predictions' difference on the surface points both views show ÷ the true images' (median over "
            f"{n_turntable} people; 1 = as consistent as the truth, > 1 flickers, < 1 more static than the truth):",
            "",
            "| model | turntable →1 | on points the input never saw →1 |",
            "|---|--:|--:|",
            *(
                f"| {model} | {_median(s['turntable']):.3f} | {_median(s['turntable_unseen']):.3f} |"
                for model, s in turntable.items()
            ),
        ]
    return lines


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
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SAMPLES} samples per split, the mean image of {QUICK_MEAN} targets, "
        f"{QUICK_TURNTABLE} turntable people, no '+ fill' rows",
    )
    parser.add_argument(
        "--turntable-people",
        type=int,
        default=None,
        help="held-out people (test_hard) of the turntable consistency, targets 5° apart (default 8; 0: none)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="where the networks run: cpu or cuda (same metrics)")
    parser.add_argument(
        "--fill-ring",
        type=int,
        default=OUTLINE_RING,
        help="also score the networks with the background filled as the synthesizer does (warp.fill_uncovered "
        "with this ring, rows '… + fill'); -1: only the networks' own output",
    )
    parser.add_argument(
        "--texture-share",
        type=float,
        default=TEXTURE_SHARE,
        help="with the fill, also score the networks with the unseen side mixed with this share of the input's "
        "re-lit texture, as the synthesizer's unseen='blend' (rows '… + blend'); -1: not",
    )
    parser.add_argument(
        "--completion",
        default=str(COMPLETION_WEIGHTS),
        help="the texture completion network of the blend's texture (default: the shipped one, as the synthesizer "
        "uses it); 'none': the hand-made fill alone",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.checkpoint.exists():
        parser.error(f"{args.checkpoint} does not exist; pass --checkpoint runs/<run> (a Stage II or III run)")
    limit = QUICK_SAMPLES if args.quick and args.limit is None else args.limit
    if args.quick:
        args.fill_ring = -1
    n_turntable = args.turntable_people if args.turntable_people is not None else QUICK_TURNTABLE if args.quick else 8

    ckpt_path, state = resolve_checkpoint(args.checkpoint)
    no_net = args.completion == "none"
    predictors = checkpoint_predictors(ckpt_path, device=args.device)
    g1 = predictors["G1"].g1
    size = (g1.config.height, g1.config.width)
    # extras: the body-proxy flow (for a G1 that warps) and the exact parts behind the detail metrics
    spec = DataSpec(data="synthetic", size=size, people=args.people, views=args.views, seed=args.data_seed, extras=True)
    predictors = {
        "identity": IdentityBaseline(),
        "mirror": MirrorBaseline(),
        "per-part median": PartMedianBaseline(),
        "mean image": MeanImageBaseline.fit(build_dataset(spec, "train"), n=QUICK_MEAN if args.quick else 256),
        "warp paste": WarpBaseline(),
        **predictors,
    }
    if args.fill_ring >= 0:  # the same networks, the background filled
        predictors |= checkpoint_predictors(ckpt_path, device=args.device, suffix=FILLED, fill_ring=args.fill_ring)
    if args.fill_ring >= 0 and args.texture_share >= 0:  # … and the unseen side blended: what the demo shows
        net = None if no_net else load_completion(args.completion)
        predictors |= checkpoint_predictors(ckpt_path, args.device, BLENDED, args.fill_ring, args.texture_share, net)

    results, rows, reports, intervals = [], [], [], []
    for split in args.splits:
        # SourceParts: the proxy's parts in the input view, for the per-part median baseline
        recorders = {name: UnseenRecorder(predict) for name, predict in predictors.items()}
        result = evaluate(
            recorders, SourceParts(build_dataset(spec, split)), batch_size=args.batch_size, limit=limit, split=split
        )
        result = with_unseen_scores(result, recorders)
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
        for suffix in ("", FILLED, BLENDED):
            if f"G1+G2{suffix}" in result.models:
                reports.append(refinement_report(result, f"G1{suffix}", f"G1+G2{suffix}") | {"models": suffix})

    table = markdown_table(results)
    turntable = {}
    if n_turntable > 0:
        config = build_dataset(spec, "test_hard").config
        people = range(0, n_turntable * args.views, args.views)  # the first pair of each held-out person
        pairs = [turntable_pair(config, "test_hard", i, step=TURNTABLE_STEP) for i in people]
        turntable = turntable_scores(predictors, pairs)
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
        g1, g2 = [m for m in ("G1 + fill", "G1+G2 + fill") if m in result.models] or ["G1", "G1+G2"]
        if g2 in result.models:  # G2 must never make what the input saw worse than G1's picture of it
            lines += ["", f"L1 on the seen body by |yaw|, {result.split} (G2 against G1):", "",
                      yaw_table(result, metric="masked_l1_seen", baseline=g1, models=[g1, g2])]  # fmt: skip
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
    lines += ["", *unseen_table(results, turntable, n_turntable)]
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.md").write_text(text)
    print(text)
    path = write_json(
        args.out / "bench_quality.json",
        rows,
        checkpoint=str(ckpt_path),
        # which files made these figures: README.md quotes them, and tests/test_docs.py checks they are the shipped ones
        sha256={"checkpoint": file_sha256(ckpt_path), "completion": None if no_net else file_sha256(args.completion)},
        fill_ring=args.fill_ring,
        texture_share=args.texture_share,
        step=state.get("step"),
        refinement=reports,
        ratio_intervals=intervals,
        limit=limit,
        turntable={m: {k: [float(x) for x in v] for k, v in s.items()} for m, s in turntable.items()},
        turntable_people=n_turntable,
    )
    print(f"wrote {args.out / 'quality.md'} and {path}")
    return rows


if __name__ == "__main__":
    main()
