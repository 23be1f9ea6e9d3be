"""A PDF report stops at its page budget: the budget's last page says how many rows of each table were
left out and names the files that hold them all, every page still counts every page, and the file's
own figures (read back by the artifact check) agree with that note."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from export_platform.exports.formats import count_pdf_rows, read_pdf_back
from export_platform.render import pdf
from export_platform.render.pdf import write_pdf
from export_platform.render.pdf_note import NOTE_TITLE, StatedFigures, stated_figures
from export_platform.render.report import CompleteFiles, Report
from export_platform_tests.render.test_renderers import report, sample_frame, table
from export_platform_tests.support.pdf_reading import drawn_texts, page_footer

FILES = CompleteFiles(csv="sales_acme_2026-10.csv", workbook="sales_acme_2026-10.xlsx")


def budgeted(frame: pl.LazyFrame, files: CompleteFiles = FILES, more: pl.LazyFrame | None = None) -> Report:
    base = report(frame)
    tables = base.tables if more is None else (*base.tables, table(more, "Line Items"))
    return dataclasses.replace(base, tables=tables, complete_files=files)


def pages_of(path: Path) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(path)
    return reader, [page.extract_text() for page in reader.pages]


def assert_every_page_counts_every_page(reader: PdfReader) -> None:
    total = len(reader.pages)
    assert [page_footer(page) for page in reader.pages] == [(n, total) for n in range(1, total + 1)]


def test_the_budgets_last_page_states_the_rows_left_out_and_names_the_files(tmp_path: Path) -> None:
    path = tmp_path / "budget.pdf"
    written = write_pdf(budgeted(sample_frame(1_000)), path, page_budget=2)
    reader, texts = pages_of(path)
    assert written.pages == len(reader.pages) == 2
    assert_every_page_counts_every_page(reader)
    shown = written.rows["Items"]
    assert 0 < shown < 1_000 and written.row_counts == {"Items": 1_000}
    assert written.rows_left_out == 1_000 - shown
    assert NOTE_TITLE not in texts[0]
    last = texts[-1]
    assert f"{1_000 - shown:,} rows were left out of this report (page budget 2 pages)." in last
    assert f"Items: {shown:,} of 1,000 rows shown, {1_000 - shown:,} left out." in last
    assert (
        "sales_acme_2026-10.xlsx (every table)" in last and "sales_acme_2026-10.csv (the Items table)" in last
    )
    assert stated_figures(last, "Items") == StatedFigures(1_000 - shown, shown, 1_000)
    # The rows drawn are the first ones up to the cut (Item IDs are the only numbers without a comma).
    ids = {t.text for page in reader.pages for t in drawn_texts(page) if t.text.isdigit()}
    assert ids == {str(item) for item in range(1, shown + 1)}
    # The file's own figures: the dataset's rows stay the record count.
    back = read_pdf_back(path, "Items")
    assert (back.record_count, back.rows_in_pdf, back.rows_left_out) == (1_000, shown, 1_000 - shown)
    assert back.consistent() and count_pdf_rows(path) == 1_000


def test_a_budget_spent_in_the_first_table_leaves_the_next_one_out_whole(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    written = write_pdf(budgeted(sample_frame(300), more=sample_frame(500)), path, page_budget=3)
    reader, texts = pages_of(path)
    assert len(reader.pages) == 3
    assert_every_page_counts_every_page(reader)
    shown = written.rows["Items"]
    assert shown < 300 and written.rows["Line Items"] == 0
    assert written.rows_left_out == 300 - shown + 500
    assert "Line Items: 0 of 500 rows shown, 500 left out." in texts[-1]
    assert read_pdf_back(path, "Items").consistent()


def test_a_second_table_cut_short_is_stated_while_the_first_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "second.pdf"
    written = write_pdf(budgeted(sample_frame(20), more=sample_frame(2_000)), path, page_budget=4)
    reader, texts = pages_of(path)
    assert len(reader.pages) == 4
    assert written.rows["Items"] == 20 and 0 < written.rows["Line Items"] < 2_000
    assert "Items: 20 of 20 rows shown, 0 left out." in texts[-1]
    back = read_pdf_back(path, "Items")
    assert back.rows_in_pdf == back.record_count == 20 and back.rows_left_out == written.rows_left_out > 0
    assert back.stated is not None and back.consistent()


@pytest.mark.parametrize("budget", [0, 2_000])
def test_no_budget_or_a_large_one_draws_every_row_without_a_note(tmp_path: Path, budget: int) -> None:
    path = tmp_path / "all.pdf"
    written = write_pdf(budgeted(sample_frame(400)), path, page_budget=budget)
    reader, texts = pages_of(path)
    assert written.rows == {"Items": 400} and written.rows_left_out == 0
    assert len(reader.pages) == written.pages > 3
    assert_every_page_counts_every_page(reader)
    assert not any(NOTE_TITLE in text for text in texts)
    back = read_pdf_back(path, "Items")
    assert (back.rows_in_pdf, back.rows_left_out, back.stated) == (400, 0, None) and back.consistent()


def test_a_one_page_budget_holds_the_summary_and_the_note(tmp_path: Path) -> None:
    path = tmp_path / "one.pdf"
    written = write_pdf(budgeted(sample_frame(400)), path, page_budget=1)
    reader, texts = pages_of(path)
    assert len(reader.pages) == 1 and page_footer(reader.pages[0]) == (1, 1)
    assert "Rows:" in texts[0] and NOTE_TITLE in texts[0]
    assert stated_figures(texts[0], "Items") == StatedFigures(
        400 - written.rows["Items"], written.rows["Items"], 400
    )


@pytest.mark.parametrize(
    ("files", "wording"),
    [
        (
            CompleteFiles(),
            "For every row, ask for this export as csv (the Items table) or xlsx (every table).",
        ),
        (CompleteFiles(csv="a.csv"), "Every row of the Items table is in a.csv"),
        (CompleteFiles(workbook="a.xlsx"), "Every row is in a.xlsx (every table)"),
    ],
)
def test_the_note_says_where_every_row_is_or_what_to_ask_for(
    tmp_path: Path, files: CompleteFiles, wording: str
) -> None:
    path = tmp_path / "files.pdf"
    write_pdf(budgeted(sample_frame(400), files), path, page_budget=2)
    _, texts = pages_of(path)
    assert wording in " ".join(texts[-1].split())


def test_a_row_cap_is_stated_in_the_note_too(tmp_path: Path) -> None:
    path = tmp_path / "capped.pdf"
    written = write_pdf(budgeted(sample_frame(400)), path, row_cap=150, page_budget=0)
    _, texts = pages_of(path)
    assert written.rows == {"Items": 150} and written.row_counts == {"Items": 400}
    assert "250 rows were left out of this report (row cap 150 rows per table)." in texts[-1]
    back = read_pdf_back(path, "Items")
    assert (back.record_count, back.rows_in_pdf) == (400, 150) and back.consistent()


def test_a_note_that_states_other_figures_than_the_file_is_inconsistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_more(name: str, shown: int, total: int) -> str:
        return f"{name}: {shown + 1:,} of {total:,} rows shown, {total - shown - 1:,} left out."

    monkeypatch.setattr(pdf, "table_line", one_more)
    path = tmp_path / "lying.pdf"
    written = write_pdf(budgeted(sample_frame(1_000)), path, page_budget=2)
    back = read_pdf_back(path, "Items")
    assert back.rows_in_pdf == written.rows["Items"]
    assert back.stated is not None and back.stated.rows_in_pdf == written.rows["Items"] + 1
    assert not back.consistent()


def test_a_negative_budget_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="page_budget"):
        write_pdf(budgeted(sample_frame(3)), tmp_path / "x.pdf", page_budget=-1)
