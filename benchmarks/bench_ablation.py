"""Ablation at equal training budget: what each step beyond PG2 buys, on test and test_hard, all metrics.

Five runs, each trained for ``--budget-minutes`` of wall-clock time on this machine (``TrainConfig.max_minutes``;
the step counts reached are reported, since the warping runs also pay for the body-proxy flow of every batch):

1. ``PG2 G1``             — PG2's G1 on (I_A, P_B) (``G1Config(warp="none")``);
2. ``+ warp``             — G1 with the body-proxy warp (``warp="skip"``: W(I_A) + visibility as inputs, and
                            I_A's features warped at every skip level);
3. ``+ warp + parts``     — the same with the part-weighted L1 (``losses.DEFAULT_PART_WEIGHTS``);
4. ``+ paste``            — run 3 with the learned paste (``warp="paste"``): the output takes the warped pixels
                            where the proxy saw the point and a predicted weight trusts them;
5. ``+ G2``               — Stage III on run 4's G1 (frozen; ``--g2-on warp_parts``: run 3's): G2 with its
                            difference kept inside the body (``mask_difference``), spectral norm on D, part
                            feature matching (λ = 1), λ_L1 = 50; it gets its own ``--budget-minutes`` on top.

Then every run (and the identity and pasted-warp baselines) is evaluated with the project's protocol
(``evaluation/protocol.py``) on ``--eval-limit`` pairs of each held-out split, and a picture grid is drawn.

Run it on a quiet machine (it trains for about 5 × budget minutes)::

    python benchmarks/bench_ablation.py --budget-minutes 20            # 128×64, G1 width 32, ~105 min
    python benchmarks/bench_ablation.py --quick                         # smoke test: 32×32, seconds per run

or evaluate runs trained elsewhere at an equal budget (e.g. by ``posegen train`` with the same ``--steps``),
one ``--use NAME=DIR`` per run (names: ``pg2``, ``warp``, ``warp_parts``, ``paste``, ``g2``; a run not given is
trained, unless ``--skip NAME``)::

    python benchmarks/bench_ablation.py --size 128x64 --width 16 --use pg2=runs/abl_pg2_g1 \\
        --use warp=runs/abl_warp_g1 --use warp_parts=runs/abl_parts_g1 --use paste=runs/paste128_g1 \\
        --use g2=runs/paste128_g2

Writes ``<out>/ablation.md`` (the table), ``<out>/bench_ablation.json`` (machine, budget, steps, per-run
summaries), ``<out>/ablation_grid.png`` and the runs' checkpoints under ``<out>/runs/`` (re-running resumes them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info

from posegen_lite.data.datasets import DataSpec, synthetic_config
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.evaluation.grids import comparison_rows, image_grid
from posegen_lite.evaluation.predictors import (
    G1G2Predictor,
    G1Predictor,
    IdentityBaseline,
    WarpBaseline,
)
from posegen_lite.evaluation.protocol import evaluate
from posegen_lite.evaluation.reports import markdown_table, yaw_table
from posegen_lite.images import save_image
from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.models.discriminator import DiscriminatorConfig
from posegen_lite.models.g1 import G1Config
from posegen_lite.models.g2 import G2Config
from posegen_lite.training.loop import TrainConfig, train
from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS

RUNS = ("PG2 G1", "+ warp", "+ warp + parts", "+ paste")
SHORT = {"pg2": "PG2 G1", "warp": "+ warp", "warp_parts": "+ warp + parts", "paste": "+ paste", "g2": "+ G2"}


def _named_dirs(items: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    out = {}
    for item in items:
        name, _, folder = item.partition("=")
        if name not in SHORT or not folder:
            parser.error(f"--use takes NAME=DIR with NAME one of {', '.join(SHORT)}; got {item!r}")
        out[SHORT[name]] = folder
    return out


def run_configs(args, h: int, w: int, runs_dir: Path) -> dict[str, TrainConfig]:
    common = dict(
        steps=10**9,  # the budget stops each run
        batch_size=args.batch_size,
        max_minutes=args.budget_minutes,
        checkpoint_every=args.checkpoint_every,
        val_every=10**9,
        seed=args.seed,
        num_workers=args.workers,
    )
    g1 = lambda warp: G1Config(h, w, base_channels=args.width, warp=warp)  # noqa: E731
    cfgs = {
        "PG2 G1": TrainConfig(stage=2, run_dir=str(runs_dir / "g1_pg2"), g1=g1("none"), **common),
        "+ warp": TrainConfig(stage=2, run_dir=str(runs_dir / "g1_warp"), g1=g1("skip"), **common),
        "+ warp + parts": TrainConfig(
            stage=2,
            run_dir=str(runs_dir / "g1_warp_parts"),
            g1=g1("skip"),
            part_weights=dict(DEFAULT_PART_WEIGHTS),
            **common,
        ),
        "+ paste": TrainConfig(
            stage=2,
            run_dir=str(runs_dir / "g1_paste"),
            g1=g1("paste"),
            part_weights=dict(DEFAULT_PART_WEIGHTS),
            **common,
        ),
    }
    base = cfgs[SHORT[args.g2_on]]
    cfgs["+ G2"] = TrainConfig(
        stage=3,
        run_dir=str(runs_dir / "g2"),
        g1=base.g1,
        g1_checkpoint=base.run_dir,
        part_weights=dict(DEFAULT_PART_WEIGHTS),
        lambda_l1=50.0,
        lambda_part_fm=1.0,
        g2=G2Config(h, w, base_channels=args.width, mask_difference=True),
        disc=DiscriminatorConfig(h, w, norm="none", spectral_norm=True),
        **common,
    )
    return cfgs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=20.0, help="wall-clock training time per run")
    parser.add_argument("--size", default="128x64", help="HEIGHTxWIDTH (default 128x64)")
    parser.add_argument("--width", type=int, default=32, help="G1/G2 base channels")
    parser.add_argument("--people", type=int, default=400, help="synthetic training people (held-out: a tenth)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (0 on a 2-core machine)")
    parser.add_argument("--eval-limit", type=int, default=320, help="held-out pairs per split to evaluate")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "ablation"))
    parser.add_argument("--quick", action="store_true", help="smoke run: 32×32, width 8, 8 people, ~10 s per run")
    parser.add_argument("--use", action="append", default=[], help="NAME=DIR: evaluate this run, do not train it")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(SHORT), help="leave this run out")
    parser.add_argument("--g2-on", default="paste", choices=["warp_parts", "paste"], help="the G1 that G2 refines")
    args = parser.parse_args()
    used = _named_dirs(args.use, parser)
    skipped = {SHORT[n] for n in args.skip}
    if args.quick:
        args.size, args.width, args.people, args.batch_size = "32x32", 8, 8, 4
        args.budget_minutes, args.eval_limit = min(args.budget_minutes, 0.15), 16
    h, w = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    runs_dir = out / "runs"
    spec = DataSpec(size=(h, w), people=args.people, views=8, seed=0, extras=True)
    config = synthetic_config(spec)
    # Every run reads the same data with the extras (flow, parts), so each pays the same data cost.
    train_set = SyntheticPairs(config, "train", extras=True)

    steps, minutes = {}, {}
    cfgs = run_configs(args, h, w, runs_dir)
    for name, cfg in cfgs.items():
        if name in skipped:
            continue
        if name in used:
            _, state = resolve_checkpoint(used[name])
            cfg.run_dir, steps[name], minutes[name] = used[name], int(state["step"]), None
            print(f"{name}: {used[name]} at step {steps[name]} (trained elsewhere)", flush=True)
            continue
        t0 = time.monotonic()
        result = train(cfg, train_set)
        steps[name], minutes[name] = result.step, (time.monotonic() - t0) / 60
        print(f"{name}: {result.step} steps in {minutes[name]:.1f} min ({result.stopped})", flush=True)

    from posegen_lite.models.weights import load_models

    predictors = {"identity": IdentityBaseline(), "warp paste": WarpBaseline()}
    for name in RUNS:
        if name not in skipped:
            predictors[name] = G1Predictor(load_models(cfgs[name].run_dir, device="cpu")["g1"])
    if "+ G2" not in skipped:
        final = load_models(cfgs["+ G2"].run_dir, device="cpu")
        predictors["+ G2"] = G1G2Predictor(final["g1"], final["g2"])

    results = []
    for split in ("test", "test_hard"):
        ds = SyntheticPairs(config, split, extras=True)
        results.append(evaluate(predictors, ds, batch_size=16, limit=args.eval_limit, split=split))
    table = markdown_table(results)
    for result in results:
        table += f"\n\nL1 in the body by |yaw|, {result.split}:\n\n" + yaw_table(result)
    how = "trained elsewhere" if used else f"{args.budget_minutes:g} min of training per run on this machine"
    budget = (
        f"Budget: {how} ({', '.join(f'{k}: {v} steps' for k, v in steps.items())}; '+ G2' trains G2 for its own "
        f"budget on {SHORT[args.g2_on]!r}'s G1). {h}×{w}, G1/G2 width {args.width}, batch {args.batch_size}, "
        f"{args.people} training people; {len(results[0])} pairs per split."
    )
    print("\n" + table + "\n\n" + budget)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.md").write_text(table + "\n\n" + budget + "\n")

    # The grid: the same evenly spaced test pairs (front and back views) through every model.
    ds = SyntheticPairs(config, "test", extras=True)
    picks = np.linspace(0, len(ds) - 1, 8).round().astype(int).tolist()
    batch = next(iter(DataLoader(Subset(ds, picks), batch_size=len(picks))))
    with torch.no_grad():
        outputs = {name: p(batch) for name, p in predictors.items() if name != "identity"}
    grid = image_grid(comparison_rows(batch, outputs))
    zoom = max(1, 256 // h)
    save_image(out / "ablation_grid.png", grid.repeat(zoom, axis=0).repeat(zoom, axis=1))

    summary = {
        "machine": machine_info(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "budget_minutes": args.budget_minutes,
        "steps": steps,
        "train_minutes": minutes,
        "args": vars(args),
        "summary": {r.split: r.summary for r in results},
        "grid_columns": ["input", "target pose", *outputs, "target"],
    }
    (out / "bench_ablation.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(f"\n{out / 'ablation.md'}\n{out / 'ablation_grid.png'}")


if __name__ == "__main__":
    main()
