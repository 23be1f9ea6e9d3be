"""The ledger reports: bills (journal rows) and accounts (the chart with root totals and a trial balance)."""

from __future__ import annotations

import polars as pl

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.accounts import exported_accounts
from export_platform.render.report import Table
from export_platform.reports.tables import (
    DEFAULT_OPTIONS,
    Frames,
    ReportOptions,
    Sections,
    count,
    dataset_table,
    money,
    one_row,
)
from export_platform.source.schema import ACCOUNT_TYPES


def bills_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    bills = frames["bills"]
    totals = one_row(
        bills,
        pl.col("entry_id").n_unique().alias("entries"),
        pl.len().alias("rows"),
        pl.col("amount").filter(pl.col("debit_account").is_not_null()).sum().alias("debits"),
    )
    summary = (
        count("Journal entries", totals["entries"]),
        count("Rows", totals["rows"]),
        money("Total debits (= total credits)", totals["debits"]),
    )
    return summary, (dataset_table("bills", bills, "Bills", options),)


def trial_balance(accounts: pl.LazyFrame) -> pl.LazyFrame:
    """The chart's leaf accounts that are active or carry a balance, with the balance on its debit or
    credit side; the two columns' totals agree."""
    parents = accounts.select(pl.col("parent_account").alias("account_name")).drop_nulls().unique()
    accounts = accounts.filter(pl.col("is_active") | (pl.col("balance") != 0))
    debit_normal = pl.col("account_type").is_in(["assets", "expenses"])
    debit_balance = pl.when(debit_normal).then(pl.col("balance")).otherwise(-pl.col("balance"))
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    return (
        accounts.join(parents, on="account_name", how="anti")
        .with_columns(
            pl.when(debit_balance > 0).then(debit_balance).otherwise(zero).alias("debit"),
            pl.when(debit_balance < 0).then(-debit_balance).otherwise(zero).alias("credit"),
        )
        .select("account_name", "account_type", "debit", "credit")
        .sort("account_name")
    )


def accounts_report(frames: Frames, options: ReportOptions = DEFAULT_OPTIONS) -> Sections:
    """Root totals and counts are those of the listed rows (``exported_accounts`` unless the request
    includes inactive accounts); the trial balance is over the whole chart."""
    accounts = frames["accounts"]
    exported = accounts if options.include_inactive else exported_accounts(accounts)
    roots = dict(
        exported.filter(pl.col("depth") == 0)
        .group_by("account_type")
        .agg(pl.col("balance").sum())
        .collect()
        .iter_rows()
    )
    totals = one_row(accounts, pl.len().alias("chart"))
    exported_count = one_row(exported, pl.len().alias("accounts"))["accounts"]
    tb = one_row(trial_balance(accounts), pl.col("debit").sum(), pl.col("credit").sum())
    summary = (
        count("Accounts listed", exported_count),
        count("Inactive accounts left out", totals["chart"] - exported_count),
        *(money(t.title(), roots.get(t)) for t in ACCOUNT_TYPES),
        money("Trial balance debits", tb["debit"]),
        money("Trial balance credits", tb["credit"]),
    )
    labels = dict(DATASETS_BY_NAME["accounts"].labels) | {"debit": "Debit", "credit": "Credit"}
    tables = (
        dataset_table("accounts", accounts, "Accounts", options),
        Table.of(
            "Trial Balance",
            trial_balance(accounts),
            labels,
            ["account_name", "account_type", "debit", "credit"],
        ),
    )
    return summary, tables
