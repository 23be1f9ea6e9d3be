"""What the PDF writer takes from reportlab beyond its public API, in one place.

reportlab's canvas keeps every finished page (its drawing commands and page objects) until ``save()``,
then builds the whole file as bytes before writing it, so memory grows with the report. It has no
public way to write page by page. ``StreamingCanvas`` does it by reaching into the canvas's document:
its object registry (``idToObject``, ``numberToId``), the file offsets the cross-reference table is
built from (``idToOffset``) and its page list, and by replaying the end of
``PDFDocument.GetPDFData`` and ``format`` itself. ``text_font`` reads the font a text object draws
with, which reportlab keeps private. No other module touches reportlab's internals.

Any reportlab release may change them. So the first ``StreamingCanvas`` checks that each one it uses is
still there (``check_reportlab_internals``) and raises ``ReportlabInternalsChanged``, naming the
installed reportlab version and the missing attribute, instead of an AttributeError halfway through a
file. A release that keeps the names but changes what they do is caught by the tests that read the
PDFs back.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable
from typing import BinaryIO

import reportlab
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFCrossReferenceTable,
    PDFDictionary,
    PDFFile,
    PDFFormXObject,
    PDFIndirectObject,
    PDFName,
    PDFObject,
    PDFObjectReference,
    PDFStream,
    PDFTrailer,
    xObjectName,
)
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

WRITTEN_FOR_REPORTLAB = "5.1.0"


class ReportlabInternalsChanged(RuntimeError):
    """The installed reportlab lacks an internal that PDFs are written with."""


def require_attributes(obj: object, what: str, names: Iterable[str]) -> None:
    """Raise ``ReportlabInternalsChanged`` naming the first of ``names`` that ``obj``, a reportlab
    ``what``, does not have."""
    for name in names:
        if not hasattr(obj, name):
            raise ReportlabInternalsChanged(
                f"reportlab {reportlab.Version} has no {what}.{name}, which {__name__} relies on to write "
                f"PDFs (it was written against reportlab {WRITTEN_FOR_REPORTLAB}): adapt that module to "
                f"this reportlab, or install reportlab {WRITTEN_FOR_REPORTLAB}"
            )


@functools.cache
def check_reportlab_internals() -> None:
    """Check, once per process, that reportlab's objects still have every internal used here."""
    canvas = Canvas(None)
    require_attributes(canvas, "Canvas", ("_doc", "_code"))
    doc = canvas._doc
    require_attributes(
        doc,
        "PDFDocument",
        (
            "_pdfVersion",
            "idToObject",
            "idToOffset",
            "numberToId",
            "Pages",
            "Catalog",
            "Outlines",
            "info",
            "invariant",
            "signature",
            "delayedFonts",
            "Reference",
            "ID",
        ),
    )
    require_attributes(doc.Pages, "PDFPages", ("pages",))
    require_attributes(doc.Catalog, "PDFCatalog", ("Outlines",))
    require_attributes(doc.Outlines, "PDFOutlines", ("prepare", "ready"))
    require_attributes(doc.info, "PDFInfo", ("digest",))
    require_attributes(PDFFile(doc._pdfVersion), "PDFFile", ("strings", "write", "add"))
    require_attributes(PDFFormXObject(0, 0, 1, 1), "PDFFormXObject", ("compression", "setStreamList"))
    require_attributes(canvas.beginText(), "PDFTextObject", ("_fontname", "_fontsize"))
    canvas.showPage()
    require_attributes(doc.Pages.pages[-1], "PDFPage", ("stream", "Contents", "__InternalName__"))


def text_font(lines: PDFTextObject) -> tuple[str, float]:
    """The font name and size ``lines`` draws with now."""
    return lines._fontname, lines._fontsize


_WRITTEN = object()  # stands in for an object already written to the file


class _FileOutput(PDFFile):
    """reportlab's output collector, writing to a file instead of keeping the bytes in a list."""

    def __init__(self, target: BinaryIO, pdf_version: tuple[int, int]) -> None:
        super().__init__(pdf_version)  # collects the header line into self.strings
        target.writelines(self.strings)
        self.strings: list[bytes] = []
        self.write = target.write


class StreamingCanvas(Canvas):
    """A canvas that writes each page to the file as soon as the page is finished.

    A finished page (its drawing commands as text, about 21 KB a page of a report) is Flate-compressed
    (the encoding and ``/Filter`` reportlab itself writes), written with its page dictionary straight
    to the file, and dropped; what stays is its cross-reference entry. Objects shared by all pages
    (fonts, the page tree, the page-count form) are written by ``save_streamed`` at the end. PDF allows
    objects in any order in the file; the cross-reference table says where each one is.

    The page count, unknown until the end, is the form XObject ``page_count_form`` (of bounding box
    ``page_count_box``) that pages draw with ``doForm`` and ``set_page_count`` fills in last.
    """

    def __init__(
        self,
        target: BinaryIO,
        *,
        page_count_form: str,
        page_count_box: tuple[float, float, float, float],
        **options,
    ) -> None:
        check_reportlab_internals()
        super().__init__(None, **options)
        self.output = _FileOutput(target, self._doc._pdfVersion)
        self.page_count = PDFFormXObject(*page_count_box)
        self.page_count.compression = 1
        # Registered now so finished pages can refer to it; its content is set when the count is known.
        self._doc.Reference(self.page_count, xObjectName(page_count_form))

    def showPage(self) -> None:
        super().showPage()
        doc = self._doc
        page = doc.Pages.pages[-1]
        raw = page.stream.encode("utf8") if isinstance(page.stream, str) else page.stream
        page.Contents = PDFStream(
            PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}), content=zlib.compress(raw)
        )
        page.stream = None
        name = page.__InternalName__
        self._write_now(name, page)  # registers its content stream, written next
        self._write_now(page.Contents.__InternalName__, page.Contents)
        doc.Pages.pages[-1] = PDFObjectReference(name)

    def _write_now(self, name: str, obj: PDFObject) -> None:
        doc = self._doc
        doc.idToOffset[name] = self.output.add(PDFIndirectObject(name, obj).format(doc))
        doc.idToObject[name] = _WRITTEN

    def set_page_count(self, text: PDFTextObject) -> None:
        self.page_count.setStreamList([text.getCode()])

    def save_streamed(self) -> None:
        """Write what is left: the shared objects, the cross-reference table and the trailer.

        The steps of reportlab's ``PDFDocument.GetPDFData`` and ``format`` (no encryption, no
        signatures), skipping the objects already written. ``format`` also sets the document's
        ``__accum__`` to its output while formatting; nothing in reportlab reads it, so it is left out.
        """
        if self._code:
            self.showPage()
        doc, output = self._doc, self.output
        for font in doc.delayedFonts:
            font.addObjects(doc)
        doc.info.invariant = doc.invariant
        doc.info.digest(doc.signature)
        doc.Reference(doc.Catalog)
        doc.Reference(doc.info)
        doc.Outlines.prepare(doc, self)
        if doc.Outlines.ready < 0:
            doc.Catalog.Outlines = None
        ids, number = [], 1
        while number in doc.numberToId:  # formatting may register further objects as it goes
            name = doc.numberToId[number]
            if doc.idToObject[name] is not _WRITTEN:
                self._write_now(name, doc.idToObject[name])
            ids.append(name)
            number += 1
        xref = PDFCrossReferenceTable()
        xref.addsection(0, ids)
        start = output.add(xref.format(doc))
        trailer = PDFTrailer(
            startxref=start,
            Size=len(doc.numberToId) + 1,
            Root=doc.Reference(doc.Catalog),
            Info=doc.Reference(doc.info),
            Encrypt=None,
            ID=doc.ID(),
        )
        output.add(trailer.format(doc))
