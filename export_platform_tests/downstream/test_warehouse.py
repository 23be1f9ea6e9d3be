"""The downstream example location: its tables depend on the platform's CSV exports, are requested by
declarative automation when an export partition lands, and load the CSVs back with their types."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
from polars.testing import assert_frame_equal

from export_platform.partitions import TENANT_DIMENSION
from export_platform.render.csv import FORMULA_TRIGGER
from export_platform.reports.tables import export_columns
from export_platform_downstream.definitions import CSV_DATASETS, Warehouse, defs, table_assets
from export_platform_tests.support.materialize import Exported, Materialized, ephemeral_instance
from export_platform_tests.support.seed_plan import MONTH, OTHER_TENANT, PARTITION, TENANT


def test_tables_depend_on_the_csv_exports() -> None:
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert sorted(CSV_DATASETS) == sorted(
        ["sales", "sale_items", "customers", "inventory", "audit_log", "bills", "accounts", "invoices"]
    )
    for dataset in CSV_DATASETS:
        node = graph.get(dg.AssetKey(f"warehouse_{dataset}"))
        assert node.parent_keys == {dg.AssetKey(f"{dataset}_csv")}
        assert node.partitions_def == graph.get(dg.AssetKey(f"{dataset}_csv")).partitions_def
        assert node.automation_condition is not None and node.group_name == "warehouse"
        assert not graph.get(dg.AssetKey(f"{dataset}_csv")).is_materializable  # defined by the platform


def test_automation_requests_the_partition_whose_export_landed() -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANT_DIMENSION, [TENANT, OTHER_TENANT])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # nothing exported yet
    old_month = "2026-08|" + TENANT  # not the latest month: plain eager() would ignore it
    for partition in (PARTITION, old_month):
        instance.report_runless_asset_event(dg.AssetMaterialization("sales_csv", partition=partition))
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {
        r.key.to_user_string(): set(r.true_subset.expensively_compute_partition_keys())
        for r in second.results
        if r.true_subset.size
    }
    assert requested == {"warehouse_sales": {PARTITION, old_month}}
    third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
    assert third.total_requested == 0  # each landing is handled once


def test_tables_hold_the_datasets_rows_with_their_types(
    exported: Exported, materialized_sqlite: Materialized, tmp_path: Path
) -> None:
    result = dg.materialize(
        [*table_assets],
        partition_key=PARTITION,
        instance=ephemeral_instance(TENANT),
        resources={"warehouse": Warehouse(root=str(tmp_path), artifact_root=exported.root)},
    )
    assert result.success
    guarded = 0
    for dataset in CSV_DATASETS:
        table = pl.scan_parquet(tmp_path / dataset / "**" / "*.parquet", hive_partitioning=True).collect()
        assert set(table["tenant"]) == {TENANT} and set(table["month"]) == {MONTH}
        expected = materialized_sqlite.frame(dataset)
        if dataset == "accounts":  # the exports list active accounts (every root of the seed is active)
            expected = expected.filter(pl.col("is_active"))
        expected = expected.select(export_columns(dataset))
        expected = expected.with_columns(
            pl.col(name).dt.convert_time_zone("UTC")
            for name, dtype in expected.schema.items()
            if isinstance(dtype, pl.Datetime)
        )
        assert_frame_equal(table.drop("tenant", "month"), expected)
        guarded += sum(
            expected[name].str.contains(FORMULA_TRIGGER).sum()
            for name, dtype in expected.schema.items()
            if dtype == pl.String
        )
        event = next(
            e
            for e in result.get_asset_materialization_events()
            if e.asset_key.path == [f"warehouse_{dataset}"]
        )
        assert event.materialization.metadata["dagster/row_count"].value == expected.height
        assert event.materialization.metadata["source_uri"].value.startswith(f"s3://{exported.bucket}/")
    assert guarded > 0  # the seed has formula-like text, and it came back without the CSV's guard
