"""The code location loads, and its public names stay what downstream users rely on."""

from __future__ import annotations

import dagster as dg

from export_platform.definitions import defs
from export_platform.partitions import tenant_month_partitions, tenant_partitions
from export_platform_tests.support.asset_keys import DATASET_KEYS, EXPORT_KEYS


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_keys_groups_and_partitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted([*DATASET_KEYS, *EXPORT_KEYS, "weekly_export_summary"])
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        group = "datasets" if name in DATASET_KEYS else "exports" if name in EXPORT_KEYS else "automation"
        assert node.group_name == group
        assert node.partitions_def == (
            tenant_month_partitions if group != "automation" else tenant_partitions
        )
        assert node.description and len(node.description) > 80
        assert node.owners == ["team:data-platform"]


def test_jobs_and_sensors() -> None:
    assert defs.resolve_job_def("datasets_job").partitions_def is not None
    assert defs.resolve_job_def("exports_job").description
    assert defs.resolve_job_def("adhoc_export").description
    assert defs.resolve_job_def("retention_cleanup").description
    assert defs.resolve_schedule_def("retention_cleanup_daily").cron_schedule == "30 3 * * *"
    assert defs.resolve_sensor_def("tenant_sensor").description
    assert defs.resolve_sensor_def("export_schedule_sensor").description
    assert defs.resolve_sensor_def("export_delivery_sensor").description
    assert defs.resolve_sensor_def("export_failure_notice_sensor").description
    assert defs.resolve_sensor_def("unfinished_export_sensor").description
