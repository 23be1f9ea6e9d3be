"""Bills: the month's journal entries as debit/credit rows, in the seed's CSV schema.

A journal line is signed (debit > 0). Each entry becomes rows that name a debit and a credit account:
an entry with a single debit line pairs it with each credit line (and symmetrically for a single
credit); an entry with several of both lists each line on its own side, the other side left empty.
Either way an entry balances when its rows' amounts on the debit side equal those on the credit side.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.spec import Column, DatasetSpec, TenantReader, money, tenant_of
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema as s


def lines_in_window() -> sa.Select:
    e, line, a = s.journal_entries, s.journal_lines, s.accounts
    return (
        sa.select(
            e.c.id.label("entry_id"),
            e.c.date,
            e.c.description,
            e.c.reference_id,
            line.c.id.label("line_id"),
            a.c.name.label("account"),
            line.c.amount,
            line.c.currency,
            line.c.tenant_id,
        )
        .join(e, sa.and_(e.c.id == line.c.entry_id, tenant_of(e)))
        .join(a, sa.and_(a.c.id == line.c.account_id, tenant_of(a)))
        .where(
            tenant_of(line),
            e.c.date >= sa.bindparam("first_day", type_=sa.Date),
            e.c.date < sa.bindparam("next_first_day", type_=sa.Date),
        )
        .order_by(e.c.date, e.c.id, line.c.id)
    )


def pair_journal_lines(lines: pl.DataFrame) -> pl.DataFrame:
    debit = pl.col("amount") > 0
    lines = lines.with_columns(
        debit.sum().over("entry_id").alias("debits"), (~debit).sum().over("entry_id").alias("credits")
    )
    entry_columns = ["entry_id", "date", "description", "reference_id", "currency", "tenant_id"]
    single_debit = lines.filter(pl.col("debits") == 1)
    one_to_many = (
        single_debit.filter(~debit)
        .join(
            single_debit.filter(debit).select("entry_id", pl.col("account").alias("debit_account")),
            on="entry_id",
        )
        .select(
            *entry_columns,
            "line_id",
            "debit_account",
            pl.col("account").alias("credit_account"),
            pl.col("amount").abs(),
        )
    )
    single_credit = lines.filter((pl.col("credits") == 1) & (pl.col("debits") != 1))
    many_to_one = (
        single_credit.filter(debit)
        .join(
            single_credit.filter(~debit).select("entry_id", pl.col("account").alias("credit_account")),
            on="entry_id",
        )
        .select(
            *entry_columns, "line_id", pl.col("account").alias("debit_account"), "credit_account", "amount"
        )
    )
    many_to_many = lines.filter((pl.col("credits") != 1) & (pl.col("debits") != 1)).select(
        *entry_columns,
        "line_id",
        pl.when(debit).then(pl.col("account")).alias("debit_account"),
        pl.when(~debit).then(pl.col("account")).alias("credit_account"),
        pl.col("amount").abs(),
    )
    return pl.concat([one_to_many, many_to_one, many_to_many]).sort("date", "entry_id", "line_id")


def unbalanced_entries(bills: pl.DataFrame) -> pl.DataFrame:
    """Entries whose debit-side and credit-side amounts differ, with both sums."""
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    return (
        bills.group_by("entry_id")
        .agg(
            pl.col("amount").filter(pl.col("debit_account").is_not_null()).sum().alias("debits"),
            pl.col("amount").filter(pl.col("credit_account").is_not_null()).sum().alias("credits"),
        )
        .with_columns(pl.col("debits", "credits").fill_null(zero))
        .filter(pl.col("debits") != pl.col("credits"))
        .sort("entry_id")
    )


def build_bills(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return pair_journal_lines(
        read(lines_in_window(), first_day=window.first_day, next_first_day=window.next_first_day)
    )


BILLS = DatasetSpec(
    name="bills",
    title="Bills (Journal Entries)",
    description=(
        "The month's journal entries as debit/credit rows, as the ledger CSV has always shown them: date, "
        "description, debit account, credit account, amount, currency and reference. Compound entries "
        "pair their single debit (or credit) with each line on the other side."
    ),
    columns=(
        Column("date", pl.Date, "Date"),
        Column("description", pl.String, "Description"),
        Column(
            "debit_account",
            pl.String,
            "Debit Account",
            "The account of the entry's debit line (its only one, when the entry pairs lines); empty on a "
            "credit row of an entry with several lines on both sides",
        ),
        Column(
            "credit_account",
            pl.String,
            "Credit Account",
            "The account of the entry's credit line, paired the same way as the debit account",
        ),
        money(
            "amount",
            "Amount",
            "The row's line amount, unsigned; a row's side is given by its account columns",
        ),
        Column("currency", pl.String, "Currency"),
        Column("reference_id", pl.String, "Reference ID"),
        Column("entry_id", pl.Int64, "Entry ID"),
        Column("line_id", pl.Int64, "Line ID"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    csv_columns=(
        "date",
        "description",
        "debit_account",
        "credit_account",
        "amount",
        "currency",
        "reference_id",
    ),  # the ledger CSV schema
    key=("line_id",),
    build=build_bills,
    kind="period",
)
