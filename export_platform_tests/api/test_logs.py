"""The real ``export-platform api`` command: it serves the OpenAPI document and the interactive docs,
logs one line per request naming the token by its id, and never writes a token's secret, whether the
token was good, revoked, mistyped or sent where it does not belong."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from export_platform_tests.support.api_server import api_process, bearer
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.seed_plan import MONTH, TENANT


def test_the_api_command_logs_requests_and_never_a_token(testbed: ApiTestbed, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": testbed.source_url,
        "EXPORT_ARTIFACT_ROOT": str(testbed.root),
        "EXPORT_API_URL": "https://exports.example/",
    }
    log = tmp_path / "api.log"
    viewer, tokens = testbed.tokens["viewer"], testbed.tokens
    with api_process(env, log) as base, httpx.Client(base_url=f"{base}/v1/tenants/{TENANT}/") as client:
        schema = httpx.get(f"{base}/v1/openapi.json").json()
        docs = httpx.get(f"{base}/docs")
        history = client.get("history", headers=bearer(viewer))
        client.get(f"artifacts/sales/{MONTH}/sales_{TENANT}_{MONTH}.csv", headers=bearer(viewer))
        for name in ("revoked", "expired", "other_tenant"):
            client.get("history", headers=bearer(tokens[name]))
        client.get("history", headers=bearer(viewer[:-2]))  # mistyped
        client.get("history", params={"access_token": viewer})  # in the query string, where it does not go
        client.put("notifications", headers=bearer(viewer), content=viewer.encode())  # in a body
    text = log.read_text()

    assert (
        "/v1/tenants/{tenant}/history" in schema["paths"] and schema["info"]["title"] == "Export Platform API"
    )
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert history.status_code == 200
    viewer_id = viewer.split("_")[1]
    assert re.search(rf'"GET /v1/tenants/{TENANT}/history" 200 \d+ ms token {viewer_id}', text), text
    assert f'"GET /v1/tenants/{TENANT}/history" 401' in text and "Uvicorn running on" in text
    for token in tokens.values():
        secret = token.split("_", 2)[2]
        assert secret not in text and secret[:12] not in text
    assert "access_token" not in text
