"""The code location loads, and its public names stay what downstream users rely on."""

from __future__ import annotations

import dagster as dg

from export_platform.definitions import defs
from export_platform.partitions import tenant_month_partitions


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_keys_groups_and_partitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == ["accounts", "audit_log", "bills", "customers", "inventory", "sale_items", "sales"]
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == "datasets"
        assert node.partitions_def == tenant_month_partitions
        assert node.description and len(node.description) > 80
        assert node.owners == ["team:data-platform"]


def test_jobs_and_sensors() -> None:
    assert defs.resolve_job_def("datasets_job").partitions_def is not None
    assert defs.resolve_sensor_def("tenant_sensor").description
