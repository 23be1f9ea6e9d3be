"""An export published while the API serves it, as the default set-up has it: the run and the API share
``EXPORT_API_URL`` and the link secret, so the materialization's "download" metadata is a signed link
the API answers. For the tests of signed and compressed downloads."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from export_platform.api.config import ApiConfig
from export_platform.consumer import Artifact, latest_artifact
from export_platform_tests.support.api_server import serving
from export_platform_tests.support.materialize import materialize_exports
from export_platform_tests.support.seed_plan import MONTH, PARTITION, TENANT


@dataclass(frozen=True)
class LinkedExport:
    api: str  # the serving API's base URL
    link: str  # the materialization's "download" metadata
    artifact: Artifact
    secret: bytes  # the link secret the run and the API share
    root: str  # the artifact folder the API serves


@contextlib.contextmanager
def linked_sales_csv(
    source_url: str, folder: Path, run_config: dict[str, Any] | None = None
) -> Iterator[LinkedExport]:
    """acme's October ``sales_csv`` (with ``run_config``) exported into ``folder`` while an API serves
    it. Its history row goes to a database of its own in ``folder``, leaving the shared testbed's
    history as the other tests count it."""
    root, history_url = str(folder / "artifacts"), f"sqlite:///{folder / 'history.db'}"
    secret = secrets.token_hex(32)
    config = ApiConfig(source_url=source_url, artifact_root=root, link_secret=secret.encode())
    with serving(config) as api, pytest.MonkeyPatch.context() as environment:
        environment.setenv("EXPORT_API_URL", api)
        environment.setenv("EXPORT_LINK_SECRET", secret)
        result = materialize_exports(
            source_url,
            root,
            PARTITION,
            selection=["sales", "sales_csv"],
            run_config=run_config,
            history_url=history_url,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        [metadata] = [
            event.materialization.metadata
            for event in result.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey("sales_csv")
        ]
        assert isinstance(metadata["download"], dg.UrlMetadataValue)
        artifact = latest_artifact(TENANT, "sales", MONTH, "csv", root=root)
        yield LinkedExport(api, metadata["download"].value, artifact, secret.encode(), root)
