"""The command line a newcomer follows: seed, sync tenants, materialize with Dagster's own CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

BIN = Path(sys.executable).parent


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_seed_sync_and_materialize_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 'source.db'}",
        "EXPORT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    seeded = run(
        str(BIN / "export-platform"),
        "seed",
        "--tenants",
        "2",
        "--months",
        "1",
        "--sales-per-day",
        "3",
        "--end-month",
        "2026-10",
        env=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "[2/2] globex" in seeded.stdout

    synced = run(str(BIN / "export-platform"), "tenants", "sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "tenants added: acme, globex" in synced.stdout

    # The README's command for one tenant's month in every format.
    materialized = run(
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "export_platform.definitions",
        "--select",
        "group:datasets or group:exports",
        "--partition",
        "2026-10|acme",
        env=env,
    )
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    frame = pl.read_parquet(tmp_path / "artifacts" / "acme" / "data" / "sales" / "2026-10.parquet")
    assert frame.height > 0 and set(frame["tenant_id"]) == {"acme"}
    folder = tmp_path / "artifacts" / "acme" / "exports" / "sales" / "2026-10"
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "sales_acme_2026-10.csv",
        "sales_acme_2026-10.pdf",
        "sales_acme_2026-10.xlsx",
    ]
    assert not (tmp_path / "artifacts" / "globex").exists()

    listed = run(str(BIN / "export-platform"), "history", "--tenant", "acme", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if " acme " in line]
    assert len(lines) == 19 and all(" success " in line for line in lines)
    assert any("sales_pdf" in line and "sales_acme_2026-10.pdf" in line for line in lines)
    none_failed = run(str(BIN / "export-platform"), "history", "--status", "failed", env=env)
    assert none_failed.stdout.strip() == "no exports recorded with status failed"
    bad = run(str(BIN / "export-platform"), "history", "--tenant", "../globex", env=env)
    assert bad.returncode == 2 and "invalid tenant slug" in bad.stderr


def test_seed_refuses_bad_options(tmp_path: Path) -> None:
    env = {**os.environ, "EXPORT_SOURCE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    result = run(str(BIN / "export-platform"), "seed", "--tenants", "0", env=env)
    assert result.returncode == 2
    assert "tenants must be between 1 and 10000" in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_sync_requires_dagster_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    result = run(str(BIN / "export-platform"), "tenants", "sync", env=env)
    assert result.returncode == 2 and "DAGSTER_HOME is not set" in result.stderr
