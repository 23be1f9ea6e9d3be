"""Data-quality checks on a dataset frame, as pure functions returning Dagster check results."""

from __future__ import annotations

import dagster as dg
import polars as pl

from export_platform.datasets.accounts import accounting_equation
from export_platform.datasets.bills import unbalanced_entries
from export_platform.datasets.spec import DatasetSpec

BELONGS_TO_TENANT = "belongs_to_tenant"
UNIQUE_KEY = "unique_key"
ENTRIES_BALANCE = "entries_balance"
ACCOUNTING_EQUATION = "accounting_equation"


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
    return specs


def belongs_to_tenant(frame: pl.LazyFrame | pl.DataFrame, tenant: str) -> dg.AssetCheckResult:
    foreign = frame.lazy().filter(pl.col("tenant_id") != tenant).select(pl.len()).collect().item()
    return dg.AssetCheckResult(
        check_name=BELONGS_TO_TENANT,
        passed=foreign == 0,
        metadata={"foreign_rows": foreign, "tenant": tenant},
    )


def unique_key(frame: pl.LazyFrame | pl.DataFrame, key: tuple[str, ...]) -> dg.AssetCheckResult:
    counts = frame.lazy().group_by(key).len()
    duplicated = counts.filter(pl.col("len") > 1).select(pl.col("len").sum()).collect().item()
    return dg.AssetCheckResult(
        check_name=UNIQUE_KEY,
        passed=not duplicated,
        metadata={"duplicate_rows": duplicated or 0, "key": ", ".join(key)},
    )


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
