"""Bad input, end to end: a small SQLite source whose rows have NULLs, negative quantities, amounts with
more than two decimals, invalid JSON, 100,000-character text, control characters and lone surrogates
goes through every dataset and every CSV, Excel and PDF export. Each oddity gets the rendering the
README documents, and neither the tenant's other rows nor the other tenant suffer.

Config values of the wrong type or range are refused with the field's name. A tenant whose every text
setting (sender name, reply-to, recipients, schedule name, subject, message, requester) holds control
characters and climbing paths is refused where each is saved, and, stored anyway, disturbs neither
another tenant's delivery in the same tick nor the history's output."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook
from pydantic import ValidationError

from export_platform.cli import main
from export_platform.datasets.audit_log import INVALID_JSON_MARK, readable_json
from export_platform.datasets.source_database import SourceDatabase
from export_platform.errors import InvalidSourceData
from export_platform.exports.adhoc import AdhocExportConfig, adhoc_export
from export_platform.exports.formats import CsvExportConfig, PdfExportConfig, XlsxExportConfig
from export_platform.render.xlsx import EXCEL_MAX_CELL_CHARS, TRUNCATION_MARK
from export_platform.source import schema as s
from export_platform.source.ddl import create_schema
from export_platform.source.url import SourceUrl, create_engine
from export_platform.storage.artifacts import ArtifactStore
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import (
    InvalidSettings,
    NotificationSettings,
    NotificationSettingsStore,
)
from export_platform.tracking.schema import export_schedules, notification_settings
from export_platform.tracking.tenant_schedules import TenantScheduleSpec, TenantScheduleStore
from export_platform_tests.support.mail_delivery import OPERATOR, deliver, scheduled_run, smtp_inbox
from export_platform_tests.support.materialize import ephemeral_instance, materialize_exports
from export_platform_tests.support.project import BIN
from export_platform_tests.support.source_reads import reads_outside_a_snapshot

MONTH = "2026-10"
LONG_TEXT = "".join(f"word{i} " for i in range(20_000))[:100_000]
CONTROL = "bell\x07 escape\x1b[31m nul\x00 del\x7f tab\t end"
SURROGATE_BYTES = "41EDA08042"  # "A", a lone surrogate U+D800 as CESU-8 bytes, "B"
DEEP_JSON = "[" * 100_000


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, 0, 0)


def tenant_rows(tenant: str, base: int, *, bad: bool) -> dict[sa.Table, list[dict]]:
    """One of everything for ``tenant``; with ``bad`` the awkward values, otherwise ordinary ones."""
    t = {"tenant_id": tenant}
    text = lambda odd, plain: odd if bad else plain  # noqa: E731
    return {
        s.tenants: [
            dict(
                id=tenant,
                name=tenant.title(),
                timezone="Europe/Lisbon",
                currency="EUR",
                is_active=True,
                created_at=at(1),
            )
        ],
        s.users: [dict(id=base, **t, email=f"ana@{tenant}.example", name=text(f"Ana {CONTROL}", "Ana"))],
        s.storefronts: [dict(id=base, **t, name=text("Main\x00Street", "Main Street"))],
        s.products: [
            dict(
                id=base,
                **t,
                sku=f"SKU-{base}",
                barcode=None,
                name=text(LONG_TEXT, "Mug"),
                category="Cups",
                unit_cost=text("1.005", "1.00"),
                unit_price=text("2.675", "2.50"),
                reorder_level=2,
            )
        ],
        s.stock_movements: [
            dict(
                id=base,
                **t,
                storefront_id=base,
                product_id=base,
                quantity_delta=5,
                unit_cost=None,
                reason="receipt",
                occurred_at=at(2),
            ),
            dict(
                id=base + 1,
                **t,
                storefront_id=base,
                product_id=base,
                quantity_delta=-8,
                unit_cost=None,
                reason="sale",
                occurred_at=at(3),
            ),
        ],
        s.customers: [
            dict(
                id=base,
                **t,
                name="placeholder",
                email=None,
                phone=None,
                address=text(LONG_TEXT, None),
                customer_type="retail",
                credit_limit=text("100.999", "100.00"),
                is_active=True,
                is_blocked=False,
                created_at=at(1),
            )
        ],
        s.credit_transactions: [
            dict(
                id=base,
                **t,
                customer_id=base,
                kind="charge",
                amount=text("50.555", "50.00"),
                occurred_at=at(4),
                due_at=None,
                reference=None,
            )
        ],
        s.sales: [
            dict(
                id=base,
                **t,
                storefront_id=base,
                customer_id=None,
                user_id=base,
                receipt_number=f"R-{base}",
                sale_type="retail",
                status="completed",
                subtotal=text("-10.005", "10.00"),
                discount="0.00",
                tax="0.00",
                total=text("-10.005", "10.00"),
                amount_paid=text("-10.005", "10.00"),
                payment_method="cash",
                sold_at=at(5),
            ),
            dict(
                id=base + 1,
                **t,
                storefront_id=base,
                customer_id=base,
                user_id=base,
                receipt_number=f"R-{base + 1}",
                sale_type="retail",
                status="completed",
                subtotal="7.50",
                discount="0.00",
                tax="0.00",
                total="7.50",
                amount_paid="7.50",
                payment_method="card",
                sold_at=at(6),
            ),
        ],
        s.sale_items: [
            dict(
                id=base,
                **t,
                sale_id=base,
                product_id=base,
                quantity=text(-4, 4),
                unit_price="2.50",
                unit_cost=text("1.005", "1.00"),
                discount="0.00",
                line_total=text("-10.005", "10.00"),
            ),
            dict(
                id=base + 1,
                **t,
                sale_id=base + 1,
                product_id=base,
                quantity=3,
                unit_price="2.50",
                unit_cost="1.00",
                discount="0.00",
                line_total="7.50",
            ),
        ],
        s.audit_events: [
            dict(
                id=base + i,
                **t,
                user_id=None if i % 2 else base,
                event_type="sale.completed",
                entity_type=None if i == 3 else "sale",
                entity_id=None,
                ip_address=None,
                user_agent=text(CONTROL, "curl"),
                event_data=payload,
                occurred_at=at(7, i),
            )
            for i, payload in enumerate(
                [
                    text('{"total": 1', '{"total": 1}'),
                    text('{"note": "\\ud800 alone"}', '{"note": "ok"}'),
                    text(DEEP_JSON, "[]"),
                    None,
                    text('{"text": "' + LONG_TEXT + '"}', '{"b": 2, "a": 1}'),
                ]
            )
        ],
        s.accounts: [
            dict(
                id=base,
                **t,
                name="Cash",
                type="assets",
                currency="EUR",
                parent_id=None,
                path=str(base),
                depth=0,
                is_active=True,
            ),
            dict(
                id=base + 1,
                **t,
                name="Sales",
                type="income",
                currency="EUR",
                parent_id=None,
                path=str(base + 1),
                depth=0,
                is_active=True,
            ),
        ],
        s.journal_entries: [
            dict(
                id=base, **t, date=dt.date(2026, 10, 5), description=text(CONTROL, "Sale"), reference_id=None
            )
        ],
        s.journal_lines: [
            dict(
                id=base, **t, entry_id=base, account_id=base, amount=text("12.345", "12.00"), currency="EUR"
            ),
            dict(
                id=base + 1,
                **t,
                entry_id=base,
                account_id=base + 1,
                amount=text("-12.345", "-12.00"),
                currency="EUR",
            ),
        ],
    }


@pytest.fixture(scope="module")
def bad_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('bad-source') / 'source.db'}"
    create_schema(SourceUrl(url))
    engine = create_engine(SourceUrl(url))
    with engine.begin() as conn:
        for tenant, base, bad in (("acme", 100, True), ("globex", 200, False)):
            for table, rows in tenant_rows(tenant, base, bad=bad).items():
                conn.execute(table.insert(), rows)
        # Bytes that are not UTF-8 can only be stored below the driver: a lone surrogate, as CESU-8.
        conn.exec_driver_sql(f"UPDATE customers SET name = CAST(X'{SURROGATE_BYTES}' AS TEXT) WHERE id = 100")
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def exported(bad_source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-artifacts")
    instance = ephemeral_instance("acme", "globex")
    for tenant in ("acme", "globex"):
        result = materialize_exports(bad_source, str(root), f"{MONTH}|{tenant}", instance=instance)
        failures = [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]
        assert result.success, failures
        checks = result.get_asset_check_evaluations()
        assert checks and all(c.passed for c in checks), [c.asset_check_key for c in checks if not c.passed]
    return root


def frame(root: Path, dataset: str, tenant: str = "acme") -> pl.DataFrame:
    return pl.read_parquet(root / tenant / "data" / dataset / f"{MONTH}.parquet")


def export_path(root: Path, dataset: str, fmt: str, tenant: str = "acme") -> Path:
    return root / tenant / "exports" / dataset / MONTH / f"{dataset}_{tenant}_{MONTH}.{fmt}"


def test_amounts_with_more_than_two_decimals_round_half_away_from_zero(exported: Path) -> None:
    inventory = frame(exported, "inventory").row(0, named=True)
    assert (inventory["unit_cost"], inventory["unit_price"]) == (Decimal("1.01"), Decimal("2.68"))
    sale = frame(exported, "sales").filter(pl.col("sale_id") == 100).row(0, named=True)
    assert sale["total"] == Decimal("-10.01")  # as PostgreSQL's NUMERIC(18,2) would have stored it
    customer = frame(exported, "customers").row(0, named=True)
    assert (customer["credit_limit"], customer["outstanding_balance"]) == (
        Decimal("101.00"),
        Decimal("50.56"),
    )
    bills = frame(exported, "bills")
    assert bills["amount"].to_list() == [Decimal("12.35")]


def test_negative_quantities_are_kept_as_recorded(exported: Path) -> None:
    items = frame(exported, "sale_items").sort("item_id")
    assert items["quantity"].to_list() == [-4, 3]
    assert items["cogs"].to_list() == [Decimal("-4.04"), Decimal("3.00")]
    sales = frame(exported, "sales").sort("sale_id")
    assert sales["quantity"].to_list() == [-4, 3]
    inventory = frame(exported, "inventory").row(0, named=True)
    assert inventory["quantity_on_hand"] == -3 and inventory["stock_status"] == "out_of_stock"
    assert inventory["stock_value"] == Decimal("-3.03")
    with export_path(exported, "sale_items", "csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["Quantity"] for r in rows] == ["-4", "3"]


def test_nulls_stay_empty_and_other_columns_are_unaffected(exported: Path) -> None:
    sales = frame(exported, "sales").sort("sale_id")
    assert sales["customer"].to_list() == [None, sales["customer"][1]] and sales["customer"][1] is not None
    customer = frame(exported, "customers").row(0, named=True)
    assert (customer["email"], customer["phone"]) == (None, None)
    assert customer["recent_transactions"][0]["due_at"] is None
    assert frame(exported, "inventory")["barcode"].to_list() == [None]
    events = frame(exported, "audit_log").sort("event_id")
    assert events["event_data"][3] is None
    assert (
        events["user_name"].to_list()[1] is None and events["description"][1] == "sale.completed on sale #?"
    )


def test_bad_json_is_kept_and_marked(exported: Path) -> None:
    data = frame(exported, "audit_log").sort("event_id")["event_data"].to_list()
    assert data[0] == INVALID_JSON_MARK + '{"total": 1'
    assert data[1] == '{"note": "\\ud800 alone"}'  # the escape survives; no UTF-8 text can hold it bare
    assert data[2] == INVALID_JSON_MARK + DEEP_JSON
    assert data[4] == '{"text": "' + LONG_TEXT + '"}'
    assert readable_json('{"b": 1, "a": [1, 2]}') == '{"a": [1, 2], "b": 1}'


def test_text_that_is_not_utf8_reads_as_replacement_characters(exported: Path) -> None:
    assert frame(exported, "customers")["name"].to_list() == ["A\ufffd\ufffd\ufffdB"]


def test_long_text_and_control_characters_in_each_format(exported: Path) -> None:
    with export_path(exported, "sale_items", "csv").open(encoding="utf-8-sig", newline="") as f:
        products = {r["Product"] for r in csv.DictReader(f)}
    assert products == {LONG_TEXT}  # CSV keeps text whole
    with export_path(exported, "audit_log", "csv").open(encoding="utf-8-sig", newline="") as f:
        agents = [r["User Agent"] for r in csv.DictReader(f)]
    assert agents == [CONTROL] * 5  # and control characters as stored, inside quotes where needed

    workbook = load_workbook(export_path(exported, "sales", "xlsx"), read_only=True)
    header, *rows = workbook["Line Items"].iter_rows(values_only=True)
    name = rows[0][header.index("Product")]
    assert len(name) == EXCEL_MAX_CELL_CHARS and name.endswith(TRUNCATION_MARK)
    workbook = load_workbook(export_path(exported, "audit_log", "xlsx"), read_only=True)
    header, *rows = workbook["Audit Logs"].iter_rows(values_only=True)
    assert rows[0][header.index("User Agent")] == "bell\ufffd escape\ufffd[31m nul\ufffd del\x7f tab\t end"

    for dataset in ("sales", "customers", "inventory", "audit_log", "bills", "accounts"):
        assert export_path(exported, dataset, "pdf").read_bytes().startswith(b"%PDF-"), dataset


def test_the_other_tenant_is_untouched(exported: Path) -> None:
    assert frame(exported, "sale_items", "globex")["quantity"].to_list() == [4, 3]
    assert frame(exported, "audit_log", "globex")["event_data"].to_list()[4] == '{"a": 1, "b": 2}'
    assert ArtifactStore(root=str(exported)).manifest("globex", "sales", MONTH) is not None


def test_money_text_that_is_not_a_number_fails_clearly(bad_source: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(Path(bad_source.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{broken}"
    engine = create_engine(SourceUrl(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE products SET unit_price = 'twelve' WHERE id = 100")
    engine.dispose()
    with pytest.raises(InvalidSourceData, match="twelve"):
        reads_outside_a_snapshot(url, "acme").read(
            sa.select(s.products.c.unit_price).where(s.products.c.tenant_id == "acme")
        )
    globex = reads_outside_a_snapshot(url, "globex").read(
        sa.select(s.products.c.unit_price).where(s.products.c.tenant_id == "globex")
    )
    assert globex["unit_price"].to_list() == [Decimal("2.50")]


WRONG_CONFIG = [
    (CsvExportConfig, {"delimiter": ";;"}, "delimiter"),
    (CsvExportConfig, {"delimiter": 44}, "delimiter"),
    (CsvExportConfig, {"delimiter": "|"}, "delimiter"),
    (CsvExportConfig, {"include_bom": "perhaps"}, "include_bom"),
    (CsvExportConfig, {"include_header": [True]}, "include_header"),
    (XlsxExportConfig, {"max_rows_per_sheet": 1}, "max_rows_per_sheet"),
    (XlsxExportConfig, {"max_rows_per_sheet": 1_048_577}, "max_rows_per_sheet"),
    (XlsxExportConfig, {"max_rows_per_sheet": "many"}, "max_rows_per_sheet"),
    (XlsxExportConfig, {"max_rows_per_sheet": 2.5}, "max_rows_per_sheet"),
    (PdfExportConfig, {"row_cap": 0}, "row_cap"),
    (PdfExportConfig, {"row_cap": -5}, "row_cap"),
    (PdfExportConfig, {"row_cap": "all"}, "row_cap"),
    (AdhocExportConfig, {"tenant": "../globex", "dataset": "sales"}, "tenant"),
    (AdhocExportConfig, {"tenant": "аcme", "dataset": "sales"}, "tenant"),
    (AdhocExportConfig, {"tenant": 42, "dataset": "sales"}, "tenant"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "salaries"}, "dataset"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "formats": ["docx"]}, "formats"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "formats": "csv,pdf"}, "formats"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "date_from": "2026-02-30"}, "date_from"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "date_from": "２０２６-01-01"}, "date_from"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "date_to": 20261031}, "date_to"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "date_preset": "forever"}, "date_preset"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "customers", "min_balance": "1e400"}, "min_balance"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "customers", "min_balance": "NaN"}, "min_balance"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "customers", "min_balance": "10.001"}, "min_balance"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "include_header": "no way"}, "include_header"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "bills", "account_types": ["cash"]}, "account_types"),
    (
        AdhocExportConfig,
        {"tenant": "acme", "dataset": "sales", "requested_by": "schedule:fake"},
        "requested_by",
    ),
    (
        AdhocExportConfig,
        {"tenant": "acme", "dataset": "sales", "requested_by": " SCHEDULE:x"},
        "requested_by",
    ),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "requested_by": "sensor:x"}, "requested_by"),
    (AdhocExportConfig, {"tenant": "acme", "dataset": "sales", "requested_by": "ana\r\nbob"}, "requested_by"),
]


@pytest.mark.parametrize(("config", "values", "field"), WRONG_CONFIG)
def test_wrong_config_values_are_refused_naming_the_field(config, values: dict, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        config(**values)
    assert field in str(refused.value)


@pytest.mark.parametrize(
    "bad", [{"delimiter": ";;"}, {"include_bom": "perhaps"}, {"include_header": 1}, {"surprise": 1}]
)
def test_wrong_run_config_is_refused_at_launch(bad: dict) -> None:
    from export_platform.definitions import defs

    job = defs.resolve_job_def("exports_job")
    with pytest.raises(dg.DagsterInvalidConfigError, match=next(iter(bad))):
        dg.validate_run_config(job, {"ops": {"sales_csv": {"config": bad}}})
    assert dg.validate_run_config(job, {"ops": {"sales_csv": {"config": {"delimiter": ";"}}}})


# A tenant whose every text field is hostile: line breaks that would add a header or a fake history
# line, escape sequences, a bidirectional override, NUL, and paths that climb into another tenant's.
HOSTILE = {
    "sender_name": "Acme\r\nBcc: spy@evil.example\x1b[2J",
    "reply_to": "../../globex/help@acme.example\r\nReply-To: spy@evil.example",
    "default_recipients": ["finance@acme.example", "spy\r\n@acme.example"],
    "schedule_name": "../../globex/exports\r\n2026-12-01 09:00:00  globex  sales_csv  success",
    "subject": "Sales\r\nBcc: spy@evil.example",
    "message": "Hello\x00\x1b]0;pwned\x07 \u202etxt.exe",
    "requested_by": "schedule:../../globex\r\nfake",
}


def test_hostile_text_fields_are_refused_where_they_are_saved() -> None:
    refusals = []
    for field in ("sender_name", "reply_to", "default_recipients"):
        value = tuple(HOSTILE[field]) if field == "default_recipients" else HOSTILE[field]
        with pytest.raises(InvalidSettings) as refused:
            NotificationSettings("acme", allowed_domains=("acme.example",), **{field: value}).check()
        refusals.append((field, refused.value.field_name, str(refused.value)))
    schedule = {"tenant": "acme", "name": "Monthly", "datasets": ("sales",), "formats": ("csv",)}
    for field, value in (("name", HOSTILE["schedule_name"]), ("subject", HOSTILE["subject"])):
        with pytest.raises(ValidationError) as refused:
            TenantScheduleSpec(**{**schedule, "cadence": "daily", field: value})
        refusals.append((field, refused.value.errors()[0]["loc"][0], refused.value.errors()[0]["msg"]))
    with pytest.raises(ValidationError) as refused:
        TenantScheduleSpec(**schedule, cadence="daily", message=HOSTILE["message"])
    refusals.append(("message", refused.value.errors()[0]["loc"][0], refused.value.errors()[0]["msg"]))
    for value in (HOSTILE["requested_by"], "schedule:fake", "Sensor:tenant_sensor", "ana\r\nbob"):
        with pytest.raises(ValidationError) as refused:
            AdhocExportConfig(tenant="acme", dataset="sales", requested_by=value)
        refusals.append(
            ("requested_by", refused.value.errors()[0]["loc"][0], refused.value.errors()[0]["msg"])
        )
    for field, named, message in refusals:
        assert named == field and field in message and "\n" not in message, (field, message)


def test_a_hostile_tenant_disturbs_no_other_tenants_delivery_or_history(
    bad_source: str, tmp_path: Path, monkeypatch
) -> None:
    """acme's settings and schedule hold the hostile values (saved before the rules, or by another
    program) and an ad-hoc run claims to be a schedule. In one delivery tick globex gets its files and
    nothing else happens to it; acme's exports are closed as failed with the reason and the operators
    told; the history prints one line per export."""
    copy = tmp_path / "source.db"
    copy.write_bytes(Path(bad_source.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{copy}"
    history = ExportHistory(url=url)
    settings, schedules = NotificationSettingsStore(history.engine), TenantScheduleStore(history.engine)
    ids = {}
    for tenant in ("acme", "globex"):
        settings.put(NotificationSettings(tenant, allowed_domains=(f"{tenant}.example",)))
        ids[tenant] = schedules.add(
            TenantScheduleSpec(
                tenant=tenant,
                name="Monthly",
                datasets=("sales",),
                formats=("csv", "xlsx", "pdf"),
                cadence="monthly",
                day_of_month="1",
                recipients=(f"finance@{tenant}.example",),
            )
        ).id
    with history.engine.begin() as conn:
        conn.execute(
            notification_settings.update()
            .where(notification_settings.c.tenant_id == "acme")
            .values(
                sender_name=HOSTILE["sender_name"],
                reply_to=HOSTILE["reply_to"],
                default_recipients=json.dumps(HOSTILE["default_recipients"]),
            )
        )
        conn.execute(
            export_schedules.update()
            .where(export_schedules.c.id == ids["acme"])
            .values(
                name=HOSTILE["schedule_name"],
                subject=HOSTILE["subject"],
                message=HOSTILE["message"],
                recipients="[]",  # so the tenant's hostile default recipients are the ones used
            )
        )

    root = tmp_path / "artifacts"
    instance = ephemeral_instance("acme", "globex")
    acme = scheduled_run(
        url, root, instance, ids["acme"], tenant="acme", requested_by=f"schedule:{HOSTILE['schedule_name']}"
    )
    adhoc = adhoc_export.execute_in_process(
        run_config={
            "ops": {
                "run_adhoc_export": {
                    "config": {"tenant": "acme", "dataset": "sales", "requested_by": HOSTILE["requested_by"]}
                }
            }
        },
        resources={
            "source": SourceDatabase(url=url),
            "artifacts": ArtifactStore(root=str(root)),
            "history": history,
        },
        instance=instance,
        raise_on_error=False,
    )
    globex = scheduled_run(
        url, root, instance, ids["globex"], tenant="globex", requested_by="schedule:Monthly"
    )
    assert acme.success and globex.success and not adhoc.success
    # What the ad-hoc job wrote before it refused such requesters: a success row claiming a schedule.
    forged = history.start(
        tenant="acme",
        requested_by="schedule:fake",
        dataset="sales",
        fmt="csv",
        partition_key=None,
        run_id=adhoc.run_id,
    )
    history.move(forged, "processing")
    history.move(forged, "success", record_count=1, file_size_bytes=1, uri=str(root / "acme" / "adhoc"))

    with smtp_inbox() as (inbox, smtp_url):
        deliver(instance, history, root, smtp_url)  # one tick: acme's run is the older

    [delivered] = inbox.to("finance@globex.example")
    attached = sorted(part.get_filename() for part in delivered.iter_attachments())
    assert attached == [f"sales_globex_{MONTH}.{fmt}" for fmt in ("csv", "pdf", "xlsx")]
    for part in delivered.iter_attachments():
        fmt = part.get_filename().rsplit(".", 1)[1]
        assert part.get_payload(decode=True) == export_path(root, "sales", fmt, "globex").read_bytes()
    assert {r["status"] for r in history.entries(tenant="globex") if r["run_id"] == globex.run_id} == {
        "emailed"
    }
    assert [m["To"] for m in inbox.messages] == [OPERATOR, "finance@globex.example"]  # acme's came first
    assert not any(m["Bcc"] or m["Reply-To"] for m in inbox.messages)

    rows = history.entries(tenant="acme", limit=100)
    scheduled = [r for r in rows if r["run_id"] == acme.run_id]
    assert {r["status"] for r in scheduled} == {"failed"} and len(scheduled) == 3
    assert all(
        r["error_message"].startswith("not delivered: recipients ['spy\\r\\n@acme.example']")
        for r in scheduled
    )
    assert all("\r" not in r["requested_by"] for r in rows)  # stored escaped
    assert all(Path(r["uri"]).resolve().is_relative_to(root / "acme") for r in scheduled)  # no ../globex
    refused = [r for r in rows if r["run_id"] == adhoc.run_id and r["id"] != forged]
    assert [r["status"] for r in refused] == ["failed"]
    assert refused[0]["error_message"].startswith("requested_by: ")
    assert next(r for r in rows if r["id"] == forged)["status"] == "success"  # ad-hoc, never delivered

    monkeypatch.setenv("EXPORT_SOURCE_URL", url)
    listed = CliRunner().invoke(main, ["history", "--limit", "1000"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()[1:]
    assert len(lines) == len(history.entries(limit=1000))
    assert sorted(line.split()[2] for line in lines) == sorted(
        r["tenant_id"] for r in history.entries(limit=1000)
    )
    assert not any(char in listed.output for char in "\r\x00\x1b\x07\u202e")


def command(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``export-platform args`` run as a user would."""
    return subprocess.run(
        [str(BIN / "export-platform"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_an_adhoc_request_with_several_mistakes_is_refused_with_all_of_them(tmp_path: Path) -> None:
    request = tmp_path / "request.yaml"
    request.write_text(
        "ops:\n"
        "  run_adhoc_export:\n"
        "    config:\n"
        "      tenant: ../acme\n"
        "      dataset: bills\n"
        "      formats: [csv, docx]\n"
        "      date_from: '2026-02-30'\n"
        "      date_to: 20261031\n"
        "      requested_by: schedule:monthly\n"
        "      colour: blue\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 's.db'}"}

    refused = command("adhoc", "--config", str(request), env=env)

    assert refused.returncode == 2 and refused.stdout == ""
    heading, *problems = refused.stderr.splitlines()
    assert heading == f"Error: {request} is refused, nothing was run:"
    assert [line.split(":")[0].strip() for line in problems] == [
        "colour",
        "tenant",
        "formats[1]",
        "date_from",
        "date_to",
        "requested_by",
    ]
    assert "not a field of an ad-hoc request; the fields are delimiter, " in problems[0]
    assert "invalid tenant slug '../acme'" in problems[1]
    assert problems[2].endswith("'csv', 'xlsx', 'pdf' or 'csv_bundle' (got 'docx')")
    assert "'2026-02-30' is not a date: write YYYY-MM-DD" in problems[3]
    assert problems[4].endswith("(got 20261031)")
    assert "names a schedule or sensor" in problems[5]
    assert not list(tmp_path.glob("history*")) and not (tmp_path / "s.db").exists()  # nothing ran

    request.write_text("ops: {run_adhoc_export: {config: [tenant, acme]}}\n")
    shapeless = command("adhoc", "--config", str(request), env=env)
    assert shapeless.returncode == 2 and len(shapeless.stderr.splitlines()) == 1
    assert "holds no request: write ops: {run_adhoc_export: {config: {tenant: " in shapeless.stderr


@pytest.mark.parametrize(
    "url", ["not a url", "sqlite:/relative/nope.db", "postgresql://ana:s3cret@db:port/x"]
)
def test_a_source_url_that_does_not_parse_is_refused_naming_its_setting(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "EXPORT_SOURCE_URL": url, "DAGSTER_HOME": str(tmp_path)}
    for args, origin in [
        (("history",), "EXPORT_SOURCE_URL"),
        (("seed", "--source-url", url), "--source-url"),
    ]:
        refused = command(*args, env=env)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.splitlines() == [
            f"Error: {origin} is not a database URL (not shown, as it may hold a password): write "
            "postgresql://user:password@host:port/database, sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        ]
        assert refused.stdout == "" and "s3cret" not in refused.stderr


def test_errors_are_one_or_two_lines_and_a_stack_trace_needs_verbose(tmp_path: Path) -> None:
    env = {**os.environ, "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 'missing' / 'folder' / 'x.db'}"}

    unreadable = command("history", env=env)
    assert unreadable.returncode == 1
    assert unreadable.stderr == (
        "Error: cannot open the source database (EXPORT_SOURCE_URL): unable to open database file\n"
    )
    traced = command("history", "--verbose", env=env)
    assert traced.returncode == 1 and "Traceback (most recent call last)" in traced.stderr

    missing = command("backfill", env=env)
    assert missing.returncode == 2 and missing.stderr.splitlines() == [
        "Error: Missing option '--month'.",
        "Try 'export-platform backfill --help' for help.",
    ]
