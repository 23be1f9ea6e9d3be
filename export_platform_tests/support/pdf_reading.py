"""Reading our PDFs back with pypdf, as a reader of the report would see them."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from pypdf import PageObject
from pypdf.generic import DictionaryObject

# The total page count is a form XObject drawn after "Page N of", so pypdf extracts it as its own line.
FOOTER = re.compile(r"Page ([\d,]+) of\s+([\d,]+)")
BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.DOTALL)
HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
NOTDEF = 0  # glyph 0 of a TrueType font: what is drawn, as a box, for a character the font lacks


def page_footer(page: PageObject) -> tuple[int, int]:
    """The (page number, page total) a page's footer states."""
    found = FOOTER.search(page.extract_text())
    assert found, "no 'Page X of Y' footer on the page"
    number, total = (int(group.replace(",", "")) for group in found.groups())
    return number, total


@dataclass(frozen=True)
class DrawnText:
    """One string a page shows (a Tj or TJ operand), read through its font's own tables."""

    font: str  # the embedded font's name, e.g. "AAAAAA+DejaVuSansCondensed"
    text: str  # the characters, by the font's ToUnicode map, in the order they are drawn (left to right)
    glyphs: tuple[int, ...]  # the glyph each code selects in the embedded font; NOTDEF is a box


def drawn_texts(page: PageObject) -> list[DrawnText]:
    """Every string the page's content stream draws, in drawing order (form XObjects left out).

    The glyphs come from the embedded TrueType font's own cmap, not from the ToUnicode map a text
    extractor uses, so a character drawn as .notdef shows as ``NOTDEF`` even though its text is right.
    """
    fonts = page["/Resources"]["/Font"]
    # Each font is read when text is first drawn with it: reportlab sets a default font it never uses.
    decoders: dict[str, _SimpleFont] = {}
    drawn, font = [], None
    for operands, operator in page.get_contents().operations:
        if operator == b"Tf":
            font = str(operands[0])
        elif operator in (b"Tj", b"TJ"):
            assert font is not None, "text shown before any font was set"
            if font not in decoders:
                decoders[font] = _SimpleFont.of(fonts[font].get_object())
            strings = operands[0] if operator == b"TJ" else [operands[0]]
            codes = b"".join(_raw(s) for s in strings if not isinstance(s, int | float))
            drawn.append(decoders[font].decode(codes))
    return drawn


def _raw(string) -> bytes:
    return bytes(getattr(string, "original_bytes", string))


@dataclass(frozen=True)
class _SimpleFont:
    name: str
    to_unicode: dict[int, str]
    code_to_glyph: dict[int, int]

    @classmethod
    def of(cls, font: DictionaryObject) -> _SimpleFont:
        assert font["/Subtype"] == "/TrueType", f"not an embedded TrueType font: {font['/BaseFont']}"
        cmap = font["/ToUnicode"].get_object().get_data()
        assert b"beginbfrange" not in cmap, "ToUnicode ranges are not read here"
        to_unicode = {
            int(code, 16): bytes.fromhex(target.decode()).decode("utf-16-be")
            for block in BFCHAR.findall(cmap)
            for code, target in HEX_PAIR.findall(block)
        }
        embedded = font["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        return cls(str(font["/BaseFont"]).lstrip("/"), to_unicode, _truetype_cmap(embedded))

    def decode(self, codes: bytes) -> DrawnText:
        return DrawnText(
            self.name,
            "".join(self.to_unicode.get(code, "\ufffd") for code in codes),
            tuple(self.code_to_glyph.get(code, NOTDEF) for code in codes),
        )


def _truetype_cmap(font: bytes) -> dict[int, int]:
    """Code -> glyph index from an embedded subset font's cmap (one format 6 subtable, as reportlab
    writes it)."""
    (tables,) = struct.unpack_from(">H", font, 4)
    directory = {
        font[12 + 16 * i : 16 + 16 * i]: struct.unpack_from(">II", font, 20 + 16 * i) for i in range(tables)
    }
    cmap, _ = directory[b"cmap"]
    _, subtables = struct.unpack_from(">HH", font, cmap)
    assert subtables == 1, f"{subtables} cmap subtables"
    _, _, offset = struct.unpack_from(">HHI", font, cmap + 4)
    form, _, _, first, count = struct.unpack_from(">HHHHH", font, cmap + offset)
    assert form == 6, f"cmap format {form}"
    glyphs = struct.unpack_from(f">{count}H", font, cmap + offset + 10)
    return {first + i: glyph for i, glyph in enumerate(glyphs)}
