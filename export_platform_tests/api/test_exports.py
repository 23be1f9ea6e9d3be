"""Ad-hoc exports over the API with no Dagster behind it: a request the job's rules refuse answers 422
naming each field before any run is launched, a tenant or user the source lacks 404, an unreachable
Dagster 503 while the API stays up; and a finished export's file downloads verified against its
history entry, resumed by byte range, to its own tenant only. (test_export_run.py launches real runs.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from export_platform.api.config import ApiConfig
from export_platform.catalog import EXPORT_FORMATS
from export_platform.tracking.api_tokens import ApiTokenStore
from export_platform.tracking.history import ExportHistory
from export_platform_tests.support.adhoc_files import AdhocFile, publish_adhoc_file
from export_platform_tests.support.api_server import bearer, serving
from export_platform_tests.support.api_testbed import ACME_USER, GLOBEX_USER, PUBLIC_URL, ApiTestbed
from export_platform_tests.support.seed_plan import OTHER_TENANT, TENANT

VALID = {"dataset": "sales", "formats": ["csv"], "date_from": "2026-10-01", "date_to": "2026-10-31"}


def post_export(api: str, token: str, body: dict, tenant: str = TENANT) -> httpx.Response:
    return httpx.post(f"{api}/v1/tenants/{tenant}/exports", json=body, headers=bearer(token))


@pytest.mark.parametrize(
    ("body", "refusals"),
    [
        (
            {**VALID, "date_to": "2027-10-01"},
            [("body.date_to", "a range covers at most a year, so date_to must be before 2027-10-01")],
        ),
        ({**VALID, "date_from": "2026-11-01"}, [("body.date_from", "must not be after date_to")]),
        ({**VALID, "date_from": "2026-02-30"}, [("body.date_from", "'2026-02-30' is not a date")]),
        (
            {"dataset": "sales", "date_from": "2026-10-01"},
            [("body.date_to", "give both date_from and date_to")],
        ),
        ({**VALID, "date_preset": "this_year"}, [("body.date_preset", "use either a preset or date_from")]),
        ({"dataset": "bills", "storefront": "Main"}, [("body.storefront", "does not apply to bills")]),
        (
            {"dataset": "sale_items", "formats": ["pdf"]},
            [("body.formats", "sale_items is not exported as pdf")],
        ),
        ({"dataset": "sales", "formats": []}, [("body.formats", "choose at least one")]),
        (
            {
                "dataset": "customers",
                "date_from": "10/01/2026",
                "date_to": "2026-10-31",
                "min_balance": "1e400",
            },
            [("body.date_from", "is not a date"), ("body.min_balance", "not an amount in cents")],
        ),
        ({"dataset": "payroll"}, [("body.dataset", "Input should be")]),
        ({**VALID, "delimiter": "|"}, [("body.delimiter", "Input should be")]),
        ({**VALID, "tenant": OTHER_TENANT}, [("body.tenant", "Extra inputs are not permitted")]),
        (
            {**VALID, "requested_by": "schedule:Monthly"},
            [("body.requested_by", "Extra inputs are not permitted")],
        ),
    ],
)
def test_a_request_the_rules_refuse_answers_422_naming_each_field(
    api: str, testbed: ApiTestbed, body: dict, refusals: list[tuple[str, str]]
) -> None:
    before = len(testbed.history.entries(tenant=TENANT, limit=10_000))
    response = post_export(api, testbed.tokens["exporter"], body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["error_code"] == "invalid_request"
    assert [error["field"] for error in problem["errors"]] == [field for field, _ in refusals]
    for error, (_, message) in zip(problem["errors"], refusals, strict=True):
        assert message in error["message"], error
    # The refusal is in the history, one failed row per format asked for, with the user and the fields.
    rows = testbed.history.entries(tenant=TENANT, limit=10_000)
    asked = [f for f in body.get("formats", []) if f in EXPORT_FORMATS.get(body.get("dataset"), ())]
    added = rows[: len(rows) - before]
    assert sorted(r["format"] for r in added) == sorted(asked or [""])
    for row in added:
        assert (row["status"], row["user_id"], row["run_id"]) == ("failed", ACME_USER, None)
        assert all(field in row["error_message"] for field, _ in refusals), row["error_message"]
        assert json.loads(row["filters"]) == {"refused_fields": sorted({field for field, _ in refusals})}
    testbed.forget(added)


def test_a_tenant_or_user_the_source_lacks_answers_404(api: str, testbed: ApiTestbed) -> None:
    store = testbed.token_store
    gone_tenant = store.issue(tenant="initech", user_id=ACME_USER, role="exporter", expires_in_days=1).bearer
    gone_user = store.issue(tenant=TENANT, user_id=GLOBEX_USER, role="exporter", expires_in_days=1).bearer
    for token, tenant in ((gone_tenant, "initech"), (gone_user, TENANT)):
        response = post_export(api, token, VALID, tenant=tenant)
        assert response.status_code == 404 and response.json()["error_code"] == "not_found", response.text


def test_an_unreachable_dagster_answers_503_and_the_api_stays_up(api: str, testbed: ApiTestbed) -> None:
    launched = post_export(api, testbed.tokens["exporter"], VALID)
    status = httpx.get(
        f"{api}/v1/tenants/{TENANT}/exports/{uuid.uuid4()}", headers=bearer(testbed.tokens["viewer"])
    )
    for response in (launched, status):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "30"
        assert response.json()["error_code"] == "dagster_unavailable"
        assert testbed.dagster_url.rsplit(":", 1)[-1] not in response.text
    history = httpx.get(f"{api}/v1/tenants/{TENANT}/history", headers=bearer(testbed.tokens["viewer"]))
    assert history.status_code == 200


def test_an_export_id_that_is_no_run_id_answers_404_without_asking_dagster(
    api: str, testbed: ApiTestbed
) -> None:
    for export_id in ("not-a-run", uuid.uuid4().hex, "..%2Fhistory"):
        response = httpx.get(
            f"{api}/v1/tenants/{TENANT}/exports/{export_id}", headers=bearer(testbed.tokens["viewer"])
        )
        assert response.status_code == 404, (export_id, response.text)


@dataclass(frozen=True)
class Published:
    api: str
    config: ApiConfig
    files: dict[str, AdhocFile]  # tenant -> its file
    viewers: dict[str, dict[str, str]]  # tenant -> a viewer's headers


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """An ad-hoc file of acme and one of globex, in a platform database of their own: the shared
    testbed's history stays as its tests count it."""
    folder = tmp_path_factory.mktemp("adhoc")
    config = ApiConfig(
        source_url=f"sqlite:///{folder / 'platform.db'}",
        artifact_root=str(folder / "artifacts"),
        public_url=PUBLIC_URL,
    )
    history = ExportHistory(url=config.source_url)
    users = {TENANT: ACME_USER, OTHER_TENANT: GLOBEX_USER}
    files = {
        tenant: publish_adhoc_file(history, config.artifact_root, tenant, user)
        for tenant, user in users.items()
    }
    tokens = ApiTokenStore(history.engine)
    viewers = {
        tenant: bearer(tokens.issue(tenant=tenant, user_id=user, role="viewer", expires_in_days=1).bearer)
        for tenant, user in users.items()
    }
    with serving(config) as api:
        yield Published(api, config, files, viewers)


def file_url(api: str, tenant: str, run_id: str, name: str) -> str:
    return f"{api}/v1/tenants/{tenant}/exports/{run_id}/files/{name}"


def test_an_adhoc_file_downloads_verified_and_resumes(published: Published) -> None:
    adhoc, viewer = published.files[TENANT], published.viewers[TENANT]
    url = file_url(published.api, TENANT, adhoc.run_id, adhoc.name)
    whole = httpx.get(url, headers=viewer)
    assert whole.status_code == 200 and whole.content == adhoc.body
    assert whole.headers["etag"] == f'"{hashlib.sha256(adhoc.body).hexdigest()}"'
    assert whole.headers["content-type"] == "text/csv; charset=utf-8"
    assert whole.headers["content-disposition"] == f'attachment; filename="{adhoc.name}"'
    cut = len(adhoc.body) // 3
    first = httpx.get(url, headers={**viewer, "Range": f"bytes=0-{cut - 1}"})
    rest = httpx.get(url, headers={**viewer, "Range": f"bytes={cut}-", "If-Range": first.headers["etag"]})
    assert (first.status_code, rest.status_code) == (206, 206)
    assert rest.headers["content-range"] == f"bytes {cut}-{len(adhoc.body) - 1}/{len(adhoc.body)}"
    assert first.content + rest.content == adhoc.body


def test_an_adhoc_file_is_its_tenants_only(published: Published) -> None:
    api, ours, theirs = published.api, published.files[TENANT], published.files[OTHER_TENANT]
    unseen = [
        file_url(api, TENANT, theirs.run_id, theirs.name),  # globex's file, asked for as acme's
        file_url(api, TENANT, theirs.run_id, ours.name),
        file_url(api, TENANT, ours.run_id, theirs.name),
        file_url(api, TENANT, str(uuid.uuid4()), ours.name),  # no such run
        file_url(api, TENANT, ours.run_id, "inventory.csv"),  # no such file
        file_url(api, TENANT, ours.run_id, "..%2F..%2Fexports"),
    ]
    answers = [httpx.get(url, headers=published.viewers[TENANT]) for url in unseen]
    assert [a.status_code for a in answers] == [404] * len(unseen)
    assert len({a.content for a in answers}) == 1
    own = httpx.get(
        file_url(api, OTHER_TENANT, theirs.run_id, theirs.name), headers=published.viewers[OTHER_TENANT]
    )
    assert own.status_code == 200 and own.content == theirs.body


def test_an_adhoc_file_that_differs_from_its_history_entry_is_not_served(
    published: Published, tmp_path: Path
) -> None:
    adhoc, root = published.files[TENANT], tmp_path / "artifacts"
    shutil.copytree(published.config.artifact_root, root)
    (root / TENANT / "adhoc" / adhoc.run_id / adhoc.name).write_bytes(adhoc.body.replace(b"7", b"8", 1))
    with serving(dataclasses.replace(published.config, artifact_root=str(root))) as base:
        response = httpx.get(
            file_url(base, TENANT, adhoc.run_id, adhoc.name), headers=published.viewers[TENANT]
        )
    assert response.status_code == 500 and response.json()["error_code"] == "artifact_integrity"
    assert str(root) not in response.text
