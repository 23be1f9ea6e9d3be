"""Fixtures for the fault tests: a PostgreSQL source large enough that a read takes about a second,
and one month of its line items as the dataset Parquet the exports read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform_tests.support.big_source import BIG_PARTITION, BIG_PLAN, SALE_ITEMS, BigSource
from export_platform_tests.support.materialize import materialize_datasets
from export_platform_tests.support.postgres import create_database, database_url, drop_database


@pytest.fixture(scope="session")
def big_source() -> Iterator[BigSource]:
    """acme's October with ~140k line items (the sale_items CSV is ~20 MB: several multipart parts)."""
    name = create_database()
    url = database_url(name)
    seed(SourceUrl(url), BIG_PLAN)
    yield BigSource(name, url)
    drop_database(name)


@pytest.fixture(scope="session")
def big_line_items(big_source: BigSource, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sale_items dataset of ``BIG_PARTITION`` stored as Parquet under the returned root."""
    root = tmp_path_factory.mktemp("big-datasets")
    result = materialize_datasets(big_source.url, str(root), BIG_PARTITION, assets=SALE_ITEMS)
    assert result.success
    return root
