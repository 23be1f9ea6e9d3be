"""The download link an export's materialization records, with the artifacts in a local folder (the
default), is a signed link the API serves without a bearer token: the very file, verified, whole or
one range; a tampered link answers the API's one 404 and an expired one 410, neither naming the file."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from export_platform.api.config import ApiConfig
from export_platform.storage.layout import export_key
from export_platform.storage.signed_links import LinkSigner
from export_platform_tests.support.api_server import serving
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.linked_exports import LinkedExport, linked_sales_csv
from export_platform_tests.support.seed_plan import MONTH, TENANT

KEY = export_key(TENANT, "sales", MONTH, "csv")
NAME = KEY.rsplit("/", 1)[1]


def sign(export: LinkedExport, key: str = KEY, expires_in: int = 60, secret: bytes | None = None) -> str:
    """A link to ``key`` signed as the platform signs them (with ``secret``, another platform's)."""
    return LinkSigner(secret or export.secret).link(export.api, key, int(time.time()) + expires_in)


@pytest.fixture(scope="module")
def signed(testbed: ApiTestbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkedExport]:
    """acme's October sales CSV exported into a local folder while the API serves it."""
    with linked_sales_csv(testbed.source_url, tmp_path_factory.mktemp("signed")) as export:
        yield export


def test_the_metadata_link_downloads_the_file_without_a_token(signed: LinkedExport) -> None:
    assert signed.link.startswith(f"{signed.api}/v1/downloads/{KEY}?expires=")
    response = httpx.get(signed.link)
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).hexdigest() == signed.artifact.sha256
    assert len(response.content) == signed.artifact.size
    assert response.headers["etag"] == f'"{signed.artifact.sha256}"'
    assert response.headers["content-disposition"] == f'attachment; filename="{NAME}"'
    assert response.headers["content-type"] == signed.artifact.content_type


def test_the_link_resumes_by_range(signed: LinkedExport) -> None:
    whole = httpx.get(signed.link).content
    etag = f'"{signed.artifact.sha256}"'
    first = httpx.get(signed.link, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == whole[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    rest = httpx.get(signed.link, headers={"Range": "bytes=100-", "If-Range": etag})
    assert rest.status_code == 206 and first.content + rest.content == whole
    changed = httpx.get(signed.link, headers={"Range": "bytes=100-", "If-Range": '"another"'})
    assert changed.status_code == 200 and changed.content == whole


def assert_refused(response: httpx.Response, status: int, error_code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error_code"] == error_code
    for detail in (TENANT, "sales", MONTH, "csv", "/tmp", "Traceback"):
        assert detail not in response.text


def test_a_tampered_link_is_not_found_and_an_expired_one_gone(signed: LinkedExport) -> None:
    url = urlsplit(signed.link)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    path = f"{signed.api}{url.path}"
    flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    globex = export_key("globex", "sales", MONTH, "csv")
    tampered = [
        httpx.get(path, params={**query, "signature": flipped}),
        httpx.get(path, params={**query, "expires": str(int(query["expires"]) + 1)}),
        httpx.get(path, params={"expires": query["expires"]}),
        httpx.get(path),
        httpx.get(signed.link.replace(f"/{KEY}?", f"/{globex}?")),
        httpx.get(sign(signed, secret=b"another secret, another platform!")),
    ]
    not_found = tampered[0].content
    for response in tampered:
        assert_refused(response, 404, "not_found")
        assert response.content == not_found
    # Signed by the platform for a file that was never published: the same 404.
    never_published = httpx.get(sign(signed, export_key(TENANT, "sales", "2026-09", "csv")))
    assert_refused(never_published, 404, "not_found")
    assert never_published.content == not_found

    assert_refused(httpx.get(sign(signed, expires_in=-1)), 410, "link_expired")
    assert httpx.get(sign(signed, expires_in=60)).status_code == 200


def test_a_link_is_refused_once_the_file_no_longer_matches_its_manifest(signed: LinkedExport) -> None:
    stored = Path(signed.artifact.location)
    original = stored.read_bytes()
    try:
        stored.write_bytes(original.replace(b"\n", b"\r", 1))
        response = httpx.get(signed.link)
        assert response.status_code == 500 and response.json()["error_code"] == "artifact_integrity"
    finally:
        stored.write_bytes(original)
    assert httpx.get(signed.link).content == original


def test_a_link_opened_too_often_answers_429_without_holding_back_other_links(
    signed: LinkedExport, testbed: ApiTestbed
) -> None:
    config = ApiConfig(
        source_url=testbed.source_url,
        artifact_root=signed.root,
        link_secret=signed.secret,
        requests_per_minute=6,
        burst=2,
    )
    with serving(config) as api:
        link = signed.link.replace(signed.api, api)
        answers = [httpx.get(link).status_code for _ in range(2)]
        limited = httpx.get(link)
        another = httpx.get(sign(signed, expires_in=120).replace(signed.api, api))
    assert answers == [200, 200] and another.status_code == 200
    assert limited.status_code == 429 and limited.json()["error_code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 10  # one request comes back every 10 s
    assert KEY not in limited.text and NAME not in limited.text
