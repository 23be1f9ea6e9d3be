"""What the Dagster UI shows about each definition: descriptions for analysts, kinds, owner, group and
code references on every asset, asset checks beside them, descriptions on jobs, schedules and sensors,
and a described, defaulted field for each of adhoc_export's config options."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import dagster as dg

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.checks import BELONGS_TO_TENANT, UNIQUE_KEY
from export_platform.definitions import defs
from export_platform.exports.adhoc import AdhocExportConfig
from export_platform_tests.support.asset_keys import DATASET_KEYS, EXPORT_KEYS

PACKAGE = Path(__file__).resolve().parents[2] / "export_platform"
FORMAT_KINDS = {"csv": "csv", "xlsx": "excel", "pdf": "pdf"}


def expected_kinds(name: str) -> set[str]:
    """The badges name the configured source and store: ``sqlite`` and ``file`` by default."""
    source = "postgres" if os.environ.get("EXPORT_SOURCE_URL", "").startswith("postgresql") else "sqlite"
    store = "s3" if os.environ.get("EXPORT_ARTIFACT_ROOT", "").startswith("s3://") else "file"
    if name in DATASET_KEYS:
        return {"polars", source, "parquet"}
    if name in EXPORT_KEYS:
        return {FORMAT_KINDS[name.rsplit("_", 1)[1]], store}
    return {source}


def test_every_asset_is_described_owned_grouped_and_linked_to_its_code() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node, name = graph.get(key), key.to_user_string()
        assert node.kinds == expected_kinds(name), name
        assert node.owners == ["team:data-platform"], name
        assert node.group_name in ("datasets", "exports", "automation"), name
        # Written for an analyst: whole sentences, not an identifier or a code comment.
        assert node.description.rstrip().endswith(".") and len(node.description.split()) >= 15, name
        references = node.metadata["dagster/code_references"].code_references
        files = [Path(r.file_path) for r in references]
        assert all(f.is_file() and f.is_relative_to(PACKAGE) for f in files), (name, files)
        assert all(r.line_number >= 1 for r in references), name
        if name in DATASET_KEYS:
            assert PACKAGE / "datasets" / f"{name}.py" in files, name  # the dataset's own query and rules
        if name in EXPORT_KEYS:
            renderer = {"csv": "csv.py", "xlsx": "xlsx.py", "pdf": "pdf.py"}[name.rsplit("_", 1)[1]]
            assert PACKAGE / "render" / renderer in files, name


def test_asset_checks_sit_beside_their_assets() -> None:
    graph = defs.resolve_asset_graph()
    checks_by_asset: dict[str, set[str]] = {}
    for check_key in graph.asset_check_keys:
        checks_by_asset.setdefault(check_key.asset_key.to_user_string(), set()).add(check_key.name)
    for name in EXPORT_KEYS:
        assert "artifact_matches_metadata" in checks_by_asset[name], name
    for name in DATASET_KEYS:
        assert {BELONGS_TO_TENANT, UNIQUE_KEY} <= checks_by_asset[name], name


def test_jobs_schedules_and_sensors_are_described() -> None:
    repository = defs.get_repository_def()
    jobs = [j for j in repository.get_all_jobs() if not j.name.startswith("__")]
    assert {j.name for j in jobs} >= {"datasets_job", "exports_job", "adhoc_export", "retention_cleanup"}
    for item in [*jobs, *repository.schedule_defs, *repository.sensor_defs]:
        assert item.description and len(item.description.split()) >= 5, item.name


def test_adhoc_export_launchpad_fields_have_descriptions_and_defaults() -> None:
    fields = AdhocExportConfig.to_fields_dict()
    assert set(fields) == set(AdhocExportConfig.model_fields)
    for name, field in fields.items():
        assert field.description and len(field.description.split()) >= 4, name
        assert field.is_required == (name in ("tenant", "dataset")), name
        if not field.is_required:
            assert field.default_provided, name
    assert fields["formats"].default_value == ["csv"] and fields["delimiter"].default_value == ","


def test_export_preview_is_a_table_of_what_the_file_holds() -> None:
    import polars as pl

    from export_platform.exports.assets import preview_table
    from export_platform.render.report import Table

    spec = DATASETS_BY_NAME["sales"]
    frame = pl.LazyFrame(
        {"receipt_number": ["R-1", "=cmd"], "total": [Decimal("1.50"), Decimal("-2.00")]},
        schema={"receipt_number": pl.String, "total": pl.Decimal(18, 2)},
    )
    columns = frame.collect_schema().names()
    preview = preview_table(Table.of("Sales", frame, dict(spec.labels), columns), "sales")
    assert isinstance(preview, dg.TableMetadataValue)
    labels = [c.name for c in preview.schema.columns]
    assert labels == [spec.labels["receipt_number"], spec.labels["total"]]
    assert [c.type for c in preview.schema.columns] == ["text", "money"]
    meaning = {c.name: c.description or None for c in spec.columns}
    assert [c.description for c in preview.schema.columns] == [meaning["receipt_number"], meaning["total"]]
    # Exactly as the CSV shows them: exact decimals, and the formula guard on text.
    assert [r.data for r in preview.records] == [
        dict(zip(labels, ["R-1", "1.50"], strict=True)),
        dict(zip(labels, ["'=cmd", "-2.00"], strict=True)),
    ]
