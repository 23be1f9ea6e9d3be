"""Right-to-left text as a PDF draws it: glyph by glyph, left to right, with no shaping of its own.

Two steps make Arabic and Hebrew read correctly. ``ArabicJoiner`` replaces Arabic letters by the
presentation forms they take within a word (``arabic-reshaper``), using only forms the fonts have.
``display_order`` then puts a line in the order it is drawn, by the Unicode bidirectional algorithm
(UAX #9): python-bidi resolves the embedding levels, and the line is reordered (rules L1, L2) and its
mirrored characters swapped (rule L4) here, because python-bidi's ``get_display`` leaves L4 out: it turns
"דוד (20)" into ")20( דוד", the brackets facing away from the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from arabic_reshaper import ArabicReshaper
from arabic_reshaper.ligatures import LIGATURES
from arabic_reshaper.reshaper_config import default_config
from bidi import VERSION as BIDI_VERSION
from bidi import get_base_level, get_display
from bidi.mirror import MIRRORED


class ArabicJoiner:
    """Joins Arabic letters into presentation forms, with the ligatures the fonts can draw.

    ``drawable`` says whether the fonts have a glyph for a character. Each of arabic-reshaper's
    ligatures is switched on only if every form of it is drawable: lam-alef (U+FEFB...) is in DejaVu,
    the single glyph for الله (U+FDF2) is not, so that word is drawn letter by letter.
    """

    def __init__(self, drawable: Callable[[str], bool]) -> None:
        # Every key set here, so that no configuration file named in the environment changes the result.
        configuration = {
            **default_config,
            **{name: all(drawable(form) for form in forms if form) for name, (_, forms) in LIGATURES},
        }
        self.reshaper = ArabicReshaper(configuration)

    def join(self, text: str) -> str:
        return self.reshaper.reshape(text)


# Characters of bidi class B: each ends a paragraph, which UAX #9 orders on its own.
_PARAGRAPHS = re.compile("[^\n\r\x1c-\x1e\x85\u2029]*(?:\r\n|[\n\r\x1c-\x1e\x85\u2029])?")
# Reset to the paragraph level at the end of a line or before a separator (L1), with the characters
# rule X9 set aside (UAX #9, 5.2 "Retaining BNs and Explicit Formatting Characters").
_TRAILING_CLASSES = frozenset(("WS", "FSI", "LRI", "RLI", "PDI", "BN", "LRE", "RLE", "LRO", "RLO", "PDF"))
_LEVELS_START, _LEVELS_END = "\n    levels: [\n", "\n    ],\n"
_LEVEL = re.compile(r"Level\(\s*(\d+),\s*\)")


def display_order(line: str) -> str:
    """``line`` in the order its characters are drawn from left to right, mirrored characters (brackets,
    « », < >) replaced by their mirror image where they are in a right-to-left run.

    A character whose mirror image is no character of its own (∑, for one) is left as it is. A line
    without mirrored characters, the common case, is python-bidi's ``get_display`` as it stands.
    """
    if MIRRORED.keys().isdisjoint(line):
        return get_display(line)
    return "".join(_paragraph_order(paragraph) for paragraph in _PARAGRAPHS.findall(line) if paragraph)


def _paragraph_order(paragraph: str) -> str:
    levels = _line_levels(paragraph, _resolved_levels(paragraph), get_base_level(paragraph))
    # MIRRORED (python-bidi's copy of BidiMirroring.txt) holds only characters with Bidi_Mirrored=Yes.
    return "".join(
        MIRRORED.get(paragraph[i], paragraph[i]) if levels[i] % 2 else paragraph[i]
        for i in _visual_indices(levels)
    )


def _resolved_levels(paragraph: str) -> list[int]:
    """The embedding level of each character of one paragraph, resolved by python-bidi (rules P2-I2).

    python-bidi gives them only in its ``debug`` output: unicode-bidi's ``BidiInfo`` pretty-printed,
    one level per UTF-8 byte. A newline cannot occur inside its quoted text, so the block found is the
    levels one; if the format ever changes, the count check fails loudly instead of guessing.
    """
    info = get_display(paragraph, debug=True)
    start = info.find(_LEVELS_START)
    by_byte = [int(level) for level in _LEVEL.findall(info, start, info.find(_LEVELS_END, start))]
    encoded = paragraph.encode()
    if start < 0 or len(by_byte) != len(encoded):
        raise RuntimeError(
            f"python-bidi {BIDI_VERSION} gave {len(by_byte)} levels for {len(encoded)} bytes of "
            f"{paragraph!r}; pin the python-bidi version this was written for (0.6.12)"
        )
    # A character's level is that of its first byte (UTF-8 continuation bytes are 0b10xxxxxx).
    return [level for level, byte in zip(by_byte, encoded, strict=True) if byte & 0xC0 != 0x80]


def _line_levels(line: str, levels: list[int], paragraph_level: int) -> list[int]:
    """Rule L1: separators, and whitespace before them or at the end of the line, take the paragraph
    level."""
    levels = list(levels)
    trailing = True
    for index in range(len(line) - 1, -1, -1):
        kind = unicodedata.bidirectional(line[index])
        if kind in ("S", "B"):
            levels[index], trailing = paragraph_level, True
        elif trailing and kind in _TRAILING_CLASSES:
            levels[index] = paragraph_level
        else:
            trailing = False
    return levels


def _visual_indices(levels: list[int]) -> list[int]:
    """Rule L2: from the highest level down to the lowest odd one, reverse every run of characters at
    that level or higher. Returns the logical index of each character in display order."""
    order = list(range(len(levels)))
    lowest_odd = min(levels) | 1
    for level in range(max(levels), lowest_odd - 1, -1):
        start = 0
        while start < len(order):
            if levels[order[start]] < level:
                start += 1
                continue
            end = start
            while end < len(order) and levels[order[end]] >= level:
                end += 1
            order[start:end] = order[start:end][::-1]
            start = end
    return order
