"""The README's UI command, ``dg dev -w workspace.yaml`` from the project folder, starts both code
locations without a warning: no instance file in the project folder that Dagster would ignore (the
production one lives in deploy/), no deprecation or load error."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from export_platform_tests.support.ports import free_port
from export_platform_tests.support.project import BIN, PROJECT

pytestmark = pytest.mark.browser  # starts a webserver, like the other UI tests

STARTUP_SECONDS = 120
STOP_SECONDS = 90


def test_dg_dev_starts_without_warnings(tmp_path: Path, sqlite_source: str) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT / "dagster.local.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXPORT_SOURCE_URL": sqlite_source,
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    log = tmp_path / "dev.log"
    with log.open("w") as output:
        dev = subprocess.Popen(
            [str(BIN / "dg"), "dev", "-w", "workspace.yaml", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).read()
                break
            except OSError:
                assert dev.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        time.sleep(3)  # the daemon's first lines come after the webserver answers
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:  # on a busy machine dg dev can take more than a minute to stop its daemon and webserver
            dev.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(timeout=10)
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if " - WARNING - " in line or "Warning:" in line]
    assert warnings == [], "\n".join(warnings)
    assert not (PROJECT / "dagster.yaml").exists()
