"""The API tests' testbed, and the API serving it from a real uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from export_platform_tests.support.api_server import serving
from export_platform_tests.support.api_testbed import ApiTestbed, build_testbed


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> ApiTestbed:
    return build_testbed(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def api(testbed: ApiTestbed) -> Iterator[str]:
    """The API's base URL, with rate limits the tests never reach unless they mean to."""
    with serving(testbed.config(requests_per_minute=60_000, burst=10_000)) as base:
        yield base
