"""The best guess of what one view cannot show: the shirt's print and back, redrawn and rendered many times.

The embedded people draw their front print (letters, ink, patch) and their shirt back (pattern, second colour)
independently of everything else about them (``body.draw_detail``). Where the input view never saw those
surfaces, no model can know them: it can only know their distribution. Under the L1 loss the best single
guess of a pixel is the median of what it could be. So ``hidden_detail_guess`` renders a pair's target view
``samples`` times, the person unchanged except for freshly drawn print and back, and takes the per-pixel
median. Off the print and the back pattern every render is the same, so the guess is the target itself there.

``evaluation.budget`` uses it to bound how much of a model's error no model can remove: the error of the
guess on the pixels the input never saw (an upper bound: where the input saw part of the back or the print,
the rest is partly knowable, which the guess ignores).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from posegen_lite.data.synthetic.body import Person, draw_detail
from posegen_lite.data.synthetic.render import render_views


def redrawn_people(person: Person, samples: int, seed: int = 0) -> list[Person]:
    """``samples`` copies of ``person`` with the print and the back redrawn for its shirt.
    Copy ``k`` draws from ``SeedSequence([seed, k])``: the same draws for every person (whatever batch it
    is in), so a guess is reproducible on its own."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    return [
        dataclasses.replace(person, **draw_detail(np.random.default_rng([seed, k]), person.shirt))
        for k in range(samples)
    ]


def hidden_detail_guess(plans: Sequence, samples: int = 16, seed: int = 0, supersample: int = 2) -> np.ndarray:
    """Per-pixel median of ``samples`` renders of each plan's target view with the print and back redrawn.

    Args:
        plans: ``pairs.PairPlan`` s (person, posed body, the two cameras, background); view B is rendered.
        samples: renders per plan (an even count takes the mean of the middle two).
        seed: see ``redrawn_people``. supersample: as the dataset's renders (``SyntheticConfig.supersample``).
    Returns:
        ``(B, H, W, 3)`` uint8: the guess of each target image, in the dataset's image format.
    """
    if not plans:
        raise ValueError("give at least one pair plan")
    guesses = []
    for plan in plans:  # one plan at a time: its renders are one batched call of `samples` views
        views = render_views(
            redrawn_people(plan.person, samples, seed),
            [plan.body] * samples,
            [plan.cameras[1]] * samples,
            supersample=supersample,
            backgrounds=np.repeat(np.asarray(plan.background, np.float32)[None], samples, axis=0),
        )
        stack = np.stack([v.image for v in views]).astype(np.float32)  # (samples, H, W, 3)
        guesses.append(np.round(np.median(stack, axis=0)).astype(np.uint8))
    return np.stack(guesses)
