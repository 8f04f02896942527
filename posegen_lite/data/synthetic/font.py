"""A tiny built-in 5×7 bitmap font (A–Z, 0–9): the shirt prints are drawn with it, so no font file is needed.

``text_bitmap("PG")`` returns a ``(7, 11)`` bool array (True = ink), glyphs 5 wide with 1 blank column between.
"""

from __future__ import annotations

import numpy as np

GLYPH_H, GLYPH_W = 7, 5

# Each glyph: 7 rows of 5 characters, '#' = ink. Classic 5×7 dot-matrix shapes.
_GLYPHS: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .###.",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# ##..# #.#.# #..## #...# #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": ".###. #.... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ....# .###.",
}

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def glyph(char: str) -> np.ndarray:
    """The ``(7, 5)`` bool bitmap of one character (A–Z, 0–9); ``ValueError`` for anything else."""
    rows = _GLYPHS.get(char.upper())
    if rows is None:
        raise ValueError(f"no glyph for {char!r}: the built-in font has A–Z and 0–9 only")
    return np.array([[c == "#" for c in row] for row in rows.split()], dtype=bool)


def text_bitmap(text: str, spacing: int = 1) -> np.ndarray:
    """Render ``text`` as a ``(7, n·5 + (n−1)·spacing)`` bool bitmap (True = ink)."""
    if not text:
        raise ValueError("text must not be empty")
    gap = np.zeros((GLYPH_H, spacing), dtype=bool)
    parts: list[np.ndarray] = []
    for i, ch in enumerate(text):
        if i:
            parts.append(gap)
        parts.append(glyph(ch))
    return np.concatenate(parts, axis=1)
