"""Recipes as files (configs/*.toml) and a help generated from the dataclasses: the shipped recipes are the
commands they replace, bad files are one line, help needs no torch, old checkpoints' flat configs still read."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from posegen_lite.cli import main
from posegen_lite.cli.main import SUBCOMMANDS
from posegen_lite.cli.train import configure, given_values, train_config
from posegen_lite.models.checkpoints import load_latest, save_checkpoint
from posegen_lite.resources import demo_weights, pg2_weights
from posegen_lite.training.config import LEGACY_CVAE, TrainConfig
from posegen_lite.training.loop import saved_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DATA = ["--size", "128x64", "--people", "400", "--views", "8"]
# Each shipped recipe as the flags that say the same (runs it starts from: see _from).
FLAGS = {
    "demo_g1": ["--stage", "2", "--run-dir", "runs/paste128_g1", "--steps", "1100", "--max-minutes", "45",
                "--checkpoint-every", "100", "--val-every", "100000", "--part-weights", "default",
                "--g1.base-channels", "16", "--g1.warp", "paste", *DATA, "--cache", "runs/cache128"],
    "demo_g1_cvae": ["--stage", "2", "--run-dir", "runs/cvaes128_g1", "--init-g1", "runs/paste128_g1", "--steps", "600",
                     "--max-minutes", "40",
                     "--checkpoint-every", "100", "--val-every", "100000", "--part-weights", "default",
                     "--g1.base-channels", "16", "--g1.warp", "paste", "--g1.latent-channels", "16",
                     "--g1.latent-surface",
                     "--cvae.kl-weight", "2e-4", "--cvae.kl-warmup", "300", "--cvae.noise-warmup", "300",
                     "--cvae.kl-free-bits", "0.25", "--cvae.latent-lr-scale", "10", *DATA, "--cache", "runs/cache128"],
    "demo_g1_decay": ["--stage", "2", "--run-dir", "runs/cvaes128_g1", "--steps", "1350", "--lr-decay-start", "600",
                      "--max-minutes", "26", "--checkpoint-every", "50", "--val-every", "100000",
                      "--part-weights", "default", "--g1.base-channels", "16", "--g1.warp", "paste",
                      "--g1.latent-channels", "16", "--g1.latent-surface",
                      "--cvae.kl-weight", "2e-4", "--cvae.kl-warmup", "300",
                      "--cvae.noise-warmup", "300", "--cvae.kl-free-bits", "0.25", "--cvae.latent-lr-scale", "10",
                      *DATA, "--cache", "runs/cache128"],
    "demo_g2": ["--stage", "3", "--run-dir", "runs/cvaesv200_g2", "--steps", "715", "--max-minutes", "24",
                "--checkpoint-every", "100", "--val-every", "100000", "--part-weights", "default",
                "--lambda-l1", "200", "--d-lr", "1e-4", "--real-label", "0.9", "--lambda-part-fm", "1",
                "--g1.base-channels", "16", "--g2.mask-difference", "--g2.silhouette-difference",
                "--g2.warped-input", "--g2.visible-difference", "--disc.base-channels", "32", "--disc.norm", "none",
                "--disc.spectral-norm", *DATA, "--cache", "runs/cache128"],
    "challenge_g1": ["--stage", "2", "--run-dir", "runs/challenge_g1", "--steps", "100000", "--max-minutes", "10",
                     "--checkpoint-every", "100", "--val-every", "100000", "--g1.base-channels", "16",
                     "--size", "64x64", "--people", "400", "--views", "8", "--cache", "runs/cache64"],
    "pg2_64x64_g1": ["--stage", "2", "--run-dir", "runs/demo_g1", "--steps", "20000", "--max-minutes", "24",
                     "--checkpoint-every", "250", "--val-every", "1000", "--g1.base-channels", "16",
                     "--size", "64x64", "--people", "400", "--views", "8"],
    "pg2_64x64_g2": ["--stage", "3", "--run-dir", "runs/demo_g2", "--steps", "20000", "--max-minutes", "13",
                     "--checkpoint-every", "250", "--val-every", "500", "--lambda-l1", "50", "--real-label", "0.9",
                     "--g1.base-channels", "16", "--disc.base-channels", "32",
                     "--size", "64x64", "--people", "400", "--views", "8"],
}  # fmt: skip
# A Stage III recipe's G1 comes from its G1 checkpoint: the shipped weights' G1 stands in for the run's.
G1_OF = {"demo_g2": demo_weights(), "pg2_64x64_g2": pg2_weights()}


def _parse(argv: list[str]):
    return main.__globals__["build_parser"]().parse_args(["train", *argv])


def _config(argv: list[str]) -> tuple[TrainConfig, dict]:
    values = given_values(_parse(argv))
    return train_config(values), values["data"]


def _from(name: str) -> list[str]:
    return ["--g1-checkpoint", str(G1_OF[name])] if name in G1_OF else []


# Recipes of the other trainers: the texture completion network (``training/texture_completion.py``).
OTHER_RECIPES = {"texture_completion"}


def test_every_shipped_recipe_has_its_flags():
    assert sorted(p.stem for p in CONFIGS.glob("*.toml")) == sorted({*FLAGS, *OTHER_RECIPES})


def test_the_texture_completion_recipe_is_what_made_the_shipped_network():
    import torch

    from posegen_lite.resources import completion_weights
    from posegen_lite.training.texture_completion import config_from_dict, read_config

    saved = torch.load(completion_weights(), map_location="cpu", weights_only=True)["train_config"]
    assert config_from_dict(saved) == read_config(CONFIGS / "texture_completion.toml")


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_a_recipe_file_is_the_command_it_replaces(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipes' run dirs are relative: nothing there to resume
    from_file, data_file = _config(["--config", str(CONFIGS / f"{name}.toml"), *_from(name)])
    from_flags, data_flags = _config([*FLAGS[name], *_from(name)])
    assert from_file == from_flags and data_file == data_flags


@pytest.mark.parametrize(("name", "weights"), [("demo_g2", demo_weights()), ("pg2_64x64_g2", pg2_weights())])
def test_a_stage3_recipe_records_what_the_shipped_weights_recorded(name, weights, tmp_path, monkeypatch):
    """The shipped files hold the config (flat, from before the grouping) of the command that made them."""
    import torch

    monkeypatch.chdir(tmp_path)
    shipped = TrainConfig.from_dict(torch.load(weights, map_location="cpu", weights_only=False)["config"])
    cfg, _ = _config(["--config", str(CONFIGS / f"{name}.toml"), "--g1-checkpoint", str(weights)])
    # (the shipped demo_g2 read the decayed copy of the cVAE run: configs/demo_g1_decay.toml says why)
    assert replace(cfg, g1_checkpoint=shipped.g1_checkpoint, disc=cfg.disc_config()) == replace(
        shipped, disc=shipped.disc_config(), keep_freed_memory=True
    )


def test_flags_override_the_recipe_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg, data = _config(["--config", str(CONFIGS / "demo_g1_cvae.toml"), "--steps", "7", "--cvae.kl-weight", "0.1"])
    assert (cfg.steps, cfg.cvae.kl_weight, cfg.cvae.kl_warmup, cfg.g1.warp) == (7, 0.1, 300, "paste")
    cfg, data = _config(["--config", str(CONFIGS / "demo_g1.toml"), "--size", "64x64", "--no-channels-last"])
    assert (cfg.g1.height, cfg.g1.width, data["size"], cfg.channels_last) == (64, 64, (64, 64), False)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("stpes = 3\n", "'stpes'"),
        ("steps = '3'\n", "'steps'"),
        ("[g1]\nwarp = 1\n", "'g1.warp'"),
        ("[g1]\nheight = 64\n", "'g1.height'"),  # the size is [data] size alone
        ("[cvae]\nkl_weight = true\n", "'cvae.kl_weight'"),
        ("[data]\npeople = 1.5\n", "'data.people'"),
        ("betas = [0.5]\n", "'betas'"),
        ("g1 = 3\n", "g1"),
    ],
)
def test_a_bad_recipe_is_one_line_naming_file_and_key(tmp_path, capsys, text, key):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    assert main(["train", "--config", str(recipe), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(recipe) in err and key in err, err


def _no_torch(argv: list[str]) -> subprocess.CompletedProcess:
    code = f"import sys; sys.modules['torch'] = None; from posegen_lite.cli import main; sys.exit(main({argv!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_help_needs_no_torch():
    names = [m.__name__.rsplit(".", 1)[-1].replace("_", "-") for m in SUBCOMMANDS]
    for argv in (["--help"], *([name, "--help"] for name in names)):
        done = _no_torch(argv)
        assert done.returncode == 0 and "usage:" in done.stdout, (argv, done.stderr)
    assert "--cvae.kl-weight" in _no_torch(["train", "--help"]).stdout


def test_train_help_fits_a_screen_and_help_all_lists_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    short = capsys.readouterr().out
    assert len(short.splitlines()) <= 60
    with pytest.raises(SystemExit):
        main(["train", "--help-all"])
    full = capsys.readouterr().out
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    configure(parser, full=True)
    flags = [a.option_strings[0 if isinstance(a, argparse.BooleanOptionalAction) else -1] for a in parser._actions]
    assert len(flags) > 60 and all(f.replace("--", "--[no-]", 1) in full or f in full for f in flags)
    assert all(f in short or f.replace("--", "--[no-]", 1) in short for f in flags if f.startswith("--g1."))


def _flat_legacy(config: dict) -> dict:
    """A config as checkpoints recorded it before the grouping: the cVAE settings and G2's regions at the top."""
    flat = {k: v for k, v in config.items() if k != "cvae"}
    flat.update(config["cvae"])
    g2 = flat.pop("g2") or {}
    for old, new in (("mask_difference", "mask_difference"), ("g2_warped_input", "warped_input")):
        flat[old] = g2.get(new, False)
    flat["d_spectral_norm"] = False
    return flat


def test_a_run_with_the_old_flat_config_resumes_with_its_values(tmp_path, capsys):
    data = ["--size", "32x32", "--people", "2", "--views", "1", "--batch-size", "2", "--precision", "fp32"]
    new = tmp_path / "new"
    args = ["--g1.base-channels", "4", "--g1.latent-channels", "2", "--cvae.kl-weight", "0.25", "--steps", "1"]
    assert main(["train", "--run-dir", str(new), *args, *data]) == 0
    _, state = load_latest(new)
    state["config"] = _flat_legacy(state["config"])
    assert set(LEGACY_CVAE) <= set(state["config"])
    old = tmp_path / "old"
    save_checkpoint(state, old)
    assert saved_config(old)["cvae"]["kl_weight"] == 0.25
    capsys.readouterr()
    assert main(["train", "--run-dir", str(old), "--steps", "2", *data]) == 0
    assert "changed" not in capsys.readouterr().out  # nothing changed: the old values were read back
    config = load_latest(old)[1]["config"]
    assert config["cvae"]["kl_weight"] == 0.25 and config["g1"]["latent_channels"] == 2


def test_no_setting_lives_in_two_places():
    """TrainConfig holds no field of the configs it nests (the G2 regions, D's spectral norm, the cVAE terms)."""
    from dataclasses import fields

    from posegen_lite.models.discriminator import DiscriminatorConfig
    from posegen_lite.models.g2 import G2Config
    from posegen_lite.training.config import CVAETrainConfig

    top = {f.name for f in fields(TrainConfig)}
    shapes = {"height", "width", "base_channels", "levels"}
    for cls, prefixes in ((G2Config, ("", "g2_")), (DiscriminatorConfig, ("", "d_")), (CVAETrainConfig, ("",))):
        names = {f.name for f in fields(cls)} - shapes
        assert names and not {p + n for p in prefixes for n in names} & top, cls.__name__
