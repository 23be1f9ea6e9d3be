"""The reportlab internals the PDF writer relies on are checked before use, with a message that says
which one a reportlab upgrade took away."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
import reportlab
from reportlab.pdfbase.pdfdoc import PDFDocument

from export_platform.render.reportlab_internals import (
    ReportlabInternalsChanged,
    StreamingCanvas,
    check_reportlab_internals,
    require_attributes,
)


def test_the_installed_reportlab_has_every_internal_used() -> None:
    """Fails after a reportlab upgrade that removes one, with the message below."""
    check_reportlab_internals.cache_clear()
    check_reportlab_internals()


def test_a_missing_internal_is_named_with_the_reportlab_version() -> None:
    stand_in = SimpleNamespace(idToObject={}, numberToId={})
    with pytest.raises(ReportlabInternalsChanged) as raised:
        require_attributes(stand_in, "PDFDocument", ("idToObject", "idToOffset", "numberToId"))
    message = str(raised.value)
    assert f"reportlab {reportlab.Version} has no PDFDocument.idToOffset" in message
    assert "export_platform.render.reportlab_internals" in message


def test_a_streaming_canvas_is_refused_before_drawing_when_an_internal_is_missing(monkeypatch) -> None:
    monkeypatch.delattr(PDFDocument, "ID")
    check_reportlab_internals.cache_clear()
    target = io.BytesIO()
    expected = re.escape(f"reportlab {reportlab.Version} has no PDFDocument.ID,")
    with pytest.raises(ReportlabInternalsChanged, match=expected):
        StreamingCanvas(target, page_count_form="PageCount", page_count_box=(0, 0, 80, 9))
    assert target.getvalue() == b""
