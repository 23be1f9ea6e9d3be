"""Money as whole cents inside a SQL statement, exactly, on both sources.

On PostgreSQL money is NUMERIC(18,2), so ``amount * 100`` is already a whole number. On SQLite it is
decimal text, and SQLite's arithmetic on text goes through a double: ``round('1.005' * 100)`` is 100,
while the reader (``column_types.conform``) rounds the same text half away from zero to 1.01, as
PostgreSQL's NUMERIC(18,2) stores it. So on SQLite the cents are read off the digits of the text:
whole part x 100, plus the first two decimals, plus one when the third is 5 or more, with the sign.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Cents(ColumnElement):
    """``amount`` (a money column) as a BIGINT number of cents, rounded half away from zero."""

    inherit_cache = True
    type = sa.BigInteger()
    # A class attribute that SQLAlchemy's typing declares per instance, so it cannot be a ClassVar.
    _traverse_internals = [("amount", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, amount: ColumnElement) -> None:
        self.amount = amount


@compiles(Cents)
def _cents_exact_numeric(element: Cents, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(sa.cast(sa.func.round(element.amount * 100), sa.BigInteger), **kw)


@compiles(Cents, "sqlite")
def _cents_from_decimal_text(element: Cents, compiler: SQLCompiler, **kw: Any) -> str:
    text = sa.func.trim(sa.cast(element.amount, sa.Text))
    unsigned = sa.func.ltrim(text, "+-")
    point = sa.func.instr(unsigned, ".")
    whole = sa.case((point > 0, sa.func.substr(unsigned, 1, point - 1)), else_=unsigned)
    decimals = sa.case((point > 0, sa.func.substr(unsigned, point + 1)), else_="") + "000"
    magnitude = (
        sa.cast(whole, sa.BigInteger) * 100
        + sa.cast(sa.func.substr(decimals, 1, 2), sa.BigInteger)
        + sa.case((sa.cast(sa.func.substr(decimals, 3, 1), sa.Integer) >= 5, 1), else_=0)
    )
    signed = sa.case((text.startswith("-"), -magnitude), else_=magnitude)
    return compiler.process(signed, **kw)
