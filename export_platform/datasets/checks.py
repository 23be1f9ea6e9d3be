"""Data-quality checks on a dataset frame, as pure functions returning Dagster check results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
import numpy as np
import polars as pl

from export_platform.datasets.accounts import accounting_equation
from export_platform.datasets.bills import unbalanced_entries
from export_platform.datasets.spec import DatasetSpec

BELONGS_TO_TENANT = "belongs_to_tenant"
UNIQUE_KEY = "unique_key"
ENTRIES_BALANCE = "entries_balance"
ACCOUNTING_EQUATION = "accounting_equation"
INVOICES_MATCH_CUSTOMER_BALANCES = "invoices_match_customer_balances"


def check_specs(spec: DatasetSpec) -> list[dg.AssetCheckSpec]:
    key = ", ".join(spec.key)
    specs = [
        dg.AssetCheckSpec(
            BELONGS_TO_TENANT,
            asset=spec.name,
            blocking=True,
            description="Every row's tenant_id is the partition's tenant.",
        ),
        dg.AssetCheckSpec(
            UNIQUE_KEY, asset=spec.name, blocking=True, description=f"No two rows share the key ({key})."
        ),
    ]
    if spec.name == "bills":
        specs.append(
            dg.AssetCheckSpec(
                ENTRIES_BALANCE,
                asset=spec.name,
                blocking=True,
                description="Every journal entry's debits equal its credits.",
            )
        )
    if spec.name == "accounts":
        specs.append(
            dg.AssetCheckSpec(
                ACCOUNTING_EQUATION,
                asset=spec.name,
                blocking=True,
                description="Assets = liabilities + equity + (income - expenses).",
            )
        )
    if spec.name == "invoices":
        specs.append(
            dg.AssetCheckSpec(
                INVOICES_MATCH_CUSTOMER_BALANCES,
                asset=spec.name,
                blocking=True,
                description=(
                    "Each customer's invoice balances add up to the customer's outstanding balance in "
                    "customers (0 for a customer in credit), read in the same snapshot, and every invoice "
                    "belongs to one of those customers; so the totals agree too."
                ),
            )
        )
    return specs


def belongs_to_tenant(frame: pl.LazyFrame | pl.DataFrame, tenant: str) -> dg.AssetCheckResult:
    foreign = frame.lazy().filter(pl.col("tenant_id") != tenant).select(pl.len()).collect().item()
    return dg.AssetCheckResult(
        check_name=BELONGS_TO_TENANT,
        passed=foreign == 0,
        metadata={"foreign_rows": foreign, "tenant": tenant},
    )


def unique_key(frame: pl.LazyFrame | pl.DataFrame, key: tuple[str, ...]) -> dg.AssetCheckResult:
    duplicated = duplicated_rows(frame.lazy(), key)
    return dg.AssetCheckResult(
        check_name=UNIQUE_KEY,
        passed=not duplicated,
        metadata={"duplicate_rows": duplicated or 0, "key": ", ".join(key)},
    )


def duplicated_rows(frame: pl.LazyFrame, key: tuple[str, ...]) -> int:
    """How many rows share their key with another row.

    A single integer key without nulls (every dataset's) is checked by sorting a NumPy copy of the
    column, 16 bytes a row: over 10M line item ids that peaks about 250 MB, where Polars' hash
    table (``group_by`` or ``n_unique``) took 630 MB. Other keys are counted by ``group_by``."""
    if len(key) == 1 and frame.collect_schema()[key[0]].is_integer():
        column = frame.select(key[0]).collect(engine="streaming").to_series()
        if column.null_count() == 0:
            ids = column.to_numpy(writable=True)
            ids.sort()
            shared = ids[1:] == ids[:-1]
            duplicated = np.zeros(len(ids), dtype=bool)
            duplicated[1:] |= shared
            duplicated[:-1] |= shared
            return int(duplicated.sum())
    counts = frame.group_by(key).len()
    return counts.filter(pl.col("len") > 1).select(pl.col("len").sum()).collect().item() or 0


def entries_balance(bills: pl.DataFrame) -> dg.AssetCheckResult:
    bad = unbalanced_entries(bills)
    return dg.AssetCheckResult(
        check_name=ENTRIES_BALANCE,
        passed=bad.is_empty(),
        metadata={"unbalanced_entries": len(bad), "first_unbalanced": str(bad.head(5).to_dicts())},
    )


def equation_holds(accounts: pl.DataFrame) -> dg.AssetCheckResult:
    totals = accounting_equation(accounts)
    return dg.AssetCheckResult(
        check_name=ACCOUNTING_EQUATION, passed=bool(totals.pop("balanced")), metadata=totals
    )


def evaluate(spec: DatasetSpec, frame: pl.LazyFrame, tenant: str) -> list[dg.AssetCheckResult]:
    """Every check of ``spec`` on a partition, read lazily (a streamed partition is never whole)."""
    results = [belongs_to_tenant(frame, tenant), unique_key(frame, spec.key)]
    if spec.name == "bills":
        results.append(entries_balance(frame.collect()))
    if spec.name == "accounts":
        results.append(equation_holds(frame.collect()))
    return results


SALES_MATCH_LINE_ITEMS = "sales_match_line_items"
RECONCILED_FIGURES = ("revenue", "cogs", "profit")


def sales_match_line_items(sales: pl.LazyFrame, items: pl.LazyFrame) -> dg.AssetCheckResult:
    """Each sale's revenue, COGS and profit equal the sums over its line items, and every line item
    belongs to a sale of the same partition; so the totals of the two tables agree too."""
    per_sale = items.group_by("sale_id").agg(
        *(pl.col(name).sum().alias(f"lines_{name}") for name in RECONCILED_FIGURES)
    )
    compared = sales.select("sale_id", *RECONCILED_FIGURES).join(
        per_sale, on="sale_id", how="full", coalesce=True
    )
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    differs = pl.any_horizontal(
        pl.col(name).fill_null(zero) != pl.col(f"lines_{name}").fill_null(zero) for name in RECONCILED_FIGURES
    )
    orphans = pl.col("revenue").is_null() & pl.col("lines_revenue").is_not_null()
    bad = compared.filter(differs | orphans).sort("sale_id").collect()
    totals = compared.select(
        *(pl.col(name).sum() for name in RECONCILED_FIGURES),
        *(pl.col(f"lines_{name}").sum() for name in RECONCILED_FIGURES),
    ).collect()
    return dg.AssetCheckResult(
        check_name=SALES_MATCH_LINE_ITEMS,
        passed=bad.is_empty(),
        metadata={
            "sales_not_matching": len(bad),
            "first_not_matching": str(bad.head(5).to_dicts()),
            **{name: str(value) for name, value in totals.row(0, named=True).items()},
        },
    )


def invoices_match_customer_balances(invoices: pl.LazyFrame, customers: pl.LazyFrame) -> dg.AssetCheckResult:
    """Each customer's invoice balances add up to the customer's outstanding balance, or to 0 for a
    customer in credit (payments beyond every charge sit on no invoice), and every invoice belongs to a
    customer of the same partition; so the invoices' total balance is the customers' total outstanding
    less their credit, which the metadata shows.

    It sits on the invoices dataset, in the step that reads the datasets, rather than on the exports as
    ``sales_match_line_items`` does: that check guards two sheets of one workbook, while this one is
    about the data every invoices export shows, the CSV's too. In that step both datasets come from one
    snapshot of the source, so they agree to the cent even while the month runs; and a failure, blocking
    like the other dataset checks, fails that step, so the run writes no export from invoices that
    disagree with the customers."""
    zero = pl.lit(0).cast(pl.Decimal(18, 2))
    per_customer = invoices.group_by("customer_id").agg(pl.col("balance").sum().alias("invoices_balance"))
    compared = customers.select("customer_id", "outstanding_balance").join(
        per_customer, on="customer_id", how="full", coalesce=True
    )
    owed = pl.max_horizontal(pl.col("outstanding_balance"), zero)
    differs = owed.fill_null(zero) != pl.col("invoices_balance").fill_null(zero)
    orphans = pl.col("outstanding_balance").is_null() & pl.col("invoices_balance").is_not_null()
    bad = compared.filter(differs | orphans).sort("customer_id").collect()
    totals = compared.select(
        pl.col("outstanding_balance").sum().alias("customers_outstanding"),
        pl.col("outstanding_balance")
        .filter(pl.col("outstanding_balance") < 0)
        .sum()
        .alias("customers_credit"),
        pl.col("invoices_balance").sum(),
    ).collect()
    return dg.AssetCheckResult(
        check_name=INVOICES_MATCH_CUSTOMER_BALANCES,
        passed=bad.is_empty(),
        metadata={
            "customers_not_matching": len(bad),
            "first_not_matching": str(bad.head(5).to_dicts()),
            **{name: str(value) for name, value in totals.row(0, named=True).items()},
        },
    )


def compared_datasets(check_keys: Iterable[dg.AssetCheckKey]) -> set[str]:
    """The datasets that the selected checks compare with the one they sit on: the step reads them in
    the same snapshot, whether or not the run stores them."""
    balances = dg.AssetCheckKey(dg.AssetKey("invoices"), INVOICES_MATCH_CUSTOMER_BALANCES)
    return {"customers"} if balances in set(check_keys) else set()


def evaluate_across(frames: Mapping[str, pl.LazyFrame]) -> dict[str, list[dg.AssetCheckResult]]:
    """The checks that compare two datasets of one partition, by the dataset they sit on, for the
    datasets of ``frames`` (all read in one snapshot) whose counterpart is among them."""
    if "invoices" in frames and "customers" in frames:
        return {"invoices": [invoices_match_customer_balances(frames["invoices"], frames["customers"])]}
    return {}
