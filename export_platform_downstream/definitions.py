"""The downstream code location (``downstream_example`` in workspace.yaml).

Its assets depend on the platform's CSV export assets, which live in the other code location: they are
declared here as external ``AssetSpec``s with the same keys and partitions, so the UI draws one lineage
graph across both locations. Each ``warehouse_<dataset>`` partition is requested by declarative
automation as soon as the matching export partition lands, for any month (not only the latest one, as
plain ``eager()`` would), and loads the CSV, found through manifest.json and verified, into a
Parquet table partitioned by tenant and month.
"""

import os
import warnings

import dagster as dg
from pydantic import Field

from export_platform.consumer import (
    artifact_root,
    dataset_title,
    exported_datasets,
    latest_artifact,
    local_state_dir,
    object_store,
)
from export_platform.consumer.assets import export_asset_spec, parse_partition_key, tenant_month_partitions
from export_platform_downstream.warehouse import load_artifact, table_key

WAREHOUSE_ROOT_VAR = "EXPORT_WAREHOUSE_ROOT"
WAREHOUSE_GROUP = "warehouse"
CSV_DATASETS = exported_datasets("csv")
OWNER = "team:data-platform"  # the team that runs this location

# eager() without its "latest time window only" clause: a re-export of an old month reloads it too.
WHEN_EXPORT_LANDS = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())


class Warehouse(dg.ConfigurableResource):
    """Where the tables are written, and the platform's artifact root they are loaded from."""

    root: str = Field(description="Folder or s3://bucket/prefix holding the Parquet tables.")
    artifact_root: str = Field(description="The export platform's EXPORT_ARTIFACT_ROOT.")


def default_warehouse() -> Warehouse:
    root = os.environ.get(WAREHOUSE_ROOT_VAR) or str(local_state_dir() / "warehouse")
    return Warehouse(root=root, artifact_root=artifact_root())


def build_table_asset(dataset: str) -> dg.AssetsDefinition:
    title = dataset_title(dataset)

    @dg.asset(
        name=f"warehouse_{dataset}",
        description=(
            f"{title} of every tenant and month as one Parquet table, loaded from the platform's verified "
            f"CSV exports with their column types restored. Read it with "
            f"polars.scan_parquet('<warehouse>/{dataset}/**/*.parquet', hive_partitioning=True)."
        ),
        group_name=WAREHOUSE_GROUP,
        partitions_def=tenant_month_partitions,
        deps=[export_asset_spec(dataset, "csv")],
        automation_condition=WHEN_EXPORT_LANDS,
        kinds={"polars", "parquet", "csv"},
        owners=[OWNER],
    )
    def table_asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        partition = parse_partition_key(context.partition_key)
        artifact = latest_artifact(
            partition.tenant, dataset, partition.month, "csv", root=warehouse.artifact_root
        )
        frame = load_artifact(artifact)
        store = object_store(warehouse.root)
        key = table_key(dataset, partition.tenant, partition.month)
        with store.writing(key) as path:
            frame.write_parquet(path, compression="zstd")
        context.log.info(f"{artifact.uri} -> {store.uri(key)}: {frame.height} rows")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": frame.height,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()]
                ),
                "table_uri": store.uri(key),
                "source_uri": artifact.uri,
                "source_sha256": artifact.sha256,
            }
        )

    return table_asset


table_assets = [build_table_asset(dataset) for dataset in CSV_DATASETS]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # code references are marked beta by Dagster
    table_assets = dg.with_source_code_references(table_assets)

defs = dg.Definitions(
    assets=[*(export_asset_spec(dataset, "csv") for dataset in CSV_DATASETS), *table_assets],
    sensors=[
        dg.AutomationConditionSensorDefinition(
            "warehouse_automation",
            target=dg.AssetSelection.groups(WAREHOUSE_GROUP),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=30,
            description="Loads each new CSV export into its warehouse table as soon as it lands.",
        )
    ],
    executor=dg.in_process_executor,
    resources={"warehouse": default_warehouse()},
)
