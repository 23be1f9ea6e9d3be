"""Dagster as the Export API reaches it: the webserver's GraphQL API at ``EXPORT_DAGSTER_URL``, through
``dagster-graphql``'s client, to launch runs and read them back.

Every run the API launches carries ``TENANT_TAG``, and a run is only ever read back for one tenant:
another tenant's run id answers exactly as a missing one. A webserver that does not answer, or that
will not launch (its code location failed to load, say), is a 503: the API stays up, and the reason
goes to the API's log for the operators, not to the client.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from export_platform.api.problems import Problem, unavailable
from export_platform.source.connection import first_line

log = logging.getLogger(__name__)

TENANT_TAG = "export_platform/tenant"
"""The tenant a run the API launched belongs to."""
LOCATION, REPOSITORY = "export_platform", "__repository__"
"""Where the platform's jobs are: the workspace's code location and its one repository."""
TIMEOUT_SECONDS = 30
_RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

RUN_QUERY = """
query ExportRun($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId jobName status tags { key value } creationTime startTime endTime }
    ... on PythonError { message }
  }
}
"""
RUNS_QUERY = """
query ExportRuns($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId } }
    ... on PythonError { message }
  }
}
"""


@dataclass(frozen=True)
class DagsterRun:
    run_id: str
    job_name: str
    status: str
    """Dagster's run status: QUEUED, NOT_STARTED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, ..."""
    tags: dict[str, str]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _instant(epoch: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else None


class _Client(DagsterGraphQLClient):
    def query(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A query of the API's own, sent, and its transport errors raised, as the client's own are."""
        return self._execute(text, variables)


def _unavailable(doing: str, reason: BaseException | str | None) -> Problem:
    """The 503, after logging why: for a client error, the error under it (the connection refused,
    the timeout), as the client's own message repeats the whole query."""
    if isinstance(reason, BaseException):
        reason = reason.__cause__ or reason
        reason = f"{type(reason).__name__}: {first_line(reason)}"
    log.warning("Dagster could not %s: %s", doing, reason)
    return unavailable("dagster_unavailable", "export runner (Dagster)")


class DagsterRuns:
    """The runs of one Dagster webserver. Made per request: the client under it is not meant to be
    shared between threads."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self._client = _Client(
            parts.hostname or "",
            port_number=parts.port,
            use_https=parts.scheme == "https",
            path_prefix=parts.path.rstrip("/"),
            timeout=TIMEOUT_SECONDS,
        )

    def launch(
        self,
        job_name: str,
        *,
        run_config: Mapping[str, Any],
        tags: Mapping[str, str],
        asset_selection: Sequence[str] | None = None,
    ) -> str:
        """Launch ``job_name`` of the platform's code location and return the new run's id."""
        try:
            return self._client.submit_job_execution(
                job_name,
                repository_location_name=LOCATION,
                repository_name=REPOSITORY,
                run_config=run_config,
                tags=dict(tags),
                asset_selection=asset_selection,
            )
        except DagsterGraphQLClientError as exc:
            raise _unavailable(f"launch {job_name}", exc) from None

    def run(self, run_id: str) -> DagsterRun | None:
        """Run ``run_id``, whoever's it is; None when Dagster has none of that id. Callers answer only
        the tenant's own (``tenants_run``)."""
        if not _RUN_ID.fullmatch(run_id):
            return None
        answer = self._query(RUN_QUERY, {"runId": run_id})["runOrError"]
        if answer["__typename"] == "RunNotFoundError":
            return None
        if answer["__typename"] != "Run":
            raise _unavailable("read a run", answer.get("message"))
        tags = {tag["key"]: tag["value"] for tag in answer["tags"]}
        return DagsterRun(
            run_id=answer["runId"],
            job_name=answer["jobName"],
            status=answer["status"],
            tags=tags,
            created_at=dt.datetime.fromtimestamp(answer["creationTime"], dt.UTC),
            started_at=_instant(answer["startTime"]),
            finished_at=_instant(answer["endTime"]),
        )

    def any_run_tagged(self, tags: Mapping[str, str]) -> bool:
        """Whether a run carrying every one of ``tags`` exists."""
        wanted = [{"key": key, "value": value} for key, value in tags.items()]
        answer = self._query(RUNS_QUERY, {"filter": {"tags": wanted}})["runsOrError"]
        if answer["__typename"] != "Runs":
            raise _unavailable("list runs", answer.get("message"))
        return bool(answer["results"])

    def _query(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._client.query(text, variables)
        except DagsterGraphQLClientError as exc:
            raise _unavailable("answer a query", exc) from None


def tenants_run(run: DagsterRun | None, tenant: str) -> DagsterRun | None:
    """``run`` if it is ``tenant``'s; None otherwise, as for a run that does not exist."""
    return run if run is not None and run.tags.get(TENANT_TAG) == tenant else None
