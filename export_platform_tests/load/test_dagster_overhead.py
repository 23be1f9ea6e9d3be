"""bench/dagster_overhead.py's floor is a trivial code location of our exports_job's shape: the same
ops, asset keys, dependencies and checks, read from our definitions so that it follows them (the
bench itself refuses a run of it that fails)."""

from __future__ import annotations

import importlib.util
import sys

import dagster as dg

from export_platform.definitions import defs
from export_platform_tests.support.project import PROJECT

spec = importlib.util.spec_from_file_location(
    "bench_dagster_overhead", PROJECT / "bench" / "dagster_overhead.py"
)
overhead = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(overhead)


def dependencies(definitions: dg.Definitions) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    layer = definitions.resolve_job_def("exports_job").asset_layer
    keys = set(layer.selected_asset_keys)
    return {key: set(layer.asset_graph.get(key).parent_keys) & keys for key in keys}


def test_the_trivial_location_has_our_jobs_shape() -> None:
    trivial = overhead.trivial_definitions(overhead.trivial_shape())

    assert overhead.shape(trivial) == overhead.shape(defs) == {"ops": 23, "assets": 30, "checks": 43}
    assert dependencies(trivial) == dependencies(defs)
