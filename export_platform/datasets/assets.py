"""One factory turns each ``DatasetSpec`` into a tenant x month partitioned Dagster asset."""

import inspect
import time
import warnings
from collections.abc import Callable

import dagster as dg
import polars as pl

from export_platform.datasets import DATASETS
from export_platform.datasets import checks as dataset_checks
from export_platform.datasets.spec import DatasetSpec
from export_platform.partitions import parse_partition_key, tenant_month_partitions
from export_platform.resources import SourceDatabase
from export_platform.retries import TRANSIENT_RETRY_POLICY, retry_only_transient_errors
from export_platform.storage.spool import ParquetSpool

DATASET_GROUP = "datasets"
OWNER = "team:data-platform"
PREVIEW_ROWS = 10


def code_references(*targets: tuple[str, Callable]) -> dict[str, dg.CodeReferencesMetadataValue]:
    """Asset metadata that links the UI to the functions holding an asset's logic, besides the asset's
    own body (which ``dg.with_source_code_references`` adds in the definitions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # stable in use; only marked beta by Dagster
        references = [
            dg.LocalFileCodeReference(
                file_path=inspect.getsourcefile(fn), line_number=inspect.getsourcelines(fn)[1], label=label
            )
            for label, fn in targets
        ]
        return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=references)}


def column_schema(schema: pl.Schema, spec: DatasetSpec) -> dg.TableSchema:
    descriptions = {c.name: c.description for c in spec.columns}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name) or None)
            for name, dtype in schema.items()
        ]
    )


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_cols=-1,
        tbl_rows=rows,
        fmt_str_lengths=40,
    ):
        return str(frame.head(rows))


def build_dataset_asset(spec: DatasetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        description=spec.description,
        group_name=DATASET_GROUP,
        partitions_def=tenant_month_partitions,
        io_manager_key="dataset_io_manager",
        check_specs=dataset_checks.check_specs(spec),
        kinds={"polars", "postgres", "parquet"},
        owners=[OWNER],
        tags={"dataset_kind": spec.kind},
        metadata={"key": ", ".join(spec.key), **code_references(("query and rules", spec.build))},
        retry_policy=TRANSIENT_RETRY_POLICY,
    )
    def dataset_asset(context: dg.AssetExecutionContext, source: SourceDatabase):
        started = time.perf_counter()
        partition = parse_partition_key(context.partition_key)
        # One snapshot for the tenant row and every statement of the dataset, so they agree.
        with retry_only_transient_errors(), source.tenant_reads(partition.tenant) as reads:
            window = reads.window(partition.month)
            if spec.stream is None:
                value = spec.compute(reads.read, window)
                frame = value.lazy()
            else:  # written a batch at a time; checks and metadata read the file back lazily
                value = ParquetSpool.write(spec.compute_batches(reads.read_batches, window))
                frame = value.scan()
        read_s = time.perf_counter() - started
        try:
            rows = frame.select(pl.len()).collect().item()
            context.log.info(
                f"{spec.name} {partition.key}: {rows} rows in {time.perf_counter() - started:.2f}s"
            )
            return dg.MaterializeResult(
                value=value,
                metadata={
                    "dagster/row_count": rows,
                    "dagster/column_schema": column_schema(frame.collect_schema(), spec),
                    "preview": dg.MetadataValue.md(markdown_preview(frame.head(PREVIEW_ROWS).collect())),
                    "tenant": partition.tenant,
                    "month": partition.month,
                    "as_of": window.as_of_utc.isoformat(),
                    "streamed": spec.stream is not None,
                    "read_s": dg.MetadataValue.float(round(read_s, 3)),
                },
                check_results=dataset_checks.evaluate(spec, frame, partition.tenant),
            )
        except BaseException:
            if isinstance(value, ParquetSpool):
                value.discard()
            raise

    return dataset_asset


dataset_assets = [build_dataset_asset(spec) for spec in DATASETS]

datasets_job = dg.define_asset_job(
    "datasets_job",
    selection=dg.AssetSelection.groups(DATASET_GROUP),
    partitions_def=tenant_month_partitions,
    description="Materialize all seven datasets for one tenant's month.",
    executor_def=dg.in_process_executor,
)
