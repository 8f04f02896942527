"""Recipes as files: a ``configs/*.toml`` is a ``posegen train`` command written down.

Top-level keys are ``TrainConfig``'s fields; the tables ``[g1]``, ``[g2]``, ``[disc]``, ``[cvae]`` hold the
nested configs' fields and ``[data]`` the data options (``cli/common.py``'s ``DataOptions``). The networks'
image size is ``[data] size`` alone (never ``height``/``width`` in a network's table). An unknown key or a
value of the wrong type is refused with one line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import Field
from pathlib import Path

from posegen_lite.cli.common import DataOptions
from posegen_lite.cli.options import check_value, plain_fields

SIZE_FIELDS = ("height", "width")  # set by [data] size, for every network alike


def recipe_tables() -> dict[str, type]:
    """The TOML tables and the dataclass each one fills (imports the network configs, so torch)."""
    from posegen_lite.training.config import CVAETrainConfig, model_configs

    return {**model_configs(), "cvae": CVAETrainConfig, "data": DataOptions}


def table_fields(cls: type) -> dict[str, Field]:
    return {f.name: f for f in plain_fields(cls) if f.name not in SIZE_FIELDS or cls is DataOptions}


def read_recipe(path: str | Path) -> dict[str, object]:
    """The checked values of the recipe at ``path``: ``{field: value, table: {field: value}}``."""
    from posegen_lite.training.config import TrainConfig

    tomllib = _toml_reader()
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not a valid TOML file: {err}") from None
    tables = recipe_tables()
    out: dict[str, object] = {}
    for key, value in raw.items():
        if key in tables:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: {key} must be a table ([{key}]), got {value!r}")
            out[key] = {k: _checked(path, f"{key}.{k}", tables[key], v) for k, v in value.items()}
        else:
            out[key] = _checked(path, key, TrainConfig, value)
    return out


def _toml_reader():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as the package tomli
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ImportError("reading a recipe file needs Python ≥ 3.11 (tomllib) or the package tomli") from None
    return tomllib


def _checked(path: Path, key: str, cls: type, value: object) -> object:
    known = table_fields(cls)
    name = key.rsplit(".", 1)[-1]
    if name not in known:
        raise ValueError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    try:
        return check_value(cls, known[name], value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: key {key!r}: {err}") from None
