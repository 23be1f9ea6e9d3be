"""Batched reads: the same rows as a whole read, in order, a batch at a time, under the same tenant scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from export_platform.datasets.sale_items import items_in_window
from export_platform.source import schema
from export_platform.source.reads import _compile_inline, read_batches, read_frame
from export_platform.source.url import SourceUrl
from export_platform_tests.support.seed_plan import OTHER_TENANT, TENANT
from export_platform_tests.support.source_reads import reads_outside_a_snapshot

OCTOBER = {
    "tenant": TENANT,
    "start": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    "end": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
}


def test_batches_hold_the_same_rows_in_the_same_order_as_one_read(source_url: str) -> None:
    url = SourceUrl(source_url)
    whole = read_frame(url, items_in_window(), OCTOBER, tenant=TENANT)
    batches = list(read_batches(url, items_in_window(), OCTOBER, tenant=TENANT, batch_rows=50))
    assert whole.height > 200 and len(batches) > 2  # several batches, not one in disguise
    assert_frame_equal(pl.concat(batches), whole)
    assert whole.schema["unit_price"] == pl.Decimal(18, 2)


def test_a_read_with_no_rows_still_yields_the_typed_columns(source_url: str) -> None:
    url = SourceUrl(source_url)
    empty = {
        **OCTOBER,
        "start": dt.datetime(1990, 1, 1, tzinfo=dt.UTC),
        "end": dt.datetime(1990, 2, 1, tzinfo=dt.UTC),
    }
    batches = list(read_batches(url, items_in_window(), empty, tenant=TENANT))
    assert len(batches) == 1 and batches[0].height == 0
    assert batches[0].schema == read_frame(url, items_in_window(), empty, tenant=TENANT).schema


def test_an_unfiltered_batched_read_sees_only_its_tenant(postgresql_source: str) -> None:
    """Batched reads write their parameters into the SQL; row-level security still scopes them."""
    for tenant in (TENANT, OTHER_TENANT):
        rows = pl.concat(
            reads_outside_a_snapshot(postgresql_source, tenant).read_batches(sa.select(schema.sale_items))
        )
        assert rows.height > 0 and set(rows["tenant_id"]) == {tenant}


@pytest.mark.parametrize("value", ["acme' OR '1'='1", "a;b", 'a"b', "a\\b", "a b", "a\nb", b"acme", ["acme"]])
def test_only_values_that_cannot_carry_sql_are_written_in_as_literals(value) -> None:
    url = SourceUrl("postgresql://postgres@127.0.0.1:5432/unused")
    with pytest.raises(ValueError, match="cannot be written into SQL"):
        _compile_inline(url, items_in_window(), {**OCTOBER, "tenant": value})
    sql = _compile_inline(url, items_in_window(), OCTOBER)
    assert "'acme'" in sql and "'2026-10-01 00:00:00+00:00'" in sql


def test_sqlite_columns_that_start_with_nulls_keep_their_type(tmp_path) -> None:
    """SQLite's driver types each column by its first batch; a text column that is null throughout
    that batch must still read as text when later batches hold text, and an empty read keeps types."""
    path = tmp_path / "notes.db"
    url = SourceUrl(f"sqlite:///{path}")
    notes = sa.Table(
        "notes",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64)),
        sa.Column("note", sa.String(100)),
    )
    engine = sa.create_engine(url.sqlalchemy_url)
    notes.create(engine)
    with engine.begin() as conn:
        conn.execute(
            notes.insert(),
            [{"id": i, "tenant_id": TENANT, "note": None if i < 5 else f"n{i}"} for i in range(9)],
        )
    engine.dispose()
    stmt = sa.select(notes).where(notes.c.tenant_id == sa.bindparam("tenant")).order_by(notes.c.id)
    batches = list(read_batches(url, stmt, {"tenant": TENANT}, tenant=TENANT, batch_rows=2))
    whole = read_frame(url, stmt, {"tenant": TENANT}, tenant=TENANT)
    assert whole["note"].to_list() == [None] * 5 + ["n5", "n6", "n7", "n8"]
    assert whole["id"].to_list() == list(range(9))
    assert_frame_equal(pl.concat(batches), whole)
    none = read_frame(url, stmt, {"tenant": "nobody"}, tenant="nobody")
    assert none.height == 0 and none.schema == whole.schema


def test_postgresql_money_arrives_as_exact_cents_whole_or_batched(postgresql_source: str) -> None:
    """On PostgreSQL money crosses the wire as whole cents (a BIGINT): the decimals must come back
    exactly, extremes and signs included, with more than two decimals rounded half away from zero as
    NUMERIC(18, 2) stores them."""
    given = ["10.005", "-10.005", "9999999999999999.99", "-9999999999999999.99", "0.00", "-0.01", None]
    expected = [Decimal("10.01"), Decimal("-10.01"), *[None if v is None else Decimal(v) for v in given[2:]]]
    values = sa.values(sa.column("amount", sa.Numeric(38, 3)), name="amounts").data(
        [(None if v is None else Decimal(v),) for v in given]
    )
    stmt = sa.select(values.c.amount.label("amount"))
    url = SourceUrl(postgresql_source)
    whole = read_frame(url, stmt, {}, tenant=TENANT)
    batched = pl.concat(read_batches(url, stmt, {}, tenant=TENANT))
    for frame in (whole, batched):
        assert frame.schema["amount"] == pl.Decimal(18, 2)
        assert frame["amount"].to_list() == expected
