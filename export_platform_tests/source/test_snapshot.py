"""One snapshot per materialization: every statement of a dataset sees the PostgreSQL source as of the
moment its reads began, even while other sessions commit new sales, products and customers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import psycopg
import pytest
import sqlalchemy as sa

from export_platform.datasets.assets import dataset_assets
from export_platform.datasets.spec import tenant_of
from export_platform.errors import SourceUnavailable
from export_platform.exports.adhoc import adhoc_export
from export_platform.resources import SourceDatabase, TenantReads
from export_platform.source import schema
from export_platform.source.database import SourceUrl, read_frame
from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.io_manager import DatasetParquetIOManager
from export_platform.tracking.history import ExportHistory
from export_platform_tests.conftest import (
    MONTH,
    PARTITION,
    TENANT,
    create_database,
    database_url,
    drop_database,
    ephemeral_instance,
)

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
        assert source.read(SALES, tenant=TENANT).item() == before + 1  # committed, and visible outside
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
        [a for a in dataset_assets if a.key.path == [asset]],
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
