"""The eight datasets as tenant x month partitioned Dagster assets, materialized by one step that reads
them all from one snapshot of the source."""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl

from export_platform import settings
from export_platform.asset_metadata import OWNER, PREVIEW_ROWS, code_references
from export_platform.datasets import DATASETS
from export_platform.datasets import checks as dataset_checks
from export_platform.datasets.headlines import headlines
from export_platform.datasets.source_database import SourceDatabase
from export_platform.datasets.spec import DatasetSpec
from export_platform.datasets.window import ReportWindow
from export_platform.partitions import TenantMonth, parse_partition_key, tenant_month_partitions
from export_platform.retries import TRANSIENT_RETRY_POLICY, retry_only_transient_errors
from export_platform.storage.spool import ParquetSpool

DATASET_GROUP = "datasets"


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


def headline_metadata(dataset: str, frame: pl.LazyFrame) -> dict[str, dg.MetadataValue]:
    """The dataset's headline figures as numeric metadata, so the asset's plots in the UI show each
    one's trend over a tenant's months. Amounts become floats there (the plots' type); the exact
    figures stay in the Parquet and the reports. A figure with no value (a margin without revenue)
    is left out rather than plotted as 0."""
    return {
        name: dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(float(value))
        for name, value in headlines(dataset, frame).items()
        if value is not None
    }


def dataset_asset_spec(spec: DatasetSpec) -> dg.AssetSpec:
    """What the UI shows of one dataset: its own asset, though one step materializes them together."""
    return dg.AssetSpec(
        key=spec.name,
        description=spec.description,
        group_name=DATASET_GROUP,
        kinds={"polars", settings.source_kind(), "parquet"},
        owners=[OWNER],
        tags={"dataset_kind": spec.kind},
        metadata={"key": ", ".join(spec.key), **code_references(("query and rules", spec.build))},
    ).with_io_manager_key("dataset_io_manager")


@dataclass(frozen=True)
class ReadDataset:
    """One dataset of the partition, read and written to a local spool, waiting to be stored."""

    spec: DatasetSpec
    spool: ParquetSpool
    read_s: float


def read_in_one_snapshot(
    source: SourceDatabase, partition: TenantMonth, specs: Sequence[DatasetSpec]
) -> tuple[ReportWindow, list[ReadDataset]]:
    """Read every dataset of ``specs`` for ``partition`` as the source stood at one moment.

    All of them, with the tenant row their window comes from, read inside one ``tenant_reads`` block,
    so the sales and their line items (or customers and the sales on their credit) agree even while
    the source takes new sales. Each dataset goes to a local Parquet spool as it is read, streamed ones
    a batch at a time, so memory holds one dataset (or one batch) at a time however many are read;
    nothing is stored until every read has succeeded."""
    done: list[ReadDataset] = []
    try:
        with retry_only_transient_errors(), source.tenant_reads(partition.tenant) as reads:
            window = reads.window(partition.month)
            for spec in specs:
                started = time.perf_counter()
                try:
                    if spec.stream is None:
                        spool = ParquetSpool.write_frame(spec.compute(reads.read, window))
                    else:
                        spool = ParquetSpool.write(spec.compute_batches(reads.read_batches, window))
                except Exception as exc:
                    exc.add_note(f"reading dataset {spec.name} of partition {partition.key}")
                    raise
                done.append(ReadDataset(spec, spool, time.perf_counter() - started))
    except BaseException:
        for dataset in done:
            dataset.spool.discard()
        raise
    return window, done


def materialization(
    context: dg.AssetExecutionContext,
    partition: TenantMonth,
    window: ReportWindow,
    dataset: ReadDataset,
    across: Mapping[str, list[dg.AssetCheckResult]],
) -> dg.MaterializeResult:
    """The dataset's spool for the IO manager to store, with its metadata and selected checks, read
    back from the spool lazily (a streamed partition is never held whole), and those of ``across``,
    the checks comparing it with another dataset, which were run before anything was stored."""
    spec, frame = dataset.spec, dataset.spool.scan()
    key = dg.AssetKey(spec.name)
    rows = frame.select(pl.len()).collect().item()
    context.log.info(f"{spec.name} {partition.key}: {rows} rows, read in {dataset.read_s:.2f}s")
    selected = {check.name for check in context.selected_asset_check_keys if check.asset_key == key}
    checks = [
        check._replace(asset_key=key)
        for check in [*dataset_checks.evaluate(spec, frame, partition.tenant), *across.get(spec.name, [])]
        if check.check_name in selected
    ]
    return dg.MaterializeResult(
        asset_key=key,
        value=dataset.spool,
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": column_schema(frame.collect_schema(), spec),
            "preview": dg.MetadataValue.md(markdown_preview(frame.head(PREVIEW_ROWS).collect())),
            "tenant": partition.tenant,
            "month": partition.month,
            "as_of": window.as_of_utc.isoformat(),
            "streamed": spec.stream is not None,
            "read_s": dg.MetadataValue.float(round(dataset.read_s, 3)),
            **headline_metadata(spec.name, frame),
        },
        check_results=checks,
    )


def build_datasets_asset(specs: Sequence[DatasetSpec]) -> dg.AssetsDefinition:
    """One step materializing whichever of ``specs`` a run selects, all read in one snapshot.

    One step rather than an asset per dataset because a snapshot lives only as long as the
    transaction that exported it, on one connection of one process: under the multiprocess executor
    each step is a process of its own, and no step could hold a snapshot open for the next. A
    transient failure retries the step, which reads every selected dataset again at a new moment."""

    @dg.multi_asset(
        name="datasets",
        description="Reads the selected datasets of one tenant's month from one snapshot of the source.",
        specs=[dataset_asset_spec(spec) for spec in specs],
        check_specs=[check for spec in specs for check in dataset_checks.check_specs(spec)],
        partitions_def=tenant_month_partitions,
        can_subset=True,
        retry_policy=TRANSIENT_RETRY_POLICY,
    )
    def datasets(context: dg.AssetExecutionContext, source: SourceDatabase):
        partition = parse_partition_key(context.partition_key)
        selected = [spec for spec in specs if dg.AssetKey(spec.name) in context.selected_asset_keys]
        compared = dataset_checks.compared_datasets(context.selected_asset_check_keys)
        only_compared = [spec for spec in specs if spec.name in compared and spec not in selected]
        window, read = read_in_one_snapshot(source, partition, [*selected, *only_compared])
        try:  # before anything is stored: the IO manager moves each spool away as it stores it
            across = dataset_checks.evaluate_across({d.spec.name: d.spool.scan() for d in read})
        except BaseException:
            for dataset in read:
                dataset.spool.discard()
            raise
        for dataset in read[len(selected) :]:  # read for a check only, never stored
            dataset.spool.discard()
        stored = read[: len(selected)]
        for position, dataset in enumerate(stored):
            try:
                yield materialization(context, partition, window, dataset, across)
            except BaseException:  # the IO manager removes the spools it was handed; these it never was
                for unstored in stored[position:]:
                    unstored.spool.discard()
                raise

    return datasets


dataset_assets = [build_datasets_asset(DATASETS)]

datasets_job = dg.define_asset_job(
    "datasets_job",
    selection=dg.AssetSelection.groups(DATASET_GROUP),
    description="Materialize all eight datasets for one tenant's month.",
    executor_def=dg.in_process_executor,
)
