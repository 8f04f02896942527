"""Command-line options generated from a dataclass: one field, one option, its default and help in one place.

``add_options(parser, Cls, prefix)`` adds ``--{prefix}{field-name}`` for each plain field (bool →
``--x/--no-x``; tuples take one value per item; ``Optional`` fields also take ``none``; a field's
``metadata["parse"]`` reads its text). Every option's default is None — "not given" — so a caller can tell
a value given now from the dataclass's default and from a resumed run's recorded value. ``given(args, Cls,
prefix)`` collects the values given; ``check_value`` checks a TOML file's value against the field's type.
``packed_listing`` lists a group's options in a few lines, for a help that fits a screen.
"""

from __future__ import annotations

import argparse
import math
import sys
import types
import typing
from dataclasses import MISSING, Field, fields, is_dataclass


def field_type(cls: type, f: Field) -> tuple[object, bool]:
    """``(type, optional)`` of a dataclass field whose annotation may be a string (``from __future__``)."""
    kind = f.type
    if isinstance(kind, str):
        kind = eval(kind, vars(sys.modules[cls.__module__]), {})  # what typing.get_type_hints does, per field
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(kind) if a is not type(None)]
        return rest[0], len(rest) < len(typing.get_args(kind))
    return kind, False


def plain_fields(cls: type) -> list[Field]:
    """The fields an option stands for: all but nested configs (each has its own group)."""
    out = []
    for f in fields(cls):
        try:
            kind, _ = field_type(cls, f)
        except NameError:  # a nested config whose module is imported on first use (it needs torch)
            continue
        if not (is_dataclass(kind) or f.metadata.get("cli") is False):
            out.append(f)
    return out


def flag(f: Field, prefix: str = "") -> str:
    return "--" + prefix + f.metadata.get("flag", f.name.replace("_", "-"))


def default_of(f: Field) -> object:
    return f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default


def _scalar(kind: type, text: str) -> object:
    if kind is bool:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {text!r}")
        return value
    return kind(text)


def text_parser(cls: type, f: Field):
    """An argparse ``type`` reading one command-line word of field ``f``."""
    kind, optional = field_type(cls, f)
    item = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind

    def parse(text: str) -> object:
        if optional and text.lower() == "none":
            return None
        try:
            return f.metadata["parse"](text) if "parse" in f.metadata else _scalar(item, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = getattr(item, "__name__", "value")  # argparse names the type in its error messages
    return parse


def metavar(cls: type, f: Field) -> str:
    if "metavar" in f.metadata:
        return f.metadata["metavar"]
    kind, _ = field_type(cls, f)
    kind = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind
    return {int: "INT", float: "X", str: "TEXT"}.get(kind, "VALUE")


def default_text(f: Field) -> str:
    value = default_of(f)
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return f.metadata.get("show", " ".join(map(str, value)) if isinstance(value, tuple) else str(value))


def add_options(
    parser, cls: type, prefix: str = "", skip: tuple[str, ...] = (), shown: bool = True, flag_prefix: str | None = None
) -> None:
    """Add an option per plain field of ``cls`` to ``parser`` (a parser or argument group), dest
    ``prefix + name``, flag ``--{flag_prefix}{name}`` (``flag_prefix`` defaults to ``prefix``);
    ``shown=False`` leaves them out of the per-option help (see ``packed_listing``)."""
    for f in plain_fields(cls):
        if f.name in skip:
            continue
        kind, _ = field_type(cls, f)
        default = "" if default_of(f) is None else f" (default {default_text(f)})"
        text = f"{f.metadata.get('help', '')}{default}".strip()
        kw: dict = {"dest": prefix + f.name, "default": None, "help": text if shown else argparse.SUPPRESS}
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw.update(type=text_parser(cls, f), metavar=metavar(cls, f))
            if typing.get_origin(kind) is tuple and "parse" not in f.metadata:  # else one word, e.g. 128x64
                kw["nargs"] = len(typing.get_args(kind))
            if "choices" in f.metadata:
                kw.update(choices=f.metadata["choices"], metavar="{" + ",".join(f.metadata["choices"]) + "}")
        parser.add_argument(flag(f, prefix if flag_prefix is None else flag_prefix), **kw)


def given(args: argparse.Namespace, cls: type, prefix: str = "") -> dict[str, object]:
    """The values of ``cls``'s options given on the command line (those left out are absent)."""
    out = {}
    for f in plain_fields(cls):
        value = getattr(args, prefix + f.name, None)
        if value is not None:
            out[f.name] = tuple(value) if isinstance(value, list) else value
    return out


def check_value(cls: type, f: Field, value: object) -> object:
    """``value`` (read from a TOML file) as field ``f`` of ``cls`` holds it; ``TypeError`` naming what was
    expected when it has the wrong type. A string for a field with ``metadata["parse"]`` is parsed."""
    kind, optional = field_type(cls, f)
    if isinstance(value, str) and "parse" in f.metadata:
        return f.metadata["parse"](value)
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if not (isinstance(value, list) and len(value) == len(items)):
            raise TypeError(f"expected a list of {len(items)} values, got {value!r}")
        return tuple(_check_scalar(t, v) for t, v in zip(items, value, strict=True))
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {value!r}")
        key_type, value_type = typing.get_args(kind)
        return {_check_scalar(key_type, k): _check_scalar(value_type, v) for k, v in value.items()}
    if "choices" in f.metadata and value not in f.metadata["choices"]:
        raise TypeError(f"expected one of {f.metadata['choices']}, got {value!r}")
    return _check_scalar(kind, value)


def _check_scalar(kind: type, value: object) -> object:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # TOML writes 45 for 45.0
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {'a number' if kind is float else 'a ' + kind.__name__}, got {value!r}")
    return value


def packed_listing(cls: type, prefix: str, width: int = 116, skip: tuple[str, ...] = ()) -> str:
    """``cls``'s options and defaults in a few wrapped lines: ``--g1.warp TEXT=none  --g1.levels INT=None …``."""
    parts = []
    for f in plain_fields(cls):
        if f.name in skip:
            continue
        kind, _ = field_type(cls, f)
        name = flag(f, prefix)
        if kind is bool:
            parts.append(f"{name.replace('--', '--[no-]', 1)}={default_text(f)}")
        else:
            parts.append(f"{name} {metavar(cls, f)}={default_text(f)}")
    lines = [""]
    for part in parts:  # greedy, never inside an option
        if lines[-1] and len(lines[-1]) + 2 + len(part) > width:
            lines.append("")
        lines[-1] += ("  " if lines[-1] else "") + part
    return "\n".join(lines)


class OneLineHelp(argparse.RawDescriptionHelpFormatter):
    """Each option on one line (``--x/--no-x`` as ``--[no-]x``), so that a long help stays countable."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, argparse.BooleanOptionalAction):
            return action.option_strings[0].replace("--", "--[no-]", 1)
        if action.option_strings and action.nargs != 0:
            return f"{', '.join(action.option_strings)} {self._format_args(action, action.metavar or 'VALUE')}"
        return super()._format_action_invocation(action)

    def _format_action(self, action: argparse.Action) -> str:
        if action.help == argparse.SUPPRESS:
            return ""
        invocation = self._format_action_invocation(action)
        return f"  {invocation:<32} {self._expand_help(action) if action.help else ''}".rstrip() + "\n"
