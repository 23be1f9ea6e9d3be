"""Money as cents inside SQL agrees with the reader's rounding (half away from zero) on both sources,
where SQLite's own arithmetic on decimal text would go through a double (round('1.005' * 100) = 100)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from export_platform.source.cents import Cents
from export_platform.source.url import SourceUrl, create_engine

# (text as stored, cents as PostgreSQL's NUMERIC(18,2) would store it)
CASES = [
    ("1.005", 101),
    ("-1.005", -101),
    ("0.995", 100),
    ("1.0049", 100),
    ("10.00", 1000),
    ("-10.005", -1001),
    ("7", 700),
    ("-0.5", -50),
    ("1234567.005", 123456701),
]


@pytest.mark.parametrize(("text", "cents"), CASES)
def test_cents_of_decimal_text_on_sqlite(text: str, cents: int) -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(sa.select(Cents(sa.literal(text, sa.String)))).scalar() == cents
    with engine.connect() as conn:  # what SQLite's arithmetic gives instead, for the record
        float_based = conn.execute(sa.select(sa.func.round(sa.literal(text, sa.String) * 100))).scalar()
    if text in ("1.005", "-1.005"):
        assert float_based != cents


@pytest.mark.parametrize(("text", "cents"), CASES)
def test_cents_of_numeric_on_postgresql(postgresql_source: str, text: str, cents: int) -> None:
    engine = create_engine(SourceUrl(postgresql_source))
    with engine.connect() as conn:
        stored = sa.cast(sa.cast(sa.literal(text), sa.Numeric(38, 10)), sa.Numeric(18, 2))
        assert conn.execute(sa.select(Cents(stored))).scalar() == cents
