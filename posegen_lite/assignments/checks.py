"""The machinery every exercise check shares.

A check is a plain function that raises ``AssertionError`` with a message that says *what is wrong* — the
grader (otter-grader) shows that message to the student, both for the public checks in the notebook and
for the hidden ones at grading time. An exercise the student has not started yet still raises the
``NotImplementedError`` of its stub; ``attempt`` turns that into ``NotDoneYet``, whose message starts with
"not done yet", so an untouched notebook runs top to bottom and every check reports that cleanly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch


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
