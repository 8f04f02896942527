"""Does ``posegen train --config configs/<recipe>.toml`` train bit for bit what the flag form does?

Runs the pre-config flag form of a shipped recipe (the commands assets/README.md's "Demo weights" gave before
the configs, in its git history) with the tree ``--flags-tree`` (a checkout of the code from before the
configs) and the config form with this tree, ``--steps`` steps each, into fresh run directories under
``--work``, one run at a time, with the same thread count; then
compares every tensor of the two final checkpoints (weights, optimizer moments, RNG) and the loss history,
and prints a table. Exit status 0 when all are identical.

    python scripts/check_recipe.py --recipe demo_g1 --flags-tree /work/base --steps 50 --work /tmp/recipes
    python scripts/check_recipe.py --recipe demo_g1_cvae --init-g1 /tmp/recipes/demo_g1/flags ...
    python scripts/check_recipe.py --recipe demo_g1_decay --resume /tmp/recipes/demo_g1_cvae/flags \
        --override "--lr-decay-start 55" --steps 60 ...
    python scripts/check_recipe.py --recipe demo_g2 --g1-checkpoint /tmp/recipes/demo_g1_cvae/flags ...

Both runs share ``--work``/cache128 (rendering it takes about a minute the first time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ["--people", "400", "--views", "8", "--size", "128x64", "--val-every", "100000"]
# The pre-config commands of assets/README.md's "Demo weights" (its git history), less run dir, steps, cache, time
# budget and the runs they start from (the options below add those).
FLAGS = {
    "demo_g1": ["--stage", "2", "--width", "16", "--warp", "paste", "--part-loss", "default", *DATA],
    "demo_g1_cvae": [
        *("--stage", "2", "--width", "16", "--warp", "paste", "--part-loss", "default", "--cvae"),
        *("--latent-kind", "vector", "--latent-site", "output", "--latent-surface", "--latent-channels", "16"),
        *("--kl-weight", "2e-4", "--kl-warmup", "300", "--noise-warmup", "300", "--kl-free-bits", "0.25"),
        *("--latent-lr-scale", "10", *DATA),
    ],
    "demo_g1_decay": [
        *("--stage", "2", "--width", "16", "--warp", "paste", "--part-loss", "default", "--cvae"),
        *("--latent-kind", "vector", "--latent-site", "output", "--latent-surface", "--latent-channels", "16"),
        *("--kl-weight", "2e-4", "--kl-warmup", "300", "--noise-warmup", "300", "--kl-free-bits", "0.25"),
        *("--latent-lr-scale", "10", "--lr-decay-start", "600", *DATA),
    ],
    "demo_g2": [
        *("--stage", "3", "--width", "16", "--d-width", "32", "--lambda-l1", "200", "--d-lr", "1e-4"),
        *("--real-label", "0.9", "--mask-difference", "--silhouette-difference", "--g2-warped-input"),
        *("--g2-visible-difference", "--part-loss", "default", "--d-spectral-norm", "--part-fm", "1", *DATA),
    ],
}


def run(tree: Path, argv: list[str], threads: int, log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = ["nice", "-n", "10", sys.executable, "-m", "posegen_lite", "train", *argv]
    with log.open("w") as out:
        code = subprocess.call(command, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT)
    if code:
        raise SystemExit(f"{' '.join(command)} failed ({code}); see {log}")


def tensors(value: object, prefix: str = "") -> dict[str, object]:
    """Every tensor of a checkpoint, by its path (``models.g1.enc.0.weight``, ``optimizers.g.state.3.exp_avg``)."""
    import torch

    if isinstance(value, torch.Tensor):
        return {prefix: value}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    out = {}
    for key, inner in items:
        out.update(tensors(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def compare(flags_dir: Path, config_dir: Path) -> bool:
    import torch

    from posegen_lite.models.checkpoints import load_latest

    (a_path, a), (b_path, b) = load_latest(flags_dir), load_latest(config_dir)
    print(f"flag form: {a_path}\nconfig form: {b_path}\n")
    ta, tb = (
        tensors({k: v for k, v in a.items() if k != "config"}),
        tensors({k: v for k, v in b.items() if k != "config"}),
    )
    groups: dict[str, list[int]] = {}
    for name in sorted(ta.keys() | tb.keys()):
        same = name in ta and name in tb and ta[name].shape == tb[name].shape and torch.equal(ta[name], tb[name])
        group = ".".join(name.split(".")[:2])
        counts = groups.setdefault(group, [0, 0])
        counts[0 if same else 1] += 1
    print(f"| {'tensors':<24} | identical | differ |\n|{'-' * 26}|-----------|--------|")
    for group, (same, differ) in groups.items():
        print(f"| {group:<24} | {same:>9} | {differ:>6} |")
    ha, hb = a["history"], b["history"]
    losses_same = ha == hb
    print(f"\nsteps: {a['step']} vs {b['step']}; loss history ({len(ha)} steps) identical: {losses_same}")
    if ha and hb:
        print(f"last step's losses, flag form: {ha[-1]}\n                 config form: {hb[-1]}")
    return losses_same and a["step"] == b["step"] and all(d == 0 for _, d in groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True, choices=sorted(FLAGS))
    parser.add_argument("--flags-tree", type=Path, required=True, help="the tree whose CLI has the flag form")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path("/tmp/check_recipe"))
    parser.add_argument("--threads", type=int, default=1, help="OMP threads of both runs")
    parser.add_argument("--init-g1", help="demo_g1_cvae: the Stage II run to start from")
    parser.add_argument("--g1-checkpoint", help="demo_g2: the Stage II run whose G1 G2 refines")
    parser.add_argument("--resume", type=Path, help="demo_g1_decay: a run both forms resume (each in a copy)")
    parser.add_argument("--override", default="", help="options given to both forms, e.g. '--lr-decay-start 55'")
    args = parser.parse_args()

    work = (args.work / args.recipe).resolve()
    common = ["--steps", str(args.steps), "--checkpoint-every", str(args.steps), "--cache", str(args.work / "cache128")]
    common += ["--init-g1", args.init_g1] if args.init_g1 else []
    common += ["--g1-checkpoint", args.g1_checkpoint] if args.g1_checkpoint else []
    common += args.override.split()
    for form in ("flags", "config"):
        if (work / form).exists():
            raise SystemExit(f"{work / form} exists: pass a fresh --work")
    work.mkdir(parents=True, exist_ok=True)
    for form in ("flags", "config") if args.resume else ():
        shutil.copytree(args.resume, work / form)
    print(f"{args.recipe}: {args.steps} steps, {args.threads} thread(s)")
    flags = [*FLAGS[args.recipe], "--run-dir", str(work / "flags"), *common]
    run(args.flags_tree.resolve(), flags, args.threads, work / "flags.log")
    config = ["--config", str(ROOT / "configs" / f"{args.recipe}.toml"), "--run-dir", str(work / "config"), *common]
    run(ROOT, config, args.threads, work / "config.log")
    sys.exit(0 if compare(work / "flags", work / "config") else 1)


if __name__ == "__main__":
    main()
