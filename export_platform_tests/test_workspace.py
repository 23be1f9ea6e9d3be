"""workspace.yaml loads the code locations in a real webserver, which serves the assets over GraphQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from export_platform_tests.conftest import free_port
from export_platform_tests.test_definitions import DATASET_KEYS, EXPORT_KEYS

PROJECT = Path(__file__).resolve().parents[1]


def test_webserver_serves_the_assets(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "webserver did not start"
                time.sleep(0.5)
        query = {"query": "{ assetNodes { assetKey { path } groupName } }"}
        request = urllib.request.Request(
            f"{base}/graphql", data=json.dumps(query).encode(), headers={"Content-Type": "application/json"}
        )
        nodes = json.load(urllib.request.urlopen(request, timeout=30))["data"]["assetNodes"]
        warehouse = [f"warehouse_{d}" for d in DATASET_KEYS]  # the downstream_example location
        assert sorted(n["assetKey"]["path"][0] for n in nodes) == sorted(
            [*DATASET_KEYS, *EXPORT_KEYS, "weekly_export_summary", *warehouse]
        )
        assert {n["groupName"] for n in nodes} == {"datasets", "exports", "automation", "warehouse"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
