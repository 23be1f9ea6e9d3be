"""bench/cost_per_tenant.py's projection of a monthly close from per-tenant figures: the machine-hours
are every tenant's CPU seconds over 3600, and the wall on the platform's cores is bounded below by the
longest single run (one run per tenant). Given figures, no run."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from export_platform_tests.support.project import PROJECT

spec = importlib.util.spec_from_file_location(
    "bench_cost_per_tenant", PROJECT / "bench" / "cost_per_tenant.py"
)
cost = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cost)

SMALL = {"items": 2_000, "wall_s": 30.0, "cpu_s": 20.0, "postgres_cpu_s": 0.5}
MID = {"items": 300_000, "wall_s": 120.0, "cpu_s": 90.0, "postgres_cpu_s": 4.0}
BIG = {"items": 1_000_000, "wall_s": 400.0, "cpu_s": 300.0, "postgres_cpu_s": 12.0}


def test_machine_hours_are_every_tenants_cpu_seconds_over_3600() -> None:
    close = cost.project_close([SMALL, MID, BIG], [900, 90, 10], cores=2)

    # 900 x 20.5 + 90 x 94 + 10 x 312 = 18,450 + 8,460 + 3,120 = 30,030 CPU-s
    assert close["tenants"] == 1000
    assert close["run_cpu_s"] == 900 * 20 + 90 * 90 + 10 * 300 == 29_100
    assert close["postgres_cpu_s"] == 900 * 0.5 + 90 * 4 + 10 * 12 == 930
    assert close["machine_hours"] == round(30_030 / 3600, 2) == 8.34
    assert close["run_cpu_hours"] == round(29_100 / 3600, 2)
    # The platform's CPU on 2 cores: 14,550 s, far above the longest run (400 s).
    assert close["wall_hours"] == round(29_100 / 2 / 3600, 2) == 4.04
    assert close["serial_wall_hours"] == round((900 * 30 + 90 * 120 + 10 * 400) / 3600, 2)
    assert close["mix"] == [
        {"items": 2_000, "tenants": 900},
        {"items": 300_000, "tenants": 90},
        {"items": 1_000_000, "tenants": 10},
    ]


def test_the_wall_is_never_shorter_than_the_longest_run() -> None:
    # Two big tenants on many cores: their CPU over 16 cores is 37.5 s, but each run is one process.
    close = cost.project_close([SMALL, BIG], [0, 2], cores=16)

    assert close["longest_run_s"] == 400.0
    assert close["wall_hours"] == round(400 / 3600, 2)
    # A size without tenants counts for nothing, its longer wall included.
    assert cost.project_close([BIG, SMALL], [0, 3], cores=16)["longest_run_s"] == 30.0


def test_one_tenant_count_per_size() -> None:
    with pytest.raises(ValueError, match="2 tenant counts for 3 sizes"):
        cost.project_close([SMALL, MID, BIG], [900, 100])
