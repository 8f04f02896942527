"""The machinery every exercise check shares.

A check is a plain function that raises ``AssertionError`` with a message that says *what is wrong* — the
grader (otter-grader) shows that message to the student, both for the public checks in the notebook and
for the hidden ones at grading time. An exercise the student has not started yet still raises the
``NotImplementedError`` of its stub; ``attempt`` turns that into ``NotDoneYet``, whose message starts with
"not done yet", so an untouched notebook runs top to bottom and every check reports that cleanly.
"""

from __future__ import annotations

import contextlib
import json
import types
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

STORED_FILE = Path(__file__).with_name("stored_answers.json")


# How the student build's stubs of the package's reference implementations start (``student_build``).
REFERENCE_STUB = "this package function is an exercise of assignment"


class NotDoneYet(AssertionError):
    """The exercise still raises its stub's ``NotImplementedError`` (or returns nothing)."""


def attempt(fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the student's ``fn``; a stub (``NotImplementedError``) or a missing ``return`` becomes
    ``NotDoneYet``. Any other exception is the student's bug and propagates unchanged."""
    name = name or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise NotDoneYet(f"not done yet: {name} is not a function (got {type(fn).__name__})")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError as e:
        if str(e).startswith(REFERENCE_STUB):
            raise AssertionError(
                f"{name} calls a package function that is itself an exercise ({e}): in the student build it is "
                "a stub, so write the code yourself"
            ) from None
        raise NotDoneYet(
            f"not done yet: {name} still raises NotImplementedError — write it between the "
            f"BEGIN/END markers and run its cell again ({e})"
        ) from None
    if out is None:
        raise NotDoneYet(f"not done yet: {name} returned None — did you forget the `return`?")
    return out


@contextlib.contextmanager
def skip_if_todo(what: str = "this cell") -> Iterator[None]:
    """For notebook cells that *use* an exercise: if it is not written yet, say so and skip the rest of the
    cell instead of crashing (``with skip_if_todo("the plot"): ...``). Real errors still propagate."""
    try:
        yield
    except (NotImplementedError, NotDoneYet) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"⏭ skipped {what}: an exercise it uses is not done yet ({first})")


def as_numpy(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array, or a clear message when it is not array-like."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be an array, got {type(value).__name__}") from None
    return arr


def check_shape(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` as an array of exactly ``shape``."""
    arr = as_numpy(value, name)
    if arr.shape != tuple(shape):
        raise AssertionError(f"{name} should have shape {tuple(shape)}, got {arr.shape}")
    return arr


def max_error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest absolute difference, NaN-aware: NaN in one and not the other counts as infinitely wrong."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if (nan_got != nan_want).any():
        return float("inf")
    diff = np.abs(np.where(nan_got, 0.0, got) - np.where(nan_want, 0.0, want))
    return float(diff.max()) if diff.size else 0.0


def assert_close(got: Any, want: Any, tol: float, message: str) -> None:
    """Raise ``AssertionError(message + the size of the error)`` unless ``|got − want| <= tol`` everywhere."""
    err = max_error(as_numpy(got, "the result"), as_numpy(want, "the reference"))
    if not err <= tol:
        raise AssertionError(f"{message} (largest difference {err:.3g}, tolerance {tol:g})")


def scalar_tensor(value: Any, name: str) -> torch.Tensor:
    """``value`` must be a 0-dim torch tensor (a loss autograd can differentiate)."""
    if not isinstance(value, torch.Tensor):
        raise AssertionError(
            f"{name} should return a torch tensor (autograd needs one to call .backward()); "
            f"got {type(value).__name__} — did you call .item() or use numpy?"
        )
    if value.dim() != 0:
        raise AssertionError(
            f"{name} should return a single number (a 0-dim tensor), got shape {tuple(value.shape)} — take the mean"
        )
    return value


def with_references(fn: Callable, **references: Callable) -> Callable:
    """``fn`` with the names it looks up globally replaced by ``references`` — so a check of ``g1_step``
    runs it with a known loss instead of the student's own ``masked_l1``, and one mistake costs one
    question. Functions of the same notebook that ``fn`` calls (``overfit_one_batch`` → ``g1_step``) see the
    replacements too; the notebook's own names are left untouched (the copy gets a new globals dict)."""
    if not isinstance(fn, types.FunctionType) or not references:
        return fn
    home = fn.__globals__
    scope = dict(home)
    for name, value in home.items():
        if isinstance(value, types.FunctionType) and value.__globals__ is home:
            scope[name] = _rebound(value, scope)
    scope.update(references)
    return _rebound(fn, scope)


def _rebound(fn: types.FunctionType, scope: dict) -> types.FunctionType:
    out = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__, out.__doc__ = fn.__kwdefaults__, fn.__doc__
    return out


def fingerprint(model: torch.nn.Module, points: int = 64) -> np.ndarray:
    """A short signature of a model's weights ``(points + 2,)`` float64: ``points`` evenly spaced parameters,
    their sum and their sum of squares. Stored for reference steps, so a check can compare a student's update
    with the reference update without shipping the reference step's code."""
    flat = torch.cat([p.detach().flatten() for p in model.parameters()]).double()
    idx = torch.linspace(0, flat.numel() - 1, points).round().long()
    return torch.cat([flat[idx], flat.sum()[None], (flat**2).sum()[None]]).numpy()


@lru_cache(maxsize=1)
def stored_answers() -> dict:
    """The reference outputs the public checks compare against (``stored_answers.json``, made by
    ``answers.write_stored_answers`` with the instructor's package), so no check ships a reference answer."""
    return json.loads(STORED_FILE.read_text())


def assert_fingerprint(got: np.ndarray, want, message: str) -> None:
    """Compare two ``fingerprint``s: the sampled weights to 1e-5, the two sums to a relative 1e-5."""
    want = np.asarray(want, np.float64)
    assert_close(got[:-2], want[:-2], 1e-5, message)
    assert_close(got[-2:], want[-2:], 1e-5 * (1.0 + float(np.abs(want[-2:]).max())), message)
