"""A run that cannot produce a correct dataset fails with a clear message and stores nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from export_platform.datasets import DATASETS_BY_NAME
from export_platform.datasets.assets import build_datasets_asset
from export_platform_tests.support.materialize import ephemeral_instance, materialize_datasets
from export_platform_tests.support.seed_plan import MONTH

SALES = [build_datasets_asset([DATASETS_BY_NAME["sales"]])]


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


def retries(result) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_transient_failures_are_retried_and_others_are_not(sqlite_source: str, tmp_path: Path) -> None:
    unreachable = materialize_datasets(
        "postgresql://postgres@127.0.0.1:1/nowhere", str(tmp_path), f"{MONTH}|acme", assets=SALES
    )
    assert not unreachable.success and retries(unreachable) == 3
    unknown = materialize_datasets(
        sqlite_source, str(tmp_path), f"{MONTH}|ghost", assets=SALES, instance=ephemeral_instance("ghost")
    )
    assert not unknown.success and retries(unknown) == 0


def test_which_errors_are_transient() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from export_platform.errors import (
        DeliveryRefused,
        SourceUnavailable,
        TransientDeliveryError,
        UnknownTenant,
    )
    from export_platform.retries import is_transient

    def client_error(status: int) -> ClientError:
        return ClientError(
            {"Error": {"Code": str(status)}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
        )

    assert is_transient(SourceUnavailable("down"))
    assert is_transient(TransientDeliveryError("451"))
    assert is_transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert is_transient(client_error(503))
    assert not is_transient(client_error(404))
    assert not is_transient(UnknownTenant("ghost"))
    assert not is_transient(DeliveryRefused("550"))
    assert not is_transient(ValueError("bad config"))
