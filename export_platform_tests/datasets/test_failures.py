"""A run that cannot produce a correct dataset fails with a clear message and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from export_platform.datasets.assets import dataset_assets
from export_platform_tests.conftest import MONTH, ephemeral_instance, materialize_datasets

SALES = [a for a in dataset_assets if a.key.to_user_string() == "sales"]


def failure_messages(result) -> str:
    return "\n".join(
        str(event.event_specific_data.error.to_string())
        for event in result.all_events
        if event.is_step_failure
    )


def test_unknown_tenant_fails_and_leaves_no_parquet(sqlite_source: str, tmp_path: Path) -> None:
    result = materialize_datasets(
        sqlite_source, str(tmp_path), f"{MONTH}|ghost", assets=SALES, instance=ephemeral_instance("ghost")
    )
    assert not result.success
    assert "unknown tenant 'ghost'" in failure_messages(result)
    assert not list(tmp_path.rglob("*.parquet")) and not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres:hunter2@127.0.0.1:1/nowhere",
            "cannot reach source database postgresql://postgres:***@127.0.0.1:1/nowhere",
        ),
        ("sqlite:////nonexistent/source.db", "source database file /nonexistent/source.db does not exist"),
    ],
)
def test_unreachable_source_fails_clearly(url: str, expected: str, tmp_path: Path) -> None:
    result = materialize_datasets(url, str(tmp_path), f"{MONTH}|acme", assets=SALES)
    assert not result.success
    messages = failure_messages(result)
    assert expected in messages
    assert "hunter2" not in messages
    assert not list(tmp_path.rglob("*"))
