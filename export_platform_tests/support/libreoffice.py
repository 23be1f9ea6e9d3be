"""LibreOffice and poppler as a reader's tools: ``soffice --headless --convert-to pdf`` turns a
workbook into the PDF a spreadsheet program prints, and ``pdftoppm`` draws a PDF page as a PNG.
Each conversion gets a profile folder of its own, so conversions never share (or wait on) the
user's LibreOffice profile, and sees the fonts the PDF writer embeds (Chinese, Korean), so every
product name is drawn, not boxes. scripts/ensure-libreoffice.sh and scripts/ensure-poppler.sh
install the two."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from export_platform.render.pdf_text import FONT_DIR

SOFFICE_SECONDS = 120  # a cold start of Calc on a loaded machine; the conversion itself takes seconds


def soffice() -> str:
    found = shutil.which("soffice")
    assert found, "soffice missing: scripts/ensure-libreoffice.sh installs libreoffice-calc-nogui"
    return found


def workbook_pdf(workbook: Path, folder: Path, *, one_page_per_sheet: bool = False) -> Path:
    """``workbook`` converted to PDF in ``folder`` (same stem), as LibreOffice Calc prints it.
    ``one_page_per_sheet`` prints each sheet whole on one page (the filter's SinglePageSheets), the
    way a sheet looks on screen. A failed conversion raises with soffice's output."""
    folder.mkdir(parents=True, exist_ok=True)
    target = "pdf"
    if one_page_per_sheet:
        options = {"SinglePageSheets": {"type": "boolean", "value": "true"}}
        target = f"pdf:calc_pdf_Export:{json.dumps(options)}"
    fonts = folder / "fonts.conf"  # the system's fonts and the PDF writer's
    fonts.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{FONT_DIR}</dir></fontconfig>'
    )
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={(folder / 'libreoffice-profile').resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=SOFFICE_SECONDS,
        env={**os.environ, "FONTCONFIG_FILE": str(fonts)},
    )
    pdf = folder / f"{workbook.stem}.pdf"
    assert done.returncode == 0 and pdf.is_file(), (
        f"soffice failed ({done.returncode}): {done.stderr}{done.stdout}"
    )
    return pdf


def pdf_text(pdf: Path) -> list[str]:
    """Each page's text as poppler's pdftotext reads it (pages split at form feeds)."""
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout.split("\f")[:-1]


def page_png(pdf: Path, page: int, target: Path, dpi: int = 100) -> Path:
    """Page ``page`` (from 1) of ``pdf`` drawn by poppler as the PNG ``target``."""
    assert shutil.which("pdftoppm"), "pdftoppm missing: scripts/ensure-poppler.sh installs poppler-utils"
    stem = target.with_suffix("")
    subprocess.run(
        [
            "pdftoppm",
            "-f",
            str(page),
            "-l",
            str(page),
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            str(pdf),
            str(stem),
        ],
        check=True,
        capture_output=True,
    )
    return target
