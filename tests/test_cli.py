"""The ``posegen`` command line: each subcommand reaches its library function; bad input is one clear line."""

from __future__ import annotations

import argparse

import pytest

from posegen_lite.app.cli import main, parse_size
from posegen_lite.models.checkpoints import load_latest
from posegen_lite.models.weights import load_models


def test_parse_size():
    assert parse_size("128x64") == (128, 64)
    for bad in ("128", "0x64", "ax64"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)


def test_train_stage2_then_stage3_on_synthetic_data(tmp_path):
    common = [
        "--size",
        "32x32",
        "--width",
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
                "--d-width",
                "8",
                "--g1-checkpoint",
                str(tmp_path / "g1"),
                *common,
            ]
        )
        == 0
    )
    assert set(load_latest(tmp_path / "g2")[1]["models"]) == {"g1", "g2", "d"}
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
