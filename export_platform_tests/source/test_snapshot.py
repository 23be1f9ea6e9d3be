"""One moment of the source per run: every statement of every dataset a run materializes sees the
PostgreSQL source as of the moment its reads began, even while other sessions commit new sales,
products and customers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import psycopg
import pytest
import sqlalchemy as sa

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.source_database import SourceDatabase, TenantReads
from export_platform.datasets.spec import tenant_of
from export_platform.errors import InvalidSourceData, SourceUnavailable
from export_platform.exports.adhoc import adhoc_export
from export_platform.exports.assets import export_assets
from export_platform.partitions import TENANT_DIMENSION
from export_platform.source import schema
from export_platform.source.demo_data import SeedPlan
from export_platform.source.reads import read_frame
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.storage.layout import export_key
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT
from export_platform_tests.support.source_reads import reads_outside_a_snapshot

SALES = sa.select(sa.func.count().label("sales")).select_from(schema.sales).where(tenant_of(schema.sales))


@pytest.fixture(scope="module")
def live_source() -> Iterator[str]:
    """A PostgreSQL source of its own, since these tests commit rows into it."""
    name = create_database()
    url = database_url(name)
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=4, end_month=MONTH))
    yield url
    drop_database(name)


def commit_a_new_sale_product_and_customer(url: str) -> None:
    """What a busy shop does in another session: a new product sold in October, a new customer."""
    with psycopg.connect(url) as conn:
        product = conn.execute(
            "INSERT INTO products (id, tenant_id, sku, name, category, unit_cost, unit_price, reorder_level)"
            " SELECT max(id) + 1, %s, 'NEW-' || (max(id) + 1), 'Committed mid-read', 'New', 1.00, 2.50, 0"
            " FROM products RETURNING id",
            (TENANT,),
        ).fetchone()[0]
        sale = conn.execute(
            "INSERT INTO sales (id, tenant_id, storefront_id, user_id, receipt_number, sale_type, status,"
            " subtotal, discount, tax, total, amount_paid, payment_method, sold_at)"
            " SELECT (SELECT max(id) + 1 FROM sales), tenant_id, storefront_id, user_id,"
            " 'NEW-' || (SELECT max(id) + 1 FROM sales), sale_type, 'completed', 2.50, 0, 0, 2.50, 2.50,"
            " payment_method, sold_at FROM sales WHERE tenant_id = %s AND sold_at >= '2026-10-10'"
            " ORDER BY id LIMIT 1 RETURNING id",
            (TENANT,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO sale_items (id, tenant_id, sale_id, product_id, quantity, unit_price, unit_cost,"
            " discount, line_total) SELECT max(id) + 1, %s, %s, %s, 1, 2.50, 1.00, 0, 2.50 FROM sale_items",
            (TENANT, sale, product),
        )
        conn.execute(
            "INSERT INTO customers (id, tenant_id, name, customer_type, credit_limit, is_active, is_blocked,"
            " created_at) SELECT max(id) + 1, %s, 'Committed mid-read ' || (max(id) + 1), 'business', 100,"
            " true, false, '2026-10-15 12:00:00+00' FROM customers",
            (TENANT,),
        )


def test_every_read_in_one_block_sees_the_source_as_of_its_start(live_source: str) -> None:
    source = SourceDatabase(url=live_source)
    with source.tenant_reads(TENANT) as reads:
        assert reads.snapshot is not None
        before = reads.read(SALES).item()
        commit_a_new_sale_product_and_customer(live_source)
        outside = reads_outside_a_snapshot(live_source, TENANT)
        assert outside.read(SALES).item() == before + 1  # committed, and visible outside
        assert reads.read(SALES).item() == before
        assert pl.concat(reads.read_batches(SALES)).item() == before  # the COPY path, batched
        with ThreadPoolExecutor(max_workers=2) as pool:  # connections of their own, at once
            at_once = [pool.submit(reads.read, SALES) for _ in range(2)]
            assert [read.result().item() for read in at_once] == [before, before]
    with source.tenant_reads(TENANT) as later:
        assert later.read(SALES).item() == before + 1


def test_a_snapshot_whose_block_has_ended_is_refused_clearly(live_source: str) -> None:
    source = SourceDatabase(url=live_source)
    with source.tenant_reads(TENANT) as reads:
        pass
    with pytest.raises(SourceUnavailable, match=f"no longer has snapshot {reads.snapshot}"):
        reads.read(SALES)
    with pytest.raises(ValueError, match="not a PostgreSQL snapshot id"):
        read_frame(SourceUrl(live_source), SALES, {"tenant": TENANT}, tenant=TENANT, snapshot="1'; DROP")


@dataclass(frozen=True)
class CommitsAfterTheFirstRead(TenantReads):
    """The reads an asset gets, with another session committing right after the first of them (the
    tenant row the window is built from), before any of the dataset's own statements."""

    reads_so_far: list[sa.Select] = field(default_factory=list)

    def read(self, stmt: sa.Select, **params) -> pl.DataFrame:
        frame = super().read(stmt, **params)
        self.reads_so_far.append(stmt)
        if len(self.reads_so_far) == 1:
            commit_a_new_sale_product_and_customer(self.url.raw)
        return frame


class SourceWithAWriterBesideIt(SourceDatabase):
    @contextlib.contextmanager
    def tenant_reads(self, tenant: str) -> Iterator[TenantReads]:
        with super().tenant_reads(tenant) as reads:
            yield CommitsAfterTheFirstRead(reads.url, reads.tenant, reads.snapshot)


def committed_by_the_writer(url: str) -> tuple[list[int], list[str], list[str]]:
    """The sales, product SKUs and customer names the writer has committed so far, oldest first."""
    with psycopg.connect(url) as conn:
        return tuple(
            [row[0] for row in conn.execute(sql).fetchall()]
            for sql in (
                "SELECT id FROM sales WHERE receipt_number LIKE 'NEW-%' ORDER BY id",
                "SELECT sku FROM products WHERE name = 'Committed mid-read' ORDER BY id",
                "SELECT name FROM customers WHERE name LIKE 'Committed mid-read%' ORDER BY id",
            )
        )


def materialize_beside_a_writer(url: str, asset: str, root: Path) -> pl.DataFrame:
    result = dg.materialize(
        dataset_assets,
        selection=[asset],
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceWithAWriterBesideIt(url=url),
            "dataset_io_manager": DatasetParquetIOManager(root=str(root)),
        },
    )
    assert result.success
    return pl.read_parquet(root / TENANT / "data" / asset / f"{MONTH}.parquet")


def test_a_streamed_dataset_leaves_out_a_sale_committed_while_it_reads(
    live_source: str, tmp_path: Path
) -> None:
    """sale_items reads its lines batch by batch while products and storefronts are read on a thread:
    a new product sold after the reads began must be in none of them, rather than its line being
    read and then dropped (or kept) by a lookup that happened to see a different moment."""
    sales_before, _, _ = committed_by_the_writer(live_source)
    items = materialize_beside_a_writer(live_source, "sale_items", tmp_path)
    sales_after, skus_after, _ = committed_by_the_writer(live_source)
    assert len(sales_after) == len(sales_before) + 1  # the writer committed during the materialization
    assert items.height > 0
    assert sales_after[-1] not in items["sale_id"].to_list()
    assert skus_after[-1] not in items["sku"].to_list()


def test_a_whole_dataset_leaves_out_a_customer_committed_while_it_reads(
    live_source: str, tmp_path: Path
) -> None:
    _, _, customers_before = committed_by_the_writer(live_source)
    customers = materialize_beside_a_writer(live_source, "customers", tmp_path)
    _, _, customers_after = committed_by_the_writer(live_source)
    assert len(customers_after) == len(customers_before) + 1  # created in October, so in October's list
    assert customers.height > 0
    assert customers_after[-1] not in customers["name"].to_list()


def test_an_adhoc_export_reads_all_its_datasets_in_one_snapshot(live_source: str, tmp_path: Path) -> None:
    """The sales workbook holds the sales and their lines: both from the moment the export began."""
    sales_before, _, _ = committed_by_the_writer(live_source)
    result = adhoc_export.execute_in_process(
        run_config={
            "ops": {
                "run_adhoc_export": {
                    "config": {
                        "tenant": TENANT,
                        "dataset": "sales",
                        "formats": ["xlsx"],
                        "date_from": "2026-10-01",
                        "date_to": "2026-10-31",
                    }
                }
            }
        },
        resources={
            "source": SourceWithAWriterBesideIt(url=live_source),
            "artifacts": ArtifactStore(root=str(tmp_path)),
            "history": ExportHistory(url=live_source),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    sales_after, _, _ = committed_by_the_writer(live_source)
    assert len(sales_after) == len(sales_before) + 1
    workbook = openpyxl.load_workbook(next((tmp_path / TENANT / "adhoc" / result.run_id).glob("*.xlsx")))
    sale_ids = {}
    for title in ("Sales", "Line Items"):
        header, *rows = workbook[title].iter_rows(values_only=True)
        sale_ids[title] = [row[header.index("Sale ID")] for row in rows]
    assert sale_ids["Sales"] and sale_ids["Line Items"]
    assert sales_after[-1] not in sale_ids["Sales"] + sale_ids["Line Items"]


def commit_a_sale_with_its_lines(url: str, receipt: str) -> None:
    """Another session rings up a completed October sale of two products (receipt ``receipt``), its
    lines and its totals in one transaction; once only, however often it is asked."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT 1 FROM sales WHERE receipt_number = %s", (receipt,)).fetchone():
            return
        sale = conn.execute(
            "INSERT INTO sales (id, tenant_id, storefront_id, user_id, receipt_number, sale_type, status,"
            " subtotal, discount, tax, total, amount_paid, payment_method, sold_at)"
            " SELECT (SELECT max(id) + 1 FROM sales), tenant_id, storefront_id, user_id, %s, sale_type,"
            " 'completed', 0, 0, 0, 0, 0, payment_method, sold_at FROM sales"
            " WHERE tenant_id = %s AND sold_at >= '2026-10-10' ORDER BY id LIMIT 1 RETURNING id",
            (receipt, TENANT),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO sale_items (id, tenant_id, sale_id, product_id, quantity, unit_price, unit_cost,"
            " discount, line_total)"
            " SELECT (SELECT max(id) FROM sale_items) + row_number() OVER (ORDER BY id), tenant_id, %s, id,"
            " row_number() OVER (ORDER BY id) + 1, unit_price, unit_cost, 0,"
            " (row_number() OVER (ORDER BY id) + 1) * unit_price"
            " FROM products WHERE tenant_id = %s ORDER BY id LIMIT 2",
            (sale, TENANT),
        )
        conn.execute(
            "UPDATE sales SET subtotal = lines.total, total = lines.total, amount_paid = lines.total"
            " FROM (SELECT sum(line_total) AS total FROM sale_items WHERE sale_id = %s) AS lines"
            " WHERE id = %s",
            (sale, sale),
        )


def main_table(stmt: sa.Select) -> sa.FromClause:
    """The table a statement reads rows of: the leftmost of its first FROM."""
    table = stmt.get_final_froms()[0]
    while isinstance(table, sa.Join):
        table = table.left
    return table


@dataclass(frozen=True)
class CommitsASaleBeforeTheLinesAreRead(TenantReads):
    """The reads a run gets, with another session committing a sale and its lines just before the
    first statement reading line items runs: between the ``sales`` and ``sale_items`` reads, in either
    order."""

    receipt: str = ""

    def read(self, stmt: sa.Select, **params) -> pl.DataFrame:
        self.before(stmt)
        return super().read(stmt, **params)

    def read_batches(self, stmt: sa.Select, **params) -> Iterator[pl.DataFrame]:
        self.before(stmt)
        yield from super().read_batches(stmt, **params)

    def before(self, stmt: sa.Select) -> None:
        if main_table(stmt) is schema.sale_items:
            commit_a_sale_with_its_lines(self.url.raw, self.receipt)


class SourceTakingASaleMidRun(SourceDatabase):
    receipt: str

    @contextlib.contextmanager
    def tenant_reads(self, tenant: str) -> Iterator[TenantReads]:
        with super().tenant_reads(tenant) as reads:
            yield CommitsASaleBeforeTheLinesAreRead(
                reads.url, reads.tenant, reads.snapshot, receipt=self.receipt
            )


@dataclass(frozen=True)
class SaleFigures:
    lines: int
    units: int
    amount: Decimal  # the sale's subtotal; on the Line Items sheet, the sum of its line totals
    cogs: Decimal | None  # completed sales only


def sheet(workbook: openpyxl.Workbook, title: str, dataset: str) -> list[dict[str, object]]:
    """The sheet's rows keyed by the dataset's column names (its header shows their labels)."""
    by_label = {label: name for name, label in DATASETS_BY_NAME[dataset].labels.items()}
    header, *rows = workbook[title].iter_rows(values_only=True)
    return [{by_label[label]: value for label, value in zip(header, row, strict=True)} for row in rows]


def money(value: object) -> Decimal:
    return Decimal(str(value))  # cells hold numbers; their shortest repr is the cents as stored


def sales_workbook_figures(path: Path) -> tuple[dict[int, SaleFigures], dict[int, SaleFigures]]:
    """Per sale id, its figures as the Sales sheet states them and as its Line Items add up."""
    workbook = openpyxl.load_workbook(path)
    sales = {
        row["sale_id"]: SaleFigures(
            row["item_count"],
            row["quantity"],
            money(row["subtotal"]),
            money(row["cogs"]) if row["status"] == "completed" else None,
        )
        for row in sheet(workbook, "Sales", "sales")
    }
    lines: dict[int, list[dict[str, object]]] = {}
    for row in sheet(workbook, "Line Items", "sale_items"):
        lines.setdefault(row["sale_id"], []).append(row)
    added_up = {
        sale_id: SaleFigures(
            len(rows),
            sum(row["quantity"] for row in rows),
            sum((money(row["line_total"]) for row in rows), Decimal(0)),
            sum((money(row["cogs"]) for row in rows), Decimal(0))
            if rows[0]["status"] == "completed"
            else None,
        )
        for sale_id, rows in lines.items()
    }
    workbook.close()
    return sales, added_up


SALES_WORKBOOK_RUN = dg.AssetSelection.groups("datasets") | dg.AssetSelection.assets("sales_xlsx")


def sales_workbook_job() -> dg.JobDefinition:
    """Every dataset of a partition and the sales workbook rendered from them, as a job each step's
    process can rebuild (the multiprocess executor runs each step in a process of its own), with a
    source that takes a sale while the datasets are read."""
    return dg.Definitions(
        assets=[*dataset_assets, *export_assets],
        jobs=[dg.define_asset_job("sales_workbook", selection=SALES_WORKBOOK_RUN)],
        resources={
            "source": SourceTakingASaleMidRun.configure_at_launch(),
            "dataset_io_manager": DatasetParquetIOManager.configure_at_launch(),
            "artifacts": ArtifactStore.configure_at_launch(),
            "history": ExportHistory.configure_at_launch(),
        },
    ).resolve_job_def("sales_workbook")


def export_the_sales_workbook(
    instance: dg.DagsterInstance, executor: str, url: str, receipt: str, root: Path
) -> Path:
    """Run ``sales_workbook_job`` for the partition with ``executor``; the workbook's path."""
    run_config = {
        "execution": {"config": {executor: {}}},
        "resources": {
            "source": {"config": {"url": url, "receipt": receipt}},
            "dataset_io_manager": {"config": {"root": str(root)}},
            "artifacts": {"config": {"root": str(root)}},
            "history": {"config": {"url": url}},
        },
    }
    with dg.execute_job(
        dg.reconstructable(sales_workbook_job),
        instance=instance,
        run_config=run_config,
        tags={"dagster/partition": PARTITION},
    ) as result:
        assert result.success
    return root / export_key(TENANT, "sales", MONTH, "xlsx")


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_sale_committed_between_the_sales_and_line_items_reads_is_in_neither_sheet(
    live_source: str, tmp_path: Path, executor: str
) -> None:
    """One run of a partition reads all its datasets at one moment, whether its steps share a process
    or not: a sale committed between the sales and line items reads is in neither sheet of the sales
    workbook, and the two sheets reconcile; the next run has it in both."""
    receipt = f"MID-RUN-{uuid.uuid4().hex[:8]}"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, [TENANT])
        path = export_the_sales_workbook(instance, executor, live_source, receipt, tmp_path / "first")
        with psycopg.connect(live_source) as conn:
            sale, amount, cogs, lines, units = conn.execute(
                "SELECT s.id, sum(i.line_total), sum(i.quantity * i.unit_cost), count(*),"
                " sum(i.quantity)::int FROM sales s JOIN sale_items i ON i.sale_id = s.id"
                " WHERE s.receipt_number = %s GROUP BY s.id",
                (receipt,),
            ).fetchone()
        assert lines == 2  # the writer committed during the run

        sales, added_up = sales_workbook_figures(path)
        assert sales and set(sales) == set(added_up)
        assert sales == added_up
        assert sale not in sales  # the run's one moment came before the sale

        # The same source again: the sale is committed already, so this run reads it like any other.
        path = export_the_sales_workbook(instance, "in_process", live_source, receipt, tmp_path / "next")
    sales, added_up = sales_workbook_figures(path)
    assert sales[sale] == added_up[sale] == SaleFigures(lines, units, amount, cogs)
    assert set(sales) == set(added_up)
    assert sales == added_up


def reads_table(stmt: sa.Select, table: sa.Table) -> bool:
    return any(element is table for element in sa.sql.visitors.iterate(stmt))


@dataclass(frozen=True)
class RefusesTheLedger(TenantReads):
    """Reads whose rows of the ledger's journal lines turn out not to fit the schema."""

    def read(self, stmt: sa.Select, **params) -> pl.DataFrame:
        self.refuse_the_ledger(stmt)
        return super().read(stmt, **params)

    def read_batches(self, stmt: sa.Select, **params) -> Iterator[pl.DataFrame]:
        self.refuse_the_ledger(stmt)
        yield from super().read_batches(stmt, **params)

    def refuse_the_ledger(self, stmt: sa.Select) -> None:
        if reads_table(stmt, schema.journal_lines):
            raise InvalidSourceData("journal line 7 has an amount that does not fit NUMERIC(18, 2)")


class SourceWithABadLedger(SourceDatabase):
    @contextlib.contextmanager
    def tenant_reads(self, tenant: str) -> Iterator[TenantReads]:
        with super().tenant_reads(tenant) as reads:
            yield RefusesTheLedger(reads.url, reads.tenant, reads.snapshot)


def test_a_run_whose_ledger_cannot_be_read_stores_none_of_the_datasets(
    live_source: str, tmp_path: Path
) -> None:
    """The datasets read before the ledger are of the run's moment too: storing them alone would leave
    the partition with datasets of two moments, so none is stored, and the failure names the dataset."""
    result = dg.materialize(
        dataset_assets,
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={
            "source": SourceWithABadLedger(url=live_source),
            "dataset_io_manager": DatasetParquetIOManager(root=str(tmp_path)),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error
    assert "journal line 7" in failure.to_string()
    assert f"reading dataset bills of partition {PARTITION}" in failure.to_string()
    assert not result.get_asset_materialization_events()
    assert not list(tmp_path.rglob("*"))
