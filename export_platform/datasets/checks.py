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


def belongs_to_tenant(frame: pl.DataFrame, tenant: str) -> dg.AssetCheckResult:
    foreign = frame.filter(pl.col("tenant_id") != tenant)
    return dg.AssetCheckResult(
        check_name=BELONGS_TO_TENANT,
        passed=foreign.is_empty(),
        metadata={"foreign_rows": len(foreign), "tenant": tenant},
    )


def unique_key(frame: pl.DataFrame, key: tuple[str, ...]) -> dg.AssetCheckResult:
    duplicated = frame.select(key).filter(pl.struct(key).is_duplicated())
    return dg.AssetCheckResult(
        check_name=UNIQUE_KEY,
        passed=duplicated.is_empty(),
        metadata={"duplicate_rows": len(duplicated), "key": ", ".join(key)},
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


def evaluate(spec: DatasetSpec, frame: pl.DataFrame, tenant: str) -> list[dg.AssetCheckResult]:
    results = [belongs_to_tenant(frame, tenant), unique_key(frame, spec.key)]
    if spec.name == "bills":
        results.append(entries_balance(frame))
    if spec.name == "accounts":
        results.append(equation_holds(frame))
    return results
