"""``posegen train``: Stage II or III, its options generated from ``TrainConfig`` and the configs it nests.

A value comes from, first to last: the command line, the ``--config`` recipe file (``configs/*.toml``,
``cli/recipe.py``), the resumed run's newest checkpoint, for a new Stage III run its G1 checkpoint's G1, and
the dataclasses' defaults. So on resume an option not repeated keeps the run's recorded value instead of
snapping back to the default (which would, e.g., silently undo an ``--lr`` given when the run started).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict

from posegen_lite.cli.common import DataOptions, add_data_options, data_spec, data_values
from posegen_lite.cli.options import OneLineHelp, add_options, given, packed_listing, plain_fields
from posegen_lite.cli.recipe import SIZE_FIELDS, read_recipe, recipe_tables
from posegen_lite.training.config import CVAETrainConfig, TrainConfig

DESCRIPTION = """\
Train Stage II (G1) or III (G2 + D), also under torchrun. Options given override the --config recipe; a run_dir
with checkpoints resumes: options left out keep the run's values, the networks cannot change (cli/train.py)."""
# Options that steer this invocation only: never taken from the resumed run.
INVOCATION = ("run_dir", "resume", "max_minutes", "device", "num_workers", "keep_freed_memory")
MODELS = ("g1", "g2", "disc")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train Stage II (G1) or Stage III (G2 + D); also under torchrun", add_help=False)
    configure(p, full=False)
    p.set_defaults(func=run)


def configure(p: argparse.ArgumentParser, full: bool) -> None:
    """The options of ``posegen train``; ``full=False`` lists the groups beyond the run's in packed lines
    (``--help`` fits a screen), ``--help-all`` shows every option with its help."""
    p.description, p.formatter_class = DESCRIPTION, OneLineHelp
    p.usage = "posegen train [--config FILE.toml] [options]"
    run_group = p.add_argument_group("run")
    run_group.add_argument("-h", "--help", action="help", help="this help")
    run_group.add_argument("--help-all", action=_HelpAll, nargs=0, help="every option with its help")
    run_group.add_argument("--config", metavar="FILE", help="a recipe file, e.g. configs/demo_g1.toml")
    stage3 = tuple(f.name for f in plain_fields(TrainConfig) if f.metadata.get("group") == "stage 3")
    add_options(run_group, TrainConfig, skip=stage3)
    add_data_options(p)
    groups = [("stage 3", TrainConfig, "", tuple(f.name for f in plain_fields(TrainConfig) if f.name not in stage3))]
    groups.append(("cvae: a conditional-VAE G1 (g1.latent_channels > 0)", CVAETrainConfig, "cvae.", ()))
    try:
        groups += [(f"{name}: {cls.__name__}", cls, f"{name}.", SIZE_FIELDS) for name, cls in _models().items()]
    except ImportError:  # no torch: the networks' options are listed once it is installed
        for name in MODELS:
            p.add_argument_group(f"{name}: the network's config (listed once torch is installed)")
    for title, cls, prefix, skip in groups:
        listing = None if full else packed_listing(cls, prefix, skip=skip)
        add_options(p.add_argument_group(title, listing), cls, prefix, skip=skip, shown=full)


def _models() -> dict[str, type]:
    return {k: v for k, v in recipe_tables().items() if k in MODELS}


class _HelpAll(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        full = argparse.ArgumentParser(prog=parser.prog, add_help=False)
        configure(full, full=True)
        full.print_help()
        parser.exit()


def given_values(args: argparse.Namespace) -> dict[str, object]:
    """The recipe file's values, overridden by those on the command line: ``{field: v, table: {field: v}}``."""
    values = read_recipe(args.config) if args.config else {}
    values.update(given(args, TrainConfig))
    for name, cls in {**_models(), "cvae": CVAETrainConfig}.items():
        values[name] = {**(values.get(name) or {}), **given(args, cls, f"{name}.")}
    values["data"] = data_values(args, values)
    return values


def train_config(values: dict[str, object]) -> TrainConfig:
    """The ``TrainConfig`` of ``given_values``: the rest from the resumed run, a Stage III run's G1
    checkpoint, or the defaults (module docstring)."""
    from posegen_lite.training.loop import saved_config

    if not values.get("run_dir"):
        raise ValueError("no run directory: pass --run-dir or set run_dir in the --config file")
    saved = saved_config(values["run_dir"]) if values.get("resume", True) else None
    base = TrainConfig.from_dict(saved).to_dict() if saved else TrainConfig().to_dict()
    defaults = TrainConfig().to_dict()
    base.update({k: defaults[k] for k in INVOCATION})
    kinds = _models()
    if not saved:
        stage, g1_checkpoint = values.get("stage", base["stage"]), values.get("g1_checkpoint")
        from_g1 = _checkpoint_g1(g1_checkpoint) if stage == 3 and g1_checkpoint else None
        base["g1"] = asdict(kinds["g1"](**from_g1)) if from_g1 else asdict(kinds["g1"](*DataOptions().size))
    size = values["data"].get("size") or (base["g1"]["height"], base["g1"]["width"])
    base.update({k: v for k, v in values.items() if k not in (*MODELS, "cvae", "data")})
    base["cvae"].update(values.get("cvae") or {})
    base["g1"].update(values.get("g1") or {}, height=size[0], width=size[1])
    derived = {
        "g2": lambda: kinds["g2"](*size, base_channels=base["g1"]["base_channels"]),
        "disc": lambda: kinds["disc"](*size),
    }
    for name, make in derived.items():
        if values.get(name) or base[name] is not None:
            base[name] = {**(base[name] or asdict(make())), **values.get(name, {}), "height": size[0], "width": size[1]}
    return TrainConfig.from_dict(base)


def _checkpoint_g1(path: str) -> dict[str, object]:
    """The G1 config a Stage II checkpoint recorded: a Stage III run's G1 unless options say otherwise."""
    from posegen_lite.models.checkpoints import resolve_checkpoint

    _, state = resolve_checkpoint(path)
    return dict(state["model_configs"]["g1"])


def run(args: argparse.Namespace) -> int:
    from posegen_lite.data.datasets import build_dataset
    from posegen_lite.training.loop import train

    values = given_values(args)
    cfg = train_config(values)
    # The proxy flow and part maps travel with the samples when anything needs them.
    needs_parts = cfg.part_weights is not None or cfg.lambda_part_fm > 0 or cfg.g2_config().uses_proxy
    extras = cfg.g1.warp != "none" or bool(getattr(cfg.g1, "latent_surface", False)) or needs_parts
    spec = data_spec({**values["data"], "size": (cfg.g1.height, cfg.g1.width)}, extras)
    # The training steps expand compact batches (data/compact.py); the validation batch is read as floats.
    result = train(cfg, build_dataset(spec, "train", compact=True), build_dataset(spec, "val"))
    if os.environ.get("RANK", "0") == "0":  # under torchrun, only rank 0 reports (it wrote the checkpoint)
        print(f"stage {cfg.stage}: {result.step} steps ({result.stopped}); checkpoint: {result.checkpoint}")
    return 0
