"""The API's limits: a body over the size limit answers 413, a token over its rate 429 with
Retry-After (others' tokens unaffected), and a platform database that stops answering 503, the API
staying up and answering again once the database is back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from sqlalchemy.engine import make_url

from export_platform.api.config import ApiConfig
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ACME_USER, ApiTestbed
from export_platform_tests.support.cuttable_proxy import CuttableProxy
from export_platform_tests.support.postgres import create_database, database_url, drop_database
from export_platform_tests.support.seed_plan import TENANT


def test_a_body_over_the_limit_answers_413(api: str, testbed: ApiTestbed) -> None:
    url, admin = f"{api}/v1/tenants/{TENANT}/notifications", bearer(testbed.tokens["admin"])
    limit = ApiConfig.max_body_bytes
    padded = {"sender_name": "x", "allowed_domains": ["acme.example"] * (limit // 14)}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds all the same
        yield b'{"allowed_domains": ['
        for _ in range(limit // 16):
            yield b'"acme.example", '
        yield b'"acme.example"]}'

    declared = httpx.put(url, json=padded, headers=admin)
    streamed = httpx.put(url, content=chunks(), headers={**admin, "Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error_code"] == "body_too_large"
    assert httpx.get(url, headers=admin).status_code == 200


def test_a_token_over_its_rate_answers_429_with_retry_after(testbed: ApiTestbed) -> None:
    with serving(testbed.config(requests_per_minute=6, burst=3)) as base:
        url = f"{base}/v1/tenants/{TENANT}/history/recent"
        answers = [httpx.get(url, headers=bearer(testbed.tokens["viewer"])).status_code for _ in range(3)]
        limited = httpx.get(url, headers=bearer(testbed.tokens["viewer"]))
        other = httpx.get(url, headers=bearer(testbed.tokens["admin"]))
    assert answers == [200, 200, 200] and other.status_code == 200
    assert limited.status_code == 429 and limited.json()["error_code"] == "rate_limited"
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 10  # one request comes back every 10 s


def test_an_unreachable_platform_database_answers_503_and_the_api_stays_up() -> None:
    name = create_database()
    direct = make_url(database_url(name))
    proxy = CuttableProxy(direct.port or 5432)
    proxy.up()
    url = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        token = ApiTokenStore(ExportHistory(url=url).engine).issue(
            tenant=TENANT, user_id=ACME_USER, role="viewer", expires_in_days=1
        )
        config = ApiConfig(source_url=url, artifact_root="/nonexistent", public_url="https://x.example")
        with serving(config) as base, httpx.Client(headers=bearer(token.bearer)) as client:
            history = f"{base}/v1/tenants/{TENANT}/history"
            assert client.get(history).status_code == 200
            proxy.down()
            down = [client.get(history), client.get(f"{base}/v1/tenants/{TENANT}/notifications")]
            proxy.up()
            back = client.get(history)
        for response in down:
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["error_code"] == "platform_unavailable"
            assert response.headers["retry-after"] == "30"
            assert str(proxy.port) not in response.text and name not in response.text
        assert back.status_code == 200
    finally:
        proxy.down()
        drop_database(name)
