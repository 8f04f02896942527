"""The ``posegen`` command line: each subcommand reaches its library function; bad input is one clear line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from posegen_lite.cli import main
from posegen_lite.cli.common import parse_size
from posegen_lite.models.checkpoints import load_latest
from posegen_lite.models.weights import load_models
from posegen_lite.training.loop import saved_config

SMALL = ["--g1.base-channels", "4", "--disc.base-channels", "4"]  # G1 and D of width 4


def test_parse_size():
    assert parse_size("128x64") == (128, 64)
    for bad in ("128", "0x64", "ax64"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)


@pytest.mark.slow
def test_train_stage2_then_stage3_on_synthetic_data(tmp_path):
    common = [
        "--size",
        "32x32",
        "--g1.base-channels",
        "4",
        "--people",
        "8",
        "--views",
        "1",
        "--batch-size",
        "4",
        "--precision",
        "fp32",
        "--val-every",
        "2",
        "--checkpoint-every",
        "2",
    ]
    assert main(["train", "--stage", "2", "--run-dir", str(tmp_path / "g1"), "--steps", "2", *common]) == 0
    assert load_latest(tmp_path / "g1")[1]["step"] == 2
    assert (tmp_path / "g1" / "val_00000002.png").is_file()
    assert (
        main(
            [
                "train",
                "--stage",
                "3",
                "--run-dir",
                str(tmp_path / "g2"),
                "--steps",
                "2",
                "--disc.base-channels",
                "8",
                "--d-lr",
                "1e-4",
                "--g1-checkpoint",
                str(tmp_path / "g1"),
                *common,
            ]
        )
        == 0
    )
    assert set(load_latest(tmp_path / "g2")[1]["models"]) == {"g1", "g2", "d"}
    assert saved_config(tmp_path / "g2")["d_lr"] == 1e-4 and saved_config(tmp_path / "g2")["lr"] == 2e-4
    assert main(["export", str(tmp_path / "g2"), "--out", str(tmp_path / "demo.pt")]) == 0
    assert set(load_models(tmp_path / "demo.pt")) == {"g1", "g2"}


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    code = main(["train", "--stage", "3", "--run-dir", str(tmp_path / "x"), "--steps", "1", "--size", "32x32"])
    assert code == 2
    assert "g1_checkpoint" in capsys.readouterr().err


def test_check_data_reports_a_missing_layout(tmp_path, capsys):
    assert main(["check-data", "market", str(tmp_path)]) == 1
    assert capsys.readouterr().out.strip()


def test_synth_writes_a_split(tmp_path, capsys):
    assert (
        main(["synth", "--out", str(tmp_path), "--split", "val", "--size", "32x32", "--people", "1", "--views", "1"])
        == 0
    )
    assert (tmp_path / "val" / "manifest.json").is_file()


# --- hardening: every project error is one line; resume keeps the run's options --------------------------------


def _one_line_error(capsys, command: str, *phrases: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"posegen {command}: error:"), err
    for phrase in phrases:
        assert phrase in err, err
    return err


def test_bad_checkpoints_are_one_clear_line(tmp_path, capsys):
    text = tmp_path / "notes.pt"
    text.write_text("not weights\n")
    truncated = tmp_path / "half.pt"
    truncated.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    for path, phrase in ((tmp_path / "nothing.pt", "no such checkpoint"), (text, "not a torch checkpoint")):
        assert main(["export", str(path), "--out", str(tmp_path / "out.pt")]) == 2
        _one_line_error(capsys, "export", phrase)
    assert main(["export", str(truncated), "--out", str(tmp_path / "out.pt")]) == 2
    _one_line_error(capsys, "export", "truncated or corrupted")
    assert main(["evaluate", str(text), "--size", "32x32", "--people", "8", "--views", "1"]) == 2
    _one_line_error(capsys, "evaluate", "not a torch checkpoint")
    args = ["train", "--stage", "3", "--run-dir", str(tmp_path / "s3"), "--steps", "1", "--size", "32x32"]
    assert main([*args, "--g1-checkpoint", str(tmp_path / "nothing")]) == 2
    _one_line_error(capsys, "train", "no such checkpoint")


def test_debug_flag_and_env_show_the_traceback(tmp_path, monkeypatch):
    from posegen_lite.models.checkpoints import CheckpointError

    with pytest.raises(CheckpointError):
        main(["--debug", "export", str(tmp_path / "nothing.pt"), "--out", str(tmp_path / "o.pt")])
    monkeypatch.setenv("POSEGEN_DEBUG", "1")
    with pytest.raises(CheckpointError):
        main(["export", str(tmp_path / "nothing.pt"), "--out", str(tmp_path / "o.pt")])


def test_a_diverged_training_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    from posegen_lite.training import loop

    def diverging(*args, **kwargs):
        raise loop.NonFiniteLossError("loss l1 became NaN/inf at step 6; training stopped before the update")

    monkeypatch.setattr(loop, "train", diverging)
    args = ["train", "--run-dir", str(tmp_path / "r"), "--size", "32x32", "--people", "8", "--views", "1"]
    assert main(args) == 1
    _one_line_error(capsys, "train", "NaN/inf at step 6")


@pytest.mark.parametrize("lr", ["nan", "inf", "-inf"])
def test_non_finite_lr_is_rejected_by_the_parser(tmp_path, capsys, lr):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--run-dir", str(tmp_path / "r"), f"--lr={lr}"])
    assert exc.value.code == 2
    assert "--lr: must be a finite number" in capsys.readouterr().err


def test_out_of_range_options_are_one_line(tmp_path, capsys):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--lr", "1e6", "--size", "32x32"]) == 2
    _one_line_error(capsys, "train", "lr must be a finite number in (0, 1]")
    with pytest.raises(SystemExit):
        main(["train", "--run-dir", str(tmp_path / "r"), "--people", "0"])
    assert "--people: must be ≥ 1" in capsys.readouterr().err


def test_resume_keeps_the_runs_options_and_applies_an_explicit_lr(tmp_path, capsys):
    run = str(tmp_path / "g1")
    data = ["--people", "8", "--views", "1"]
    first = ["train", "--run-dir", run, "--steps", "2", "--size", "32x32", "--g1.base-channels", "4", "--lr", "1e-3"]
    assert main([*first, "--batch-size", "4", "--precision", "fp32", *data]) == 0
    # Resuming with only --steps: size, width, lr and batch size are the run's, not the defaults.
    assert main(["train", "--run-dir", run, "--steps", "3", *data]) == 0
    state = load_latest(run)[1]
    assert state["step"] == 3 and state["config"]["lr"] == 1e-3 and state["config"]["batch_size"] == 4
    assert state["optimizers"]["g"]["param_groups"][0]["lr"] == 1e-3
    assert f"resumed from step 2 of run {run}" in capsys.readouterr().out
    # An explicit --lr on resume is applied to the restored optimizer and recorded.
    assert main(["train", "--run-dir", run, "--steps", "4", "--lr", "1e-4", *data]) == 0
    state = load_latest(run)[1]
    assert state["config"]["lr"] == 1e-4 and state["optimizers"]["g"]["param_groups"][0]["lr"] == 1e-4
    assert "lr 0.001 → 0.0001" in capsys.readouterr().out
    # --lr-decay-start on resume: the last update (step 5 → 6 of decay from 4) takes half the rate.
    assert main(["train", "--run-dir", run, "--steps", "6", "--lr-decay-start", "4", *data]) == 0
    state = load_latest(run)[1]
    assert state["config"]["lr_decay_start"] == 4
    assert state["optimizers"]["g"]["param_groups"][0]["lr"] == pytest.approx(0.5e-4)


def test_memory_format_option_reaches_the_networks(tmp_path):
    data = [
        "--size",
        "32x32",
        "--g1.base-channels",
        "4",
        "--people",
        "2",
        "--views",
        "1",
        "--batch-size",
        "2",
        "--steps",
        "1",
    ]

    def conv_weights(run: Path) -> tuple[bool, list[torch.Tensor]]:
        state = load_latest(run)[1]
        weights = [w for w in state["models"]["g1"].values() if w.dim() == 4 and w.shape[1] > 1 and w.shape[2] > 1]
        assert weights
        return state["config"]["channels_last"], weights

    assert main(["train", "--run-dir", str(tmp_path / "default"), *data]) == 0
    flag, weights = conv_weights(tmp_path / "default")
    assert flag is True and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert main(["train", "--run-dir", str(tmp_path / "nchw"), "--no-channels-last", *data]) == 0
    flag, weights = conv_weights(tmp_path / "nchw")
    assert flag is False
    assert all(w.is_contiguous() and not w.is_contiguous(memory_format=torch.channels_last) for w in weights)


def test_stage3_takes_the_pasting_g1_from_its_checkpoint(tmp_path):
    data = ["--size", "32x32", "--people", "2", "--views", "1", "--batch-size", "2", "--precision", "fp32"]
    g1_dir, g2_dir = tmp_path / "g1", tmp_path / "g2"
    stage2 = ["train", "--stage", "2", "--run-dir", str(g1_dir), "--steps", "1", "--g1.warp", "paste"]
    assert main([*stage2, "--g1.base-channels", "4", *data]) == 0
    assert main(["train", "--stage", "3", "--run-dir", str(g2_dir), "--steps", "1", *SMALL,
                 "--g1-checkpoint", str(g1_dir), "--g2.mask-difference", *data]) == 0  # fmt: skip
    g1 = saved_config(g2_dir)["g1"]
    assert (g1["warp"], g1["base_channels"]) == ("paste", 4)  # not given again: read from the G1 checkpoint


def test_stage3_with_g2_kept_inside_the_proxy_silhouette(tmp_path):
    data = ["--size", "32x32", "--people", "2", "--views", "1", "--batch-size", "2", "--precision", "fp32"]
    g1_dir, g2_dir = tmp_path / "g1", tmp_path / "g2"
    assert (
        main(["train", "--stage", "2", "--run-dir", str(g1_dir), "--steps", "1", "--g1.base-channels", "4", *data]) == 0
    )
    # PG2's G1 needs no proxy; the G2 option alone makes the data carry the proxy's part maps.
    regions = ["--g2.mask-difference", "--g2.silhouette-difference"]
    assert main(["train", "--stage", "3", "--run-dir", str(g2_dir), "--steps", "1", *SMALL,
                 "--g1-checkpoint", str(g1_dir), *regions, *data]) == 0  # fmt: skip
    assert saved_config(g2_dir)["g2"]["silhouette_difference"]
    assert load_models(g2_dir)["g2"].config.silhouette_difference  # the option travels with the weights
    # --g2.warped-input, --g2.visible-difference: the data carry the proxy's flow and visibility for G2 alone
    # (PG2's G1 does not warp).
    warped = tmp_path / "g2w"
    options = ["--g2.warped-input", "--g2.visible-difference"]
    assert main(["train", "--stage", "3", "--run-dir", str(warped), "--steps", "1", *SMALL,
                 "--g1-checkpoint", str(g1_dir), *options, *data]) == 0  # fmt: skip
    config = load_models(warped)["g2"].config
    assert config.warped_input and config.visible_difference


def test_cache_arrays_trains_on_compact_batches_to_the_same_weights(tmp_path, monkeypatch):
    from posegen_lite.data import datasets

    built = []
    build = datasets.build_dataset
    monkeypatch.setattr(datasets, "build_dataset", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    data = ["--size", "32x16", "--g1.base-channels", "4", "--people", "2", "--views", "2", "--batch-size", "2"]
    data += ["--steps", "2", "--precision", "fp32", "--val-every", "2", "--cache", str(tmp_path / "cache")]
    assert main(["train", "--run-dir", str(tmp_path / "png"), *data]) == 0
    assert main(["train", "--run-dir", str(tmp_path / "arrays"), "--cache-arrays", *data]) == 0
    train_set, val_set = built[2:]
    assert train_set.compact and not val_set.compact  # the steps expand the batches; the grid reads floats
    assert (tmp_path / "arrays" / "val_00000002.png").is_file()
    want, got = (load_latest(tmp_path / run)[1]["models"]["g1"] for run in ("png", "arrays"))
    assert all(torch.equal(got[k], want[k]) for k in want)
