"""workspace.yaml loads the code locations in a real webserver, which serves the assets over GraphQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from export_platform_tests.support.asset_keys import DATASET_KEYS, EXPORT_KEYS
from export_platform_tests.support.webserver import graphql, webserver

pytestmark = pytest.mark.browser


def test_webserver_serves_the_assets(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    with webserver(env, tmp_path / "webserver.log") as base:
        nodes = graphql(base, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    warehouse = [f"warehouse_{d}" for d in DATASET_KEYS]  # the downstream_example location
    assert sorted(n["assetKey"]["path"][0] for n in nodes) == sorted(
        [*DATASET_KEYS, *EXPORT_KEYS, "weekly_export_summary", *warehouse]
    )
    assert {n["groupName"] for n in nodes} == {"datasets", "exports", "automation", "warehouse"}
