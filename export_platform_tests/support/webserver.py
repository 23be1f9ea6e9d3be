"""A real Dagster webserver on loopback for the UI tests, the workspace test and the README's
screenshot: a temporary DAGSTER_HOME with the tenants added, the project's workspace.yaml, and GraphQL
against it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from export_platform.partitions import TENANT_DIMENSION
from export_platform_tests.support.ports import free_port
from export_platform_tests.support.project import BIN, PROJECT

STARTUP_SECONDS = 120
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


def instance_home(home: Path, tenants: list[str]) -> dg.DagsterInstance:
    """An instance in ``home`` (SQLite storage) that knows the tenants. The webserver launches runs at
    once (DefaultRunCoordinator), so no daemon is needed to run what the UI launches."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    instance = dg.DagsterInstance.from_config(str(home))
    instance.add_dynamic_partitions(TENANT_DIMENSION, tenants)
    return instance


@contextlib.contextmanager
def webserver(env: dict[str, str], log: Path) -> Iterator[str]:
    """``dagster-webserver -w workspace.yaml`` in its own process group; yields its base URL once
    ``/server_info`` answers, and stops the group afterwards."""
    port = free_port()
    command = [str(BIN / "dagster-webserver"), "-w", "workspace.yaml"]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"webserver did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    """The ``data`` of a GraphQL answer; an answer with errors fails the test with them."""
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    answer = json.load(urllib.request.urlopen(request, timeout=60))
    if answer.get("errors"):
        raise AssertionError(answer["errors"])
    return answer["data"]
