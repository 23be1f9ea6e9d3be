"""A history entry over the API says which attempt of a scheduled run it is, and names the first."""

from __future__ import annotations

import httpx

from export_platform_tests.support.api_server import bearer
from export_platform_tests.support.api_testbed import ApiTestbed
from export_platform_tests.support.seed_plan import PARTITION, TENANT


def test_a_retry_names_its_attempt_and_the_first_run(api: str, testbed: ApiTestbed) -> None:
    history = testbed.history
    common = {"tenant": TENANT, "dataset": "sales", "fmt": "csv", "partition_key": PARTITION}
    retry = history.start(
        **common, requested_by="schedule:Monthly", run_id="second-run", scheduled_attempt=(2, "first-run")
    )
    manual = history.start(**common, requested_by="ana@acme.example", run_id="manual-run")
    try:
        with httpx.Client(
            base_url=f"{api}/v1/tenants/{TENANT}/", headers=bearer(testbed.tokens["viewer"])
        ) as client:
            retried = client.get(f"history/{retry}").json()
            plain = client.get(f"history/{manual}").json()
        assert (retried["attempt"], retried["first_run_id"]) == (2, "first-run")
        assert (plain["attempt"], plain["first_run_id"]) == (None, None)
    finally:
        testbed.forget([{"id": retry}, {"id": manual}])
