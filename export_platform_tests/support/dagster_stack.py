"""Dagster as the Export API meets it in production, for end-to-end tests: a webserver answering
GraphQL and a daemon, both on a temporary DAGSTER_HOME with the embedded instance (dagster.local.yaml,
whose queued run coordinator leaves every launched run waiting until the daemon starts it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from export_platform.partitions import TENANT_DIMENSION
from export_platform_tests.support.project import BIN, PROJECT
from export_platform_tests.support.webserver import webserver

STOP_SECONDS = 30


def dagster_home(home: Path, tenants: list[str]) -> None:
    """``home`` as a fresh DAGSTER_HOME of the embedded instance that knows ``tenants``."""
    home.mkdir(parents=True)
    shutil.copyfile(PROJECT / "dagster.local.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(TENANT_DIMENSION, tenants)


@contextlib.contextmanager
def daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """``dagster-daemon run -w workspace.yaml`` in its own process group, stopped afterwards (killed if
    it does not stop in ``STOP_SECONDS``)."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def dagster_stack(env: dict[str, str], logs: Path) -> Iterator[str]:
    """A daemon and a webserver for ``env`` (its DAGSTER_HOME made with ``dagster_home``), their logs
    in ``logs``; yields the webserver's base URL once it answers."""
    with daemon(env, logs / "daemon.log"), webserver(env, logs / "webserver.log") as base:
        yield base
