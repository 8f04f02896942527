"""Tests for posegen_lite.data.synthetic.hidden_detail and body.draw_detail: redrawing what a view may hide."""

import dataclasses

import numpy as np
import pytest

from posegen_lite.data.synthetic.body import PART, draw_detail, sample_person
from posegen_lite.data.synthetic.hidden_detail import hidden_detail_guess, redrawn_people
from posegen_lite.data.synthetic.pairs import SyntheticConfig, plan_pair, render_pairs

DETAIL = ("text", "ink", "patch", "back", "back_colour")


def test_sample_person_draws_as_it_always_has():
    # The draw order defines the embedded dataset's bytes: moving the detail into draw_detail kept it
    # (these values were printed by the code before the move).
    p = sample_person(np.random.default_rng(0))
    assert (p.text, p.back, round(p.height, 4)) == ("HC", "stripes", 1.8018)
    np.testing.assert_allclose(p.back_colour, [0.2003, 0.2932, 0.2501], atol=1e-4)
    p = sample_person(np.random.default_rng(3))
    assert (p.text, p.back, round(p.height, 4)) == ("GQ", "yoke", 1.6343)


def test_redrawn_people_change_only_the_detail_and_are_reproducible():
    person = sample_person(np.random.default_rng(1))
    copies = redrawn_people(person, 6, seed=2)
    assert len(copies) == 6
    for c in copies:
        for f in dataclasses.fields(person):
            if f.name not in DETAIL:
                assert np.array_equal(getattr(c, f.name), getattr(person, f.name)), f.name
    assert len({(c.text, c.back) for c in copies}) > 1  # the draws differ from copy to copy
    again = redrawn_people(person, 6, seed=2)
    assert [(c.text, c.back) for c in copies] == [(c.text, c.back) for c in again]
    with pytest.raises(ValueError, match="samples"):
        redrawn_people(person, 0)


def test_draw_detail_keeps_the_back_pattern_visible_on_the_shirt():
    shirt = np.float32([0.3, 0.5, 0.7])  # (a grey of 0.5 would be its own complement)
    for k in range(20):
        d = draw_detail(np.random.default_rng(k), shirt)
        assert d["back"] in ("plain", "stripes", "yoke", "band")
        assert np.abs(d["back_colour"] - shirt).sum() >= 0.4 - 1e-6


def test_the_guess_is_the_target_everywhere_but_the_shirts_print_and_back():
    config = SyntheticConfig(size=(64, 32), train_people=8, val_people=2, test_people=2, hard_people=2)
    indices = [0, 1, 2]
    plans = [plan_pair(config, "test", i) for i in indices]
    guess = hidden_detail_guess(plans, samples=5, supersample=config.supersample)
    renders = render_pairs(config, "test", indices)
    assert guess.shape == (3, 64, 32, 3) and guess.dtype == np.uint8
    for g, r in zip(guess, renders, strict=True):
        truth, parts = r.view_b.image, r.view_b.parts
        # Off the chest nothing was redrawn. The part map is sampled at pixel centres, the image from 2×2
        # sub-pixels: a pixel up to 2 pixels from the chest's centres can hold a sub-pixel of chest (behind an
        # arm's edge, say), so those are left out.
        near_chest = np.zeros_like(parts, dtype=bool)
        chest = parts == PART["chest"]
        for dy in (-2, -1, 0, 1, 2):
            for dx in (-2, -1, 0, 1, 2):
                near_chest |= np.roll(np.roll(chest, dy, 0), dx, 1)
        assert np.array_equal(g[~near_chest], truth[~near_chest])
    assert not np.array_equal(guess, np.stack([r.view_b.image for r in renders]))  # the detail itself differs
