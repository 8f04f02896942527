"""The embedded people's traits occur as often as docs/architecture.md states ("What the people are, in numbers")."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_lite.data.synthetic.body import BACK_PATTERNS, sample_person

STATED = {  # docs/architecture.md's table
    "long hair": 0.35,
    "long sleeves": 0.40,
    "shorts": 0.25,
    "three letters": 0.20,
    "print on the bare shirt": 0.40,
    **{f"back {b}": 0.25 for b in BACK_PATTERNS},
}


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(0)
    return [sample_person(rng) for _ in range(4000)]


def test_each_trait_occurs_as_often_as_the_docs_say(people):
    seen = {
        "long hair": [p.long_hair for p in people],
        "long sleeves": [p.long_sleeves for p in people],
        "shorts": [p.shorts for p in people],
        "three letters": [len(p.text) == 3 for p in people],
        "print on the bare shirt": [np.array_equal(p.patch, p.shirt) for p in people],
        **{f"back {b}": [p.back == b for p in people] for b in BACK_PATTERNS},
    }
    for trait, share in STATED.items():
        assert abs(np.mean(seen[trait]) - share) <= 0.025, trait
    assert all(len(p.text) in (2, 3) for p in people)  # every shirt front carries a print
