"""Arabic and Hebrew names in a PDF export: every glyph in the font, in reading order, brackets facing
the right way; read back from the file through the embedded fonts' own tables."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import polars as pl
import pytest
from arabic_reshaper.ligatures import LIGATURES
from bidi import get_display
from bidi.mirror import MIRRORED
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFontFile

from export_platform.render import pdf
from export_platform.render.bidi_text import display_order
from export_platform.render.pdf import write_pdf
from export_platform.render.report import Report, Table
from export_platform_tests.support.pdf_reading import NOTDEF, drawn_texts

ARABIC_NAME = "محمد عبد الله (19)"
HEBREW_NAME = "דוד לוי (20)"
# ARABIC_NAME as drawn, written out by hand: "(19)" at the left, then the words from the last read (الله)
# to the first (محمد) at the right, each in its joined forms, which read right to left and so are listed
# reversed here: isolated alef U+FE8D, initial lam U+FEDF, medial lam U+FEE0, final heh U+FEEA; initial
# ain U+FECB, medial beh U+FE92, final dal U+FEAA; initial meem U+FEE3, medial hah U+FEA4, medial meem
# U+FEE4, final dal U+FEAA.
ARABIC_DRAWN = "(19) \ufeea\ufee0\ufedf\ufe8d \ufeaa\ufe92\ufecb \ufeaa\ufee4\ufea4\ufee3"
CONTEXT = "\u0628"  # beh, which joins on both sides: puts the letter beside it in its final or initial form


def read_order(name: str) -> str:
    """A right-to-left name followed by a bracketed number, as read left to right on the page: the
    bracketed number first (the brackets facing it, as in the name), then the words, last letter first."""
    words, number = name.rsplit(" ", 1)
    return f"{number} {words[::-1]}"


def customers_report(tenant_name: str, names: list[str]) -> Report:
    frame = pl.LazyFrame({"customer_id": list(range(1, len(names) + 1)), "name": names})
    table = Table.of("Customers", frame, {}, ["customer_id", "name"])
    return Report("customers", "Customers", "acme", tenant_name, "2026-10", "UTC", "EUR", (), (table,))


def test_right_to_left_names_are_drawn_with_every_glyph_in_reading_order(tmp_path: Path) -> None:
    assert unicodedata.normalize("NFKC", ARABIC_DRAWN) == read_order(ARABIC_NAME)  # the hand-written forms
    path = tmp_path / "customers.pdf"
    write_pdf(customers_report(ARABIC_NAME, [ARABIC_NAME, HEBREW_NAME]), path)
    drawn = drawn_texts(PdfReader(path).pages[0])

    missing = [(text.text, text.font) for text in drawn if NOTDEF in text.glyphs]
    assert not missing, f"drawn as a box (.notdef): {missing}"
    texts = [text.text for text in drawn]
    assert ARABIC_DRAWN in texts  # a table cell
    assert read_order(HEBREW_NAME) == "(20) יול דוד" and read_order(HEBREW_NAME) in texts
    # In the left-to-right title the name is a right-to-left run, its brackets included (they enclose a
    # number and follow Arabic: rule N0), so it reads the same inside the title.
    assert f"Customers: {ARABIC_DRAWN}" in texts


def test_every_form_the_joiner_draws_for_an_arabic_letter_is_in_the_fonts() -> None:
    """Each letter the fonts have, in each of its four positions, and each of arabic-reshaper's
    ligature sequences (on or off), comes out as characters both the regular and the bold font hold."""
    files = (pdf.REGULAR_FONTS[0][1], pdf.BOLD_FONTS[0][1])
    cmaps = [TTFontFile(str(pdf.FONT_DIR / file)).charToGlyph for file in files]

    def in_fonts(text: str) -> bool:
        return all(ord(char) in cmap for cmap in cmaps for char in text)

    joiner = pdf.arabic_joiner()
    letters = [letter for letter in joiner.reshaper.letters if in_fonts(letter)]
    sequences = [match for _, (match, _) in LIGATURES if in_fonts(match)]
    assert len(letters) > 40 and "\u0627\u0644\u0644\u0647" in sequences  # alef lam lam heh: الله
    lacking = {
        text: joined
        for base in letters + sequences
        for text in (base, CONTEXT + base, base + CONTEXT, CONTEXT + base + CONTEXT)
        if not in_fonts(joined := joiner.join(text))
    }
    assert not lacking, f"joined into characters the fonts lack: {lacking}"


@pytest.mark.parametrize(
    ("line", "drawn"),
    [
        ("שלום (20)", "(20) םולש"),  # right-to-left: both brackets mirrored
        ("א)א", "א(א"),  # a lone bracket between Hebrew letters too
        ("שלום [עולם] {a} <b>", "<b> {a} [םלוע] םולש"),
        ("abc (x) שלום", "abc (x) םולש"),  # left-to-right brackets are left alone
        # Rule N0: the pair encloses Latin, the paragraph's direction, so it is left-to-right.
        ("smith (fabrikam עברית) עברית", "smith (fabrikam תירבע) תירבע"),
    ],
)
def test_brackets_are_mirrored_where_their_level_is_right_to_left(line: str, drawn: str) -> None:
    assert display_order(line) == drawn


@pytest.mark.parametrize(
    "line",
    [
        "עברית 12.50 - 3 abc (x)",
        "قهوة 3.5% ok (x) y",  # digits after Arabic letters: the percent sign is drawn at their left
        "דוד abc (x)  ",
        "abc (x) \u202bשלום  \u202c",  # L1: trailing spaces at the paragraph's level, not the embedding's
        "abc (x) שלום\tעולם",  # and a tab too: the two Hebrew words are ordered on each side of it
        "דוד\tabc (x) 12 \t",
        "abc \u202bדוד 12\u202c (def)",  # an embedding
        "a \u2067דוד abc (x)\u2069 b",  # an isolate
        "דוד\u2029abc (def)\nשלום",  # three paragraphs
    ],
)
def test_reordering_is_python_bidis_where_brackets_are_left_to_right(line: str) -> None:
    """Lines with brackets are reordered here from python-bidi's levels; where every bracket is in a
    left-to-right run (so not mirrored), the order is the one python-bidi's own get_display gives."""
    assert not MIRRORED.keys().isdisjoint(line)
    assert display_order(line) == get_display(line)
