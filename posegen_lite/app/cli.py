"""The ``posegen`` command line. Each subcommand is a thin layer over a library function.

posegen demo            the main job: novel views of held-out people (grid PNG + turntable GIF);
                        --crowd: scenes of 2–6 people (group grid PNG + group turntable GIF)
posegen app             the viewpoint widget as a web page (Voilà), for a demo without code cells
posegen stage1-figure   Stage I figure: skeleton, pose maps and mask at several yaws
posegen synth           render a split of the embedded dataset to disk (PNG + manifest)
posegen train           Stage II (--stage 2) or Stage III (--stage 3) training; works under torchrun
posegen evaluate        the evaluation table for checkpoints and baselines
posegen export          inference-only weights of a checkpoint (what ships in assets/)
posegen check-data      validate a real dataset's folder layout
posegen train-lifter    retrain the learned 2D→3D lifter shipped in assets/lifter.pt
posegen assignments     classroom assignments: build student notebooks and autograders, grade submissions

A project error (bad option, missing or damaged checkpoint or dataset file, a diverged training) is one line
on stderr and a non-zero exit status; `posegen --debug ...` or POSEGEN_DEBUG=1 shows the traceback instead.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from posegen_lite.resources import lifter_weights


def parse_size(text: str) -> tuple[int, int]:
    """``"128x64"`` → ``(128, 64)`` as (height, width)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"size must look like HEIGHTxWIDTH, e.g. 128x64; got {text!r}") from err
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def int_at_least(minimum: int):
    """An argparse type: an integer ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def finite_float(text: str) -> float:
    """A finite number (``nan`` and ``inf``, which ``float()`` accepts, are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _add_data_args(p: argparse.ArgumentParser, size_default: tuple[int, int] | None = (64, 64)) -> None:
    p.add_argument(
        "--data",
        default="synthetic",
        choices=["synthetic", "market", "fashion", "panoptic"],
        help="dataset (default: the embedded synthetic one)",
    )
    p.add_argument("--root", help="dataset root for real datasets (see docs/datasets.md)")
    p.add_argument("--size", type=parse_size, default=size_default, help="image size HEIGHTxWIDTH (default 64x64)")
    p.add_argument("--people", type=positive_int, default=400, help="synthetic: training people")
    p.add_argument("--views", type=positive_int, default=8, help="synthetic: pairs per person")
    p.add_argument("--data-seed", type=int, default=0, help="synthetic: dataset seed")
    p.add_argument("--cache", help="synthetic: render once into this folder and read from it")


# `posegen train` options → (TrainConfig field, default for a new run). Their parser default is None, so that
# on resume an option the user does not repeat keeps the run's recorded value instead of snapping back to
# the default (which would, e.g., silently undo an --lr given when the run started).
_TRAIN_OPTIONS = {
    "stage": ("stage", 2),
    "steps": ("steps", 2000),
    "batch_size": ("batch_size", 16),
    "lr": ("lr", 2e-4),
    "d_lr": ("d_lr", None),
    "seed": ("seed", 0),
    "precision": ("precision", "auto"),
    "checkpoint_every": ("checkpoint_every", 500),
    "val_every": ("val_every", 500),
    "g1_checkpoint": ("g1_checkpoint", None),
    "finetune_g1": ("finetune_g1", False),
    "lambda_l1": ("lambda_l1", 10.0),
    "adv_loss": ("adv_loss", "bce"),
    "d_steps": ("d_steps_per_g", 1),
    "real_label": ("real_label", 1.0),
    "condition_fake": ("condition_fake", False),
    "part_fm": ("lambda_part_fm", 0.0),
    "mask_difference": ("mask_difference", False),
    "silhouette_difference": ("silhouette_difference", False),
    "g2_warped_input": ("g2_warped_input", False),
    "g2_visible_difference": ("g2_visible_difference", False),
    "d_spectral_norm": ("d_spectral_norm", False),
    "kl_weight": ("kl_weight", 0.005),
    "kl_warmup": ("kl_warmup", 250),
    "kl_free_bits": ("kl_free_bits", 0.0),
    "noise_warmup": ("noise_warmup", 0),
    "latent_regression": ("latent_regression", 0.0),
    "latent_lr_scale": ("latent_lr_scale", 1.0),
    "init_g1": ("init_g1", None),
    "lr_decay_start": ("lr_decay_start", None),
    "channels_last": ("channels_last", True),
}
DEFAULT_LATENT_CHANNELS = 8  # --cvae
# G1Config fields beyond PG2 that `posegen train` sets, with PG2's values.
_G1_BEYOND_PG2 = {
    "warp": "none",
    "latent_channels": 0,
    "latent_kind": "map",
    "latent_site": "skips",
    "latent_surface": False,
    "gate_input": False,
}
_NEW_RUN_MODEL = {"size": (64, 64), "width": 16, "d_width": 64}


def _train_config(args: argparse.Namespace):
    """The ``TrainConfig`` of ``posegen train``: the options given, the rest from the run's newest checkpoint
    when resuming (else the defaults). Fills ``args.size`` for the data too."""
    from posegen_lite.models.discriminator import DiscriminatorConfig
    from posegen_lite.models.g1 import G1Config
    from posegen_lite.training.loop import TrainConfig, saved_config

    saved = None if args.no_resume else saved_config(args.run_dir)
    values = {}
    for option, (field, default) in _TRAIN_OPTIONS.items():
        given = getattr(args, option)
        values[field] = given if given is not None else (saved.get(field, default) if saved else default)
    if saved and saved.get("g1"):
        model = {"size": (saved["g1"]["height"], saved["g1"]["width"]), "width": saved["g1"]["base_channels"]}
        model["d_width"] = (saved.get("disc") or {}).get("base_channels", _NEW_RUN_MODEL["d_width"])
    else:
        model = dict(_NEW_RUN_MODEL)
    for option in model:
        if getattr(args, option) is not None:
            model[option] = getattr(args, option)
    args.size = tuple(model["size"])
    h, w = args.size
    # G1's options beyond PG2: as given; else the resumed run's; else (Stage III) its G1 checkpoint's; else
    # PG2's plain G1.
    from_g1 = _checkpoint_g1(values["g1_checkpoint"]) if values["stage"] == 3 and values["g1_checkpoint"] else None
    given = {
        "warp": args.warp,
        "latent_channels": (args.latent_channels or DEFAULT_LATENT_CHANNELS) if args.cvae else None,
        "latent_kind": args.latent_kind,
        "latent_site": args.latent_site,
        "latent_surface": True if args.latent_surface else None,
        "gate_input": True if args.gate_input else None,
    }
    beyond = {}
    for name, value in given.items():
        if value is None:
            source = saved.get("g1") if saved and saved.get("g1") else from_g1 or {}
            value = source.get(name, _G1_BEYOND_PG2[name])
        beyond[name] = value
    warp = beyond["warp"]
    if args.part_loss is not None:
        values["part_weights"] = _part_weights(args.part_loss)
    else:
        values["part_weights"] = saved.get("part_weights") if saved else None
    spectral = values["d_spectral_norm"]
    cfg = TrainConfig(
        run_dir=args.run_dir,
        device=args.device,
        num_workers=args.workers,
        max_minutes=args.max_minutes,
        resume=not args.no_resume,
        g1=G1Config(h, w, base_channels=model["width"], **beyond),
        disc=DiscriminatorConfig(
            h, w, base_channels=model["d_width"], norm="none" if spectral else "batch", spectral_norm=spectral
        ),
        **values,
    )
    # The proxy flow and part maps travel with the samples when anything needs them.
    needs_parts = cfg.part_weights is not None or cfg.lambda_part_fm > 0 or cfg.g2_config().uses_proxy
    args.extras = warp != "none" or beyond["latent_surface"] or needs_parts
    return cfg


def _cmd_train(args: argparse.Namespace) -> int:
    from posegen_lite.data.datasets import build_dataset, spec_from_args
    from posegen_lite.training.loop import train

    cfg = _train_config(args)
    spec = spec_from_args(args)
    train_set = build_dataset(spec, "train")
    val_set = build_dataset(spec, "val")
    result = train(cfg, train_set, val_set)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, only rank 0 reports (it wrote the checkpoint)
        print(f"stage {cfg.stage}: {result.step} steps ({result.stopped}); checkpoint: {result.checkpoint}")
    return 0


def _part_weights(text: str | None) -> dict[str, float] | None:
    """``--part-loss``: "default" (``losses.DEFAULT_PART_WEIGHTS``), "none", or "head=3,hands=2,..."."""
    from posegen_lite.training.losses import DEFAULT_PART_WEIGHTS

    if text is None or text == "none":
        return None
    if text == "default":
        return dict(DEFAULT_PART_WEIGHTS)
    try:
        return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError as err:
        raise ValueError(f"--part-loss must be 'default', 'none' or 'region=weight,...'; got {text!r}") from err


def _checkpoint_g1(path: str) -> dict[str, object]:
    """The options beyond PG2 (``_G1_BEYOND_PG2``) of a checkpoint's G1: PG2's values for checkpoints from
    before those options."""
    from posegen_lite.models.checkpoints import resolve_checkpoint

    _, state = resolve_checkpoint(path)
    g1 = state["model_configs"]["g1"]
    return {name: g1.get(name, default) for name, default in _G1_BEYOND_PG2.items()}


def _cmd_synth(args: argparse.Namespace) -> int:
    """Render ``--people`` people × ``--views`` pairs of ``--split`` into ``OUT/<split>/`` (PNG + manifest)."""
    from posegen_lite.data.synthetic.cache import render_to_disk, split_dir
    from posegen_lite.data.synthetic.pairs import SyntheticConfig, check_split

    counts = {"train_people": 0, "val_people": 0, "test_people": 0, "hard_people": 0}
    counts[
        {"train": "train_people", "val": "val_people", "test": "test_people", "test_hard": "hard_people"}[
            check_split(args.split)
        ]
    ] = args.people
    config = SyntheticConfig(size=tuple(args.size), views_per_person=args.views, seed=args.data_seed, **counts)
    render_to_disk(config, args.split, args.out, progress=True)
    print(split_dir(args.out, args.split))
    return 0


def _cmd_stage1(args: argparse.Namespace) -> int:
    from posegen_lite.figures.poses import render_stage1_figure

    print(render_stage1_figure(args.out))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from posegen_lite.data.real.check import check_dataset

    report = check_dataset(args.kind, args.root, splits=tuple(args.split))
    print(report)
    return 0 if report.ok else 1


def _cmd_lifter(args: argparse.Namespace) -> int:
    from posegen_lite.training.lifter import LifterTrainConfig, train_lifter

    _, stats = train_lifter(LifterTrainConfig(), out=args.out)
    print(stats)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from posegen_lite.models.weights import export_weights

    print(export_weights(args.checkpoint, args.out))
    return 0


def _checkpoint_label(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """``posegen evaluate [checkpoints...] --splits test test_hard --out DIR --limit N --batch-size B
    [--fill-ring R]`` plus the data arguments. Baselines (identity, mean image of 256 training targets) are
    always included; with no checkpoint the demo weights are used if present. Prints the markdown table; returns
    0."""
    from posegen_lite.data.datasets import build_dataset, spec_from_args
    from posegen_lite.device import pick_device
    from posegen_lite.evaluation.predictors import IdentityBaseline, MeanImageBaseline, Predictor, checkpoint_predictors
    from posegen_lite.evaluation.protocol import evaluate
    from posegen_lite.evaluation.reports import markdown_table, refinement_report, write_results
    from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS

    args.extras = True  # proxy flow for warping G1s; synthetic data: exact parts for the detail metrics
    spec = spec_from_args(args)
    checkpoints = [Path(c) for c in args.checkpoints]
    if not checkpoints:
        if DEMO_WEIGHTS.exists():
            checkpoints = [DEMO_WEIGHTS]
        else:
            print(
                f"no checkpoint given and no demo weights at {DEMO_WEIGHTS}: evaluating the baselines only",
                file=sys.stderr,
            )
    for c in checkpoints:
        if not c.exists():
            raise FileNotFoundError(f"checkpoint {c} does not exist")
    device = pick_device("auto")

    predictors: dict[str, Predictor] = {
        "identity": IdentityBaseline(),
        "mean image": MeanImageBaseline.fit(build_dataset(spec, "train"), n=256),
    }
    for c in checkpoints:
        suffix = f" ({_checkpoint_label(c)})" if len(checkpoints) > 1 else ""
        found = checkpoint_predictors(c, device=device, suffix=suffix)
        g1 = next(iter(found.values())).g1
        if (g1.config.height, g1.config.width) != tuple(spec.size):
            raise ValueError(
                f"{c} makes {g1.config.height}×{g1.config.width} images but --size is "
                f"{spec.size[0]}x{spec.size[1]}; pass --size {g1.config.height}x{g1.config.width}"
            )
        predictors.update(found)
        if args.fill_ring is not None:  # the same networks, the background filled as the synthesizer does it
            predictors.update(
                checkpoint_predictors(c, device=device, suffix=f" + fill{suffix}", fill_ring=args.fill_ring)
            )

    results = []
    for split in args.splits:
        try:
            dataset = build_dataset(spec, split)
        except ValueError as err:
            if spec.data != "synthetic" and split == "test_hard":
                print(f"skipping {split}: {err}", file=sys.stderr)
                continue
            raise
        result = evaluate(predictors, dataset, batch_size=args.batch_size, limit=args.limit, split=split)
        paths = write_results(result, args.out)
        print(f"{split}: {len(result)} samples in {result.seconds:.0f} s → {paths['csv']}, {paths['json']}")
        if {"G1", "G1+G2"} <= set(result.models):
            rep = refinement_report(result)
            print(
                f"{split}: sharpness G1 {rep['sharpness_coarse']:.3f} → G1+G2 {rep['sharpness_refined']:.3f}; "
                f"mask-SSIM change {-rep['mask_ssim_drop']:+.4f}"
            )
        results.append(result)
    if not results:
        raise ValueError("no split could be evaluated")
    table = markdown_table(results)
    (Path(args.out) / "table.md").write_text(table + "\n")
    print(table)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from posegen_lite.app.demo import run_demo

    if args.crowd:
        from posegen_lite.app.crowd_demo import run_crowd_demo

        if args.train_minutes is not None:
            raise SystemExit("--crowd uses given weights; train first, then pass --weights")
        print(run_crowd_demo(out_dir=args.out, weights=args.weights, scenes=args.scenes, seed=args.seed))
        return 0
    print(
        run_demo(
            out_dir=args.out, weights=args.weights, train_minutes=args.train_minutes, people=args.people, seed=args.seed
        )
    )
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from posegen_lite.app.viewpoint_app import AppConfig, app_main

    config = AppConfig(weights=args.weights, people=args.people, precompute=not args.no_precompute,
                       photos=not args.no_photos)  # fmt: skip
    return app_main(config, port=args.port, token=args.token, open_browser=not args.no_browser, ip=args.ip)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posegen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (or POSEGEN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="novel views of held-out people: grid PNG + turntable GIF")
    p.add_argument("--out", default="outputs/demo", help="output folder (default outputs/demo)")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights in assets/)")
    p.add_argument(
        "--train-minutes",
        type=float,
        default=None,
        help="train from scratch for this many minutes instead of loading the demo weights",
    )
    p.add_argument("--people", type=positive_int, default=4, help="held-out people in the grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crowd", action="store_true", help="scenes of 2–6 people: group grid PNG + group turntable GIF")
    p.add_argument("--scenes", type=int, default=2, help="held-out crowd scenes in the group grid (with --crowd)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("app", help="the viewpoint widget as a web page (Voilà): sliders, no code cells")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (0.0.0.0: the whole network)")
    p.add_argument("--token", help="require this token in the address (default: none, local use)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--weights", help="checkpoint or run dir (default: the demo weights)")
    p.add_argument("--people", type=int, default=4, help="held-out people in the selector")
    p.add_argument("--no-precompute", action="store_true", help="compute each view only when asked")
    p.add_argument("--no-photos", action="store_true", help="no photo upload (it needs MediaPipe)")
    p.set_defaults(func=_cmd_app)

    p = sub.add_parser("stage1-figure", help="Stage I figure (skeleton, pose maps, mask at 0/90/180/270°)")
    p.add_argument("--out", default="outputs/stage1.png")
    p.set_defaults(func=_cmd_stage1)

    p = sub.add_parser("synth", help="render a split of the embedded dataset to disk")
    p.add_argument("--out", required=True)
    p.add_argument("--split", default="train", choices=["train", "val", "test", "test_hard"])
    p.add_argument("--size", type=parse_size, default=(128, 64))
    p.add_argument("--people", type=positive_int, default=100)
    p.add_argument("--views", type=positive_int, default=8)
    p.add_argument("--data-seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser(
        "train",
        help="train Stage II (G1) or Stage III (G2 + D); also under torchrun",
        description="Train Stage II or III. A run directory with checkpoints is resumed: options you give now "
        "apply from the resumed step on (e.g. a lower --lr), options you leave out keep the run's values; "
        "options that define the networks (stage, size, widths, --finetune-g1) cannot change.",
    )
    p.add_argument("--stage", type=int, choices=[2, 3], default=None, help="2 (G1) or 3 (G2 + D); default 2")
    p.add_argument("--run-dir", required=True, help="checkpoints and validation images go here")
    p.add_argument("--steps", type=positive_int, default=None, help="total steps (default 2000)")
    p.add_argument("--batch-size", type=positive_int, default=None, help="per process (default 16)")
    p.add_argument("--lr", type=finite_float, default=None, help="Adam learning rate in (0, 1] (default 2e-4)")
    p.add_argument(
        "--lr-decay-start",
        type=non_negative_int,
        default=None,
        help="from this step on the learning rates fall linearly to 0 at --steps (default: constant)",
    )
    p.add_argument("--width", type=positive_int, default=None, help="base channels of G1 (default 16; PG2: 128)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default=None, choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--workers", type=non_negative_int, default=0, help="DataLoader worker processes")
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the networks' memory format (default: channels_last; benchmarks/README.md says when each is faster)",
    )
    p.add_argument("--checkpoint-every", type=positive_int, default=None, help="default 500")
    p.add_argument("--val-every", type=positive_int, default=None, help="default 500")
    p.add_argument("--max-minutes", type=finite_float, default=None, help="stop and save after this long")
    p.add_argument("--no-resume", action="store_true", help="start over even if run-dir has checkpoints")
    p.add_argument("--g1-checkpoint", help="stage 3: the Stage II checkpoint or run dir")
    p.add_argument("--finetune-g1", action="store_true", default=None)
    p.add_argument("--lambda-l1", type=finite_float, default=None, help="default 10")
    p.add_argument("--adv-loss", default=None, choices=["bce", "hinge"])
    p.add_argument("--d-steps", type=positive_int, default=None, help="default 1")
    p.add_argument("--real-label", type=finite_float, default=None, help="default 1.0")
    p.add_argument("--condition-fake", action="store_true", default=None)
    p.add_argument(
        "--d-lr", type=finite_float, default=None, help="stage 3: the discriminator's learning rate (default: --lr)"
    )
    p.add_argument(
        "--d-width", type=positive_int, default=None, help="stage 3: discriminator base channels (default 64)"
    )
    p.add_argument(
        "--warp",
        default=None,
        choices=["none", "input", "skip", "paste"],
        help="G1 gets I_A warped by the 3D body proxy: as input channels, also at the skips, or also pasted "
        "into the output by a learned weight "
        "(default: PG2's 'none'; stage 3: the G1 checkpoint's)",
    )
    p.add_argument(
        "--gate-input",
        action="store_true",
        default=None,
        help="with --warp skip/paste: G1's main encoder sees only the warped input, never I_A itself (stage 2; "
        "stage 3 reads it from the G1 checkpoint)",
    )
    p.add_argument("--part-loss", help="extra L1 weight per body region: 'default', 'none' or 'head=3,hands=2'")
    p.add_argument(
        "--part-fm", type=finite_float, default=None, help="stage 3: weight of D-feature matching on face/torso"
    )
    p.add_argument(
        "--mask-difference", action="store_true", default=None, help="stage 3: keep G2's edits inside the body mask"
    )
    p.add_argument(
        "--silhouette-difference",
        action="store_true",
        default=None,
        help="stage 3: keep G2's edits within a pixel of the body proxy's silhouette too",
    )
    p.add_argument(
        "--g2-warped-input",
        action="store_true",
        default=None,
        help="stage 3: G2 reads I_A warped into the target view by the body proxy, not I_A itself",
    )
    p.add_argument(
        "--g2-visible-difference",
        action="store_true",
        default=None,
        help="stage 3: keep G2's edits within a pixel of where the input saw the body point",
    )
    p.add_argument(
        "--d-spectral-norm", action="store_true", default=None, help="stage 3: spectral norm on D (and no batch norm)"
    )
    p.add_argument(
        "--cvae",
        action="store_true",
        default=None,
        help="G1 as a conditional VAE: samples the sides the input never saw (stage 2; stage 3 reads it from the "
        "G1 checkpoint)",
    )
    p.add_argument(
        "--latent-channels",
        type=positive_int,
        default=None,
        help=f"--cvae: channels of z (default {DEFAULT_LATENT_CHANNELS})",
    )
    p.add_argument(
        "--latent-kind",
        default=None,
        choices=["map", "vector"],
        help="--cvae: a latent map (default) or one code per image, broadcast where the input was blind",
    )
    p.add_argument(
        "--latent-site",
        default=None,
        choices=["skips", "output", "decoder"],
        help="--cvae: z enters the decoder's skips (default), modulates its last features next to the colours "
        "(output), or also every decoder level in a second pass (decoder)",
    )
    p.add_argument(
        "--latent-surface",
        action="store_true",
        help="--cvae --latent-kind vector --latent-site output/decoder: the latent works in the body proxy's "
        "texture space (the posterior reads I_B's colours unwrapped onto the chest; z paints with the surface "
        "coordinates)",
    )
    p.add_argument(
        "--init-g1",
        help="stage 2: start G1 from this Stage II checkpoint or run dir (e.g. a deterministic G1 to become a "
        "--cvae; only the latent path may differ)",
    )
    p.add_argument("--kl-weight", type=finite_float, default=None, help="--cvae: β of the KL term (default 0.005)")
    p.add_argument(
        "--kl-free-bits",
        type=finite_float,
        default=None,
        help="--cvae: nats per latent element the KL term leaves unpaid, against posterior collapse (default 0)",
    )
    p.add_argument(
        "--latent-lr-scale",
        type=finite_float,
        default=None,
        help="--cvae: the latent path's learning rate as a multiple of --lr (default 1)",
    )
    p.add_argument("--kl-warmup", type=int_at_least(0), default=None, help="--cvae: steps of β warm-up (default 250)")
    p.add_argument(
        "--latent-regression",
        type=finite_float,
        default=None,
        help="--cvae --latent-site output: weight of |posterior(G1(z)) − z| for z drawn from the prior, so that "
        "different z give visibly different images (BicycleGAN's latent regression; default 0)",
    )
    p.add_argument(
        "--noise-warmup",
        type=int_at_least(0),
        default=None,
        help="--cvae: steps over which the posterior's sampling noise rises from 0, so the decoder first learns "
        "to read z (default 0: full noise from the start)",
    )
    _add_data_args(p, size_default=None)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluation table of checkpoints and baselines")
    p.add_argument("checkpoints", nargs="*", help="checkpoints or run dirs (default: the demo weights)")
    p.add_argument("--splits", nargs="+", default=["test", "test_hard"])
    p.add_argument("--out", default="outputs/eval", help="per-sample CSV and summary JSON go here")
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate at most this many samples per split")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument(
        "--fill-ring",
        type=non_negative_int,
        default=None,
        help="also score each checkpoint with the background filled as the demo does it (rows '… + fill'): the "
        "background the input covered and this many pixels round the target's body proxy (the demo uses 6)",
    )
    _add_data_args(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("export", help="write inference-only weights (G1, G2) of a checkpoint or run dir")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("check-data", help="validate a real dataset's folder layout")
    p.add_argument("kind", choices=["market", "fashion", "panoptic"])
    p.add_argument("root")
    p.add_argument("--split", nargs="+", default=["train", "test"])
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("train-lifter", help="retrain the learned 2D→3D lifter")
    p.add_argument("--out", default=str(lifter_weights()))
    p.set_defaults(func=_cmd_lifter)

    from posegen_lite.assignments.commands import add_parser as add_assignments_parser

    add_assignments_parser(sub)
    return parser


def _project_errors() -> tuple[type[BaseException], ...]:
    """What a user can cause and fix: bad options and files (ValueError covers FormatError, ImageError and
    NoPersonFoundError), missing files and disks (OSError), damaged checkpoints, a diverged training, a
    missing optional extra. Anything else is a bug and keeps its traceback."""
    from posegen_lite.models.checkpoints import CheckpointError

    return (ValueError, OSError, CheckpointError, FloatingPointError, ImportError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.debug or os.environ.get("POSEGEN_DEBUG", "") not in ("", "0"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except _project_errors() as err:
        # Bad input deserves a one-line message, not a traceback.
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"posegen {args.command}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 1 if isinstance(err, FloatingPointError) else 2


if __name__ == "__main__":
    sys.exit(main())
