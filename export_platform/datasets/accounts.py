"""Accounts: the chart of accounts with each account's balance at the month's end, rolled up the tree.

Lines are signed debit > 0. A balance is shown in the account's normal sign: debits less credits for
assets and expenses, credits less debits for liabilities, equity and income. A parent's balance
includes every descendant's, so the root accounts satisfy
``assets = liabilities + equity + (income - expenses)``.

The dataset holds the whole chart. Its exports follow the seed's ``include_inactive = false``:
``exported_accounts`` leaves inactive accounts out, but only after the roll-up, so an inactive account
that still carries a balance counts in its parent's and its root's balances. The identity is taken
over the exported root accounts, so it holds on what is exported: every balance is in its root, and a
root is exported whenever it carries a balance (an inactive root with a balance stays, marked
inactive, since leaving it out would take its whole type out of the identity). The trial balance
lists the chart's leaf accounts that are active or carry a balance, so its debits equal its credits
however many accounts the exported table leaves out.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from export_platform.datasets.spec import Column, DatasetSpec, TenantReader, money, tenant_of
from export_platform.datasets.window import ReportWindow
from export_platform.source import schema
from export_platform.source import schema as s
from export_platform.source.column_types import MONEY

DEBIT_NORMAL_TYPES = ("assets", "expenses")


def chart_of_accounts() -> sa.Select:
    a = s.accounts
    parent = a.alias("parent")
    return (
        sa.select(
            a.c.id.label("account_id"),
            a.c.name.label("account_name"),
            a.c.type.label("account_type"),
            parent.c.name.label("parent_account"),
            a.c.currency,
            a.c.is_active,
            a.c.depth,
            a.c.path,
            a.c.tenant_id,
        )
        .outerjoin(parent, sa.and_(parent.c.id == a.c.parent_id, tenant_of(parent)))
        .where(tenant_of(a))
        .order_by(a.c.path)
    )


def lines_up_to() -> sa.Select:
    line, e = s.journal_lines, s.journal_entries
    return (
        sa.select(line.c.account_id, line.c.amount)
        .join(e, sa.and_(e.c.id == line.c.entry_id, tenant_of(e)))
        .where(tenant_of(line), e.c.date < sa.bindparam("next_first_day", type_=sa.Date))
    )


def rolled_up_balances(accounts: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """Each account's balance including its descendants, in its normal sign."""
    zero = pl.lit(0).cast(MONEY)
    own = lines.group_by("account_id").agg(pl.col("amount").sum().alias("own"))
    # Every account's path lists its ancestors and itself, so exploding it credits each ancestor.
    rolled = (
        accounts.select("account_id", "path")
        .join(own, on="account_id")
        .with_columns(pl.col("path").str.split("/").alias("ancestor"))
        .explode("ancestor")
        .group_by(pl.col("ancestor").cast(pl.Int64).alias("account_id"))
        .agg(pl.col("own").sum().alias("debit_balance"))
    )
    return (
        accounts.join(rolled, on="account_id", how="left")
        .with_columns(pl.col("debit_balance").fill_null(zero))
        .with_columns(
            pl.when(pl.col("account_type").is_in(DEBIT_NORMAL_TYPES))
            .then(pl.col("debit_balance"))
            .otherwise(-pl.col("debit_balance"))
            .alias("balance")
        )
        .drop("debit_balance")
    )


def exported_accounts(accounts: pl.LazyFrame) -> pl.LazyFrame:
    """The rows an accounts export shows: active accounts, and root accounts that carry a balance."""
    return accounts.filter(pl.col("is_active") | ((pl.col("depth") == 0) & (pl.col("balance") != 0)))


def accounting_equation(accounts: pl.DataFrame) -> dict[str, str | bool]:
    """Root balances by type and whether assets = liabilities + equity + (income - expenses)."""
    roots = accounts.filter(pl.col("depth") == 0).group_by("account_type").agg(pl.col("balance").sum())
    totals = dict.fromkeys(schema.ACCOUNT_TYPES, 0)
    totals.update(dict(roots.iter_rows()))
    right = totals["liabilities"] + totals["equity"] + totals["income"] - totals["expenses"]
    return {**{k: str(v) for k, v in totals.items()}, "balanced": totals["assets"] == right}


def build_accounts(read: TenantReader, window: ReportWindow) -> pl.DataFrame:
    return rolled_up_balances(
        read(chart_of_accounts()), read(lines_up_to(), next_first_day=window.next_first_day)
    )


ACCOUNTS = DatasetSpec(
    name="accounts",
    title="Chart of Accounts",
    description=(
        "The chart of accounts with each account's balance at the end of the month, in its normal sign "
        "(debit for assets and expenses, credit for liabilities, equity and income) and rolled up the "
        "hierarchy, so a parent shows the total of its sub-accounts (inactive ones included). Account names "
        "are full paths such as Assets:Cash:Till. Exports list active accounts only, as the ledger's own "
        "export did; the dataset keeps the whole chart."
    ),
    columns=(
        Column("account_name", pl.String, "Account Name"),
        Column("account_type", pl.String, "Account Type"),
        Column("parent_account", pl.String, "Parent Account"),
        Column("currency", pl.String, "Currency"),
        money(
            "balance",
            "Balance",
            "At the month's end, in the account's normal sign, including every sub-account's balance",
        ),
        Column("is_active", pl.Boolean, "Is Active"),
        Column("depth", pl.Int64, "Depth"),
        Column("account_id", pl.Int64, "Account ID"),
        Column("tenant_id", pl.String, "Tenant"),
    ),
    csv_columns=(
        "account_name",
        "account_type",
        "parent_account",
        "currency",
        "balance",
        "is_active",
        "depth",
    ),  # the ledger CSV schema
    key=("account_id",),
    build=build_accounts,
    kind="snapshot",
)
