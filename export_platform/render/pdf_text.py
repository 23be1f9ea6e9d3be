"""Text on a PDF page: the embedded fonts shipped in the package, chosen per character, right-to-left
text joined and put in display order, word wrap, and how a value is written. Shared by the table
pages (``render.pdf``) and the overview page (``render.pdf_overview``), so a name in a chart's labels
is drawn as it is in the tables."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from export_platform.render.bidi_text import ArabicJoiner, display_order
from export_platform.render.report import Kind
from export_platform.render.reportlab_internals import text_font

FONT_DIR = Path(__file__).parent / "fonts"
REGULAR_FONTS = (
    ("EP-Sans", "DejaVuSansCondensed.ttf"),
    ("EP-CJK", "DroidSansFallbackFull.ttf"),
    ("EP-Hangul", "NanumGothic.ttf"),
)
BOLD_FONTS = (("EP-Sans-Bold", "DejaVuSansCondensed-Bold.ttf"), *REGULAR_FONTS[1:])
MAX_CELL_LINES = 30
# Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, and the Hebrew and Arabic presentation forms.
RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def _right_to_left(text: str) -> bool:
    return not text.isascii() and RIGHT_TO_LEFT.search(text) is not None


def display_line(line: str) -> str:
    """One line as it is drawn: right-to-left text joined and in display order, anything else as is."""
    return display_order(arabic_joiner().join(line)) if _right_to_left(line) else line


class FontSet:
    """Picks, per character, the first font of a chain that has a glyph for it.

    The first font covers all of ASCII, so ASCII text (most cells) skips the per-character search.
    """

    def __init__(self, chain: tuple[tuple[str, str], ...]) -> None:
        self.names = [_register(name, file) for name, file in chain]
        self.fonts = {name: pdfmetrics.getFont(name) for name in self.names}
        self.cmaps = [self.fonts[name].face.charToGlyph for name in self.names]
        self.primary = self.names[0]

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - two long-lived instances
    def font_for(self, char: str) -> str:
        code = ord(char)
        return next(
            (name for name, cmap in zip(self.names, self.cmaps, strict=True) if code in cmap), self.primary
        )

    def runs(self, text: str) -> Iterator[tuple[str, str]]:
        if text.isascii():
            yield self.primary, text
            return
        start, current = 0, None
        for index, char in enumerate(text):
            font = self.font_for(char)
            if font != current:
                if current is not None:
                    yield current, text[start:index]
                start, current = index, font
        if current is not None:
            yield current, text[start:]

    def has(self, char: str) -> bool:
        """Whether a font of the chain has a glyph for ``char`` (else it is drawn as a box)."""
        code = ord(char)
        return any(code in cmap for cmap in self.cmaps)

    def width(self, text: str, size: float) -> float:
        if text.isascii():
            return self.fonts[self.primary].stringWidth(text, size)
        return sum(self.fonts[font].stringWidth(run, size) for font, run in self.runs(text))

    def draw(self, canvas: Canvas, x: float, y: float, text: str, size: float) -> None:
        """Draw one line, already in display order (see ``display_line``)."""
        lines = canvas.beginText()
        self.write(lines, x, y, text, size)
        canvas.drawText(lines)

    def write(self, lines: PDFTextObject, x: float, y: float, text: str, size: float) -> None:
        """Add ``text`` at (x, y) to a text object, switching fonts only where the script changes."""
        lines.setTextOrigin(x, y)
        for font, run in self.runs(text):
            if text_font(lines) != (font, size):
                lines.setFont(font, size)
            lines.textOut(run)


@functools.cache
def _register(name: str, file: str) -> str:
    pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    return name


@functools.cache
def fonts() -> tuple[FontSet, FontSet]:
    return FontSet(REGULAR_FONTS), FontSet(BOLD_FONTS)


@functools.cache
def arabic_joiner() -> ArabicJoiner:
    """Joins Arabic with only the forms both the regular and the bold fonts draw (text can be either)."""
    regular, bold = fonts()
    return ArabicJoiner(lambda char: regular.has(char) and bold.has(char))


def _clean(text: str) -> str:
    """Tabs and other control characters become spaces, lone surrogates U+FFFD; line breaks stay."""
    return "".join(
        "\ufffd" if "\ud800" <= c <= "\udfff" else c if c == "\n" or c >= " " else " " for c in text
    )


def wrap(text: str, width: float, size: float, font: FontSet, max_lines: int = MAX_CELL_LINES) -> list[str]:
    """Greedy word wrap to ``width`` points; words wider than a line (and CJK runs) break anywhere.
    Returns the lines as they are drawn (right-to-left lines in display order)."""
    if _right_to_left(text):
        # Joined before measuring (the joined forms have their own widths), ordered line by line.
        joined = arabic_joiner().join(_clean(text))
        return [display_order(line) for line in _wrap(joined, width, size, font, max_lines)]
    return _wrap(text, width, size, font, max_lines)


def _wrap(text: str, width: float, size: float, font: FontSet, max_lines: int) -> list[str]:
    if text.isprintable() and font.width(text, size) <= width:
        return [text]  # the common case: one clean line that fits
    lines: list[str] = []
    for paragraph in _clean(text).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if font.width(line + char, size) > width and line:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        shown = lines[: max_lines - 1]
        left_out = len(text) - sum(len(s) for s in shown)
        return [*shown, f"… ({left_out:,} more characters)"]
    return lines


def format_value(value: object, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.MONEY:
        return f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    if kind is Kind.PERCENT:
        return f"{value:.2f}%"
    if kind is Kind.INTEGER:
        return f"{value:,}"
    if kind is Kind.DATETIME and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if kind is Kind.DATE and isinstance(value, dt.date):
        return value.isoformat()
    if kind is Kind.BOOLEAN:
        return "yes" if value else "no"
    return str(value)
