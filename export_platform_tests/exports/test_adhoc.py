"""Ad-hoc exports: the request is validated with the field named, a refused one is recorded in the
history, filters select the right rows, the CSV options are the CSV exports' own, and files land
under {tenant}/adhoc/{run_id}/ with a history row that records the filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pydantic import ValidationError

from export_platform.cli import main
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase
from export_platform.exports.adhoc import AdhocExportConfig, adhoc_export
from export_platform.exports.assets import export_assets
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import Materialized, ephemeral_instance
from export_platform_tests.support.seed_plan import PARTITION, TENANT

BOM = b"\xef\xbb\xbf"
CSV_DEFAULTS = {"delimiter": ",", "include_bom": True, "include_header": True}


def run(source_url: str, root: Path, **request) -> dg.ExecuteInProcessResult:
    return adhoc_export.execute_in_process(
        run_config={"ops": {"run_adhoc_export": {"config": {"tenant": TENANT, **request}}}},
        resources={
            "source": SourceDatabase(url=source_url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": ExportHistory(url=source_url),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"dataset": "sales", "date_from": "2026-10-31", "date_to": "2026-10-01"}, "date_from"),
        ({"dataset": "sales", "date_from": "2025-01-01", "date_to": "2026-06-30"}, "date_to"),
        ({"dataset": "sales", "date_from": "2026-10-01"}, "date_to"),
        (
            {
                "dataset": "sales",
                "date_preset": "this_year",
                "date_from": "2026-10-01",
                "date_to": "2026-10-02",
            },
            "date_preset",
        ),
        ({"dataset": "sales", "account_types": ["assets"]}, "account_types"),
        ({"dataset": "bills", "include_inactive": True}, "include_inactive"),
        ({"dataset": "sale_items", "formats": ["pdf"]}, "formats"),
        ({"dataset": "customers", "min_balance": "lots"}, "min_balance"),
        ({"dataset": "invoices", "customer_type": "retail"}, "customer_type"),
        ({"dataset": "sales", "date_from": "2026-13-01", "date_to": "2026-12-31"}, "date_from"),
    ],
)
def test_invalid_requests_name_the_field(request_: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AdhocExportConfig(tenant=TENANT, **request_)


def test_wrong_kinds_are_refused_at_launch(sqlite_source: str, tmp_path: Path) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="account_types"):
        run(sqlite_source, tmp_path, dataset="bills", account_types=["vegetables"])
    with pytest.raises(dg.DagsterInvalidConfigError, match="delimiter"):
        run(sqlite_source, tmp_path, dataset="bills", delimiter="||")
    assert not list(tmp_path.rglob("*"))


def test_a_bad_range_fails_before_anything_is_written(sqlite_source: str, tmp_path: Path) -> None:
    result = run(sqlite_source, tmp_path, dataset="sales", date_from="2026-10-31", date_to="2026-10-01")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "date_from: must not be after date_to" in failure.event_specific_data.error.to_string()
    assert not list(tmp_path.rglob("*"))


def test_filtered_bills_over_a_range(sqlite_source: str, tmp_path: Path) -> None:
    result = run(
        sqlite_source,
        tmp_path,
        dataset="bills",
        formats=["csv", "xlsx"],
        date_from="2026-09-20",
        date_to="2026-10-10",
        account_types=["expenses"],
        delimiter=";",
        requested_by="ana@acme.example",
    )
    assert result.success
    folder = tmp_path / TENANT / "adhoc" / result.run_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "bills_acme_2026-09-20_2026-10-10.csv",
        "bills_acme_2026-09-20_2026-10-10.xlsx",
    ]
    with (folder / "bills_acme_2026-09-20_2026-10-10.csv").open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source, delimiter=";"))
    assert rows
    assert all("2026-09-20" <= r["Date"] <= "2026-10-10" for r in rows)
    assert all(
        r["Debit Account"].startswith("Expenses") or r["Credit Account"].startswith("Expenses") for r in rows
    )
    entries = [
        e
        for e in ExportHistory(url=sqlite_source).entries(tenant=TENANT, limit=10_000)
        if e["run_id"] == result.run_id
    ]
    assert {e["format"] for e in entries} == {"csv", "xlsx"} and {e["status"] for e in entries} == {"success"}
    assert all(
        e["requested_by"] == "ana@acme.example"
        and '"account_types": ["expenses"]' in e["filters"]
        and '"date_from": "2026-09-20"' in e["filters"]
        for e in entries
    )
    assert {e["record_count"] for e in entries} == {len(rows)}


def test_customer_and_inventory_filters(sqlite_source: str, tmp_path: Path) -> None:
    customers = run(
        sqlite_source,
        tmp_path,
        dataset="customers",
        credit_status="over_limit",
        min_balance="100.00",
        date_preset="all_time",
    )
    inventory = run(
        sqlite_source, tmp_path, dataset="inventory", stock_status="low_stock", storefront="Main Street"
    )
    assert customers.success and inventory.success
    with next((tmp_path / TENANT / "adhoc" / customers.run_id).glob("*.csv")).open(encoding="utf-8-sig") as f:
        picked = list(csv.DictReader(f))
    assert picked and all(
        r["Credit Status"] == "over_limit" and float(r["Outstanding"]) >= 100 for r in picked
    )
    assert all(r["Active"] == "true" for r in picked)  # inactive customers only on request
    with next((tmp_path / TENANT / "adhoc" / inventory.run_id).glob("*.csv")).open(encoding="utf-8-sig") as f:
        stock = list(csv.DictReader(f))
    assert stock and all(r["Stock Status"] == "low_stock" and r["Storefront"] == "Main Street" for r in stock)


def history_rows(source_url: str, run_id: str) -> list[dict]:
    return [e for e in ExportHistory(url=source_url).entries(limit=100_000) if e["run_id"] == run_id]


def step_error(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.to_string()


REFUSALS = [
    pytest.param(
        {"dataset": "sales", "date_from": "2025-01-01", "date_to": "2026-01-01"},
        "date_to: a range covers at most a year, so date_to must be before 2026-01-01",
        id="range-over-a-year",
    ),
    pytest.param(
        {"tenant": "initech", "dataset": "sales", "storefront": "Main Street"},
        "tenant: unknown tenant 'initech'",
        id="unknown-tenant",
    ),
    pytest.param(
        {"dataset": "sales", "account_types": ["assets"], "delimiter": ";"},
        "account_types: does not apply to sales",
        id="bad-filter",
    ),
    pytest.param(
        {"dataset": "sales", "date_from": "2026-13-01", "date_to": "2026-12-31"},
        "date_from: '2026-13-01' is not a date: write YYYY-MM-DD",
        id="bad-date",
    ),
    pytest.param(
        {"dataset": "sales", "date_from": "9999-01-01", "date_to": "9999-12-31", "include_bom": False},
        "date_from: 9999-01-01 is out of range: dates must be between 2000-01-01 and 2100-12-31",
        id="date-out-of-range",
    ),
]


@pytest.mark.parametrize(("request_", "message"), REFUSALS)
def test_a_refused_request_is_a_failed_history_row(
    source_url: str, tmp_path: Path, request_: dict, message: str
) -> None:
    who = f"ana+{uuid.uuid4().hex[:8]}@acme.example"
    request_ = {"tenant": TENANT, **request_}
    result = run(source_url, tmp_path, formats=["csv", "xlsx"], requested_by=who, **request_)

    assert not result.success and message in step_error(result)
    assert not list(tmp_path.rglob("*"))
    rows = history_rows(source_url, result.run_id)
    assert sorted(r["format"] for r in rows) == ["csv", "xlsx"]
    asked = {k: v for k, v in request_.items() if k not in ("tenant", "dataset")}
    for row in rows:
        assert row["status"] == "failed" and message in row["error_message"]
        assert (row["tenant_id"], row["dataset"], row["requested_by"]) == (
            request_["tenant"],
            request_["dataset"],
            who,
        )
        assert json.loads(row["filters"]) == {**CSV_DEFAULTS, **asked}


def test_history_lists_a_refused_request_as_failed(sqlite_source: str, tmp_path: Path) -> None:
    who = f"ana+{uuid.uuid4().hex[:8]}@acme.example"
    result = run(
        sqlite_source,
        tmp_path,
        dataset="bills",
        date_from="2025-01-01",
        date_to="2026-01-01",
        requested_by=who,
    )
    assert not result.success

    listed = CliRunner().invoke(
        main, ["history", "--status", "failed", "--tenant", TENANT], env={"EXPORT_SOURCE_URL": sqlite_source}
    )
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if who in line)
    assert " bills_csv " in line and " failed " in line
    assert line.endswith(
        f"{who}: date_to: a range covers at most a year, so date_to must be before 2026-01-01 "
        "(date_from's day a year later; 1 March for 29 February)"
    )


def first_refused_date_to(date_from: dt.date) -> dt.date:
    """The rule, worked out by counting days: the first date_to on or after date_from's month and day
    a year later (a 29 February start has none, so 1 March)."""
    day = date_from
    while (day.year, day.month, day.day) < (date_from.year + 1, date_from.month, date_from.day):
        day += dt.timedelta(days=1)
    return day


@pytest.mark.parametrize("date_from", ["2025-01-01", "2024-02-29", "2024-02-28", "2023-03-01", "2024-12-31"])
def test_a_range_ends_before_the_same_day_a_year_later(date_from: str) -> None:
    refused = first_refused_date_to(dt.date.fromisoformat(date_from))
    last_accepted = refused - dt.timedelta(days=1)
    AdhocExportConfig(tenant=TENANT, dataset="sales", date_from=date_from, date_to=str(last_accepted))
    with pytest.raises(ValidationError, match=f"date_to: a range covers at most a year, .* before {refused}"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", date_from=date_from, date_to=str(refused))


def test_a_29_february_start_runs_to_28_february() -> None:
    AdhocExportConfig(tenant=TENANT, dataset="sales", date_from="2024-02-29", date_to="2025-02-28")
    with pytest.raises(ValidationError, match="date_to must be before 2025-03-01"):
        AdhocExportConfig(tenant=TENANT, dataset="sales", date_from="2024-02-29", date_to="2025-03-01")


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        (("9999-01-01", "9999-12-31"), "date_from"),
        (("1999-12-31", "2000-01-30"), "date_from"),
        (("2100-06-01", "2101-01-01"), "date_to"),
        (("2000-01-01", "2000-01-30"), None),
        (("2100-06-01", "2100-12-31"), None),
    ],
)
def test_dates_are_range_checked_naming_the_field(dates: tuple[str, str], field: str | None) -> None:
    date_from, date_to = dates
    request = {"tenant": TENANT, "dataset": "sales", "date_from": date_from, "date_to": date_to}
    if field is None:
        AdhocExportConfig(**request)
        return
    with pytest.raises(ValidationError) as refused:
        AdhocExportConfig(**request)
    assert f"{request[field]} is out of range: dates must be between 2000-01-01 and 2100-12-31" in str(
        refused.value
    )
    assert (field,) in [e["loc"] for e in refused.value.errors()]


OCTOBER = {"dataset": "sales", "date_from": "2026-10-01", "date_to": "2026-10-31"}
CSV_OPTIONS = {"delimiter": ";", "include_bom": False, "include_header": False}


def adhoc_csv(result: dg.ExecuteInProcessResult, root: Path) -> bytes:
    return next((root / TENANT / "adhoc" / result.run_id).glob("*.csv")).read_bytes()


def test_csv_options_are_those_of_the_csv_exports(materialized_sqlite: Materialized, tmp_path: Path) -> None:
    source_url = materialized_sqlite.source_url
    plain = run(source_url, tmp_path, **OCTOBER)
    asked = run(source_url, tmp_path, **OCTOBER, **CSV_OPTIONS)
    bomless = run(source_url, tmp_path, **OCTOBER, include_bom=False)
    assert plain.success and asked.success and bomless.success

    default_file, asked_file = adhoc_csv(plain, tmp_path), adhoc_csv(asked, tmp_path)
    assert default_file.startswith(BOM) and adhoc_csv(bomless, tmp_path) == default_file.removeprefix(BOM)
    header, *rows = csv.reader(io.StringIO(default_file.decode("utf-8-sig"), newline=""))
    assert header[0] and rows
    assert not asked_file.startswith(BOM)
    assert list(csv.reader(io.StringIO(asked_file.decode("utf-8"), newline=""), delimiter=";")) == rows
    (entry,) = history_rows(source_url, asked.run_id)
    assert {k: json.loads(entry["filters"])[k] for k in CSV_OPTIONS} == CSV_OPTIONS
    assert entry["record_count"] == len(rows)

    # The same names, given to the sales_csv export of the same month, write the same file.
    exported = dg.materialize(
        [*dataset_assets, *export_assets],
        selection="sales_csv",
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceDatabase(url=source_url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(materialized_sqlite.root)),
            "artifacts": ArtifactStore(root=str(tmp_path / "exports")),
            "history": ExportHistory(url=source_url),
        },
        run_config={"ops": {"sales_csv": {"config": CSV_OPTIONS}}},
        raise_on_error=False,
    )
    assert exported.success
    (published,) = (tmp_path / "exports").rglob("*.csv")
    assert published.read_bytes() == asked_file


def test_inactive_accounts_only_on_request_and_the_trial_balance_always_whole(
    sqlite_source: str, tmp_path: Path
) -> None:
    """``include_inactive`` (the seed's accounts option, off by default) decides which accounts are
    listed; the trial balance is over the whole chart either way, so its debits equal its credits."""
    listed = {}
    for include in (False, True):
        result = run(
            sqlite_source, tmp_path, dataset="accounts", include_inactive=include, formats=["csv", "xlsx"]
        )
        assert result.success
        folder = tmp_path / TENANT / "adhoc" / result.run_id
        with next(folder.glob("*.csv")).open(encoding="utf-8-sig") as f:
            listed[include] = {r["Account Name"]: r["Is Active"] for r in csv.DictReader(f)}
        summary = dict(
            row[:2]
            for row in load_workbook(next(folder.glob("*.xlsx")))["Summary"].iter_rows(values_only=True)
            if row
        )
        assert summary["Trial balance debits"] == summary["Trial balance credits"]
    assert "false" not in listed[False].values()
    assert {name for name, active in listed[True].items() if active == "false"} == {"Expenses:Office:Legacy"}
    assert set(listed[True]) - set(listed[False]) == {"Expenses:Office:Legacy"}
