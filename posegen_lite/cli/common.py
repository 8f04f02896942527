"""What several subcommands share: argparse types and the data options (``DataOptions`` → ``DataSpec``)."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field


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


def unit_float(text: str) -> float:
    """A number in [0, 1] (a share)."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except argparse.ArgumentTypeError as err:
        raise ValueError(str(err)) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be ≥ 1, got {value}")
    return value


@dataclass
class DataOptions:
    """The data options of ``train`` and ``evaluate`` (a recipe's ``[data]`` table): ``data.datasets.DataSpec``
    without its ``extras``, which the subcommand sets."""

    data: str = field(
        default="synthetic",
        metadata={"help": "dataset", "choices": ["synthetic", "market", "fashion", "panoptic"]},
    )
    root: str | None = field(default=None, metadata={"help": "dataset root for real datasets (docs/datasets.md)"})
    size: tuple[int, int] = field(
        default=(64, 64), metadata={"help": "image size", "parse": _size, "metavar": "HxW", "show": "64x64"}
    )
    people: int = field(default=400, metadata={"help": "synthetic: training people", "parse": _positive})
    views: int = field(default=8, metadata={"help": "synthetic: pairs per person", "parse": _positive})
    seed: int = field(default=0, metadata={"help": "synthetic: dataset seed", "flag": "data-seed"})
    cache: str | None = field(default=None, metadata={"help": "synthetic: render once into this folder, read it"})
    cache_arrays: bool = field(default=False, metadata={"help": "synthetic: read the cache as memory-mapped arrays"})


DATA = "data."  # the data options' dest prefix (their flags have none: --people, --size, --data-seed)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    from posegen_lite.cli.options import add_options

    add_options(parser.add_argument_group("data"), DataOptions, prefix=DATA, flag_prefix="")


def data_values(args: argparse.Namespace, recipe: dict | None = None) -> dict[str, object]:
    """The data options given: the command line's, else the recipe's ``[data]`` (left out: not given)."""
    from posegen_lite.cli.options import given

    return {**((recipe or {}).get("data") or {}), **given(args, DataOptions, DATA)}


def data_spec(values: dict[str, object], extras: bool):
    """The ``DataSpec`` of ``data_values``, ``DataOptions``' defaults for the options not given."""
    from dataclasses import asdict

    from posegen_lite.data.datasets import DataSpec

    values = {**asdict(DataOptions()), **values}
    return DataSpec(**{**values, "size": tuple(values["size"])}, extras=extras)
