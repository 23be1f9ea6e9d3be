"""Concurrent manifest updates lose no entry, in a local folder (processes) and in S3 (threads against
the S3 server): each writer publishes its own file and records it at the same moment as the others."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from pathlib import Path

import pytest

from export_platform.storage.artifacts import ArtifactStore, PublishedFile
from export_platform.storage.layout import export_folder

pytestmark = pytest.mark.faults

WRITERS = 8
ROUNDS = 5


def publish_and_record(root: str, month: str, writer: int, barrier) -> None:
    """Publish ``report-<writer>.bin`` into the partition's folder, wait for the others, then record it."""
    artifacts = ArtifactStore(root=root)
    fmt = f"f{writer}"
    key = f"{export_folder('acme', 'sales', month)}/report-{writer}.bin"
    body = f"writer {writer} of {month}\n".encode() * 100
    with artifacts.publishing_to(key) as path:
        path.write_bytes(body)
    published = PublishedFile(
        fmt, key.rsplit("/", 1)[1], key, key, len(body), hashlib.sha256(body).hexdigest(), writer, "x", month
    )
    barrier.wait(timeout=60)
    assert artifacts.record("acme", "sales", month, published)


def months() -> list[str]:
    return [f"2026-{m:02d}" for m in range(1, ROUNDS + 1)]


def assert_every_entry_kept(artifacts: ArtifactStore) -> None:
    for month in months():
        manifest = artifacts.manifest("acme", "sales", month)
        assert sorted(manifest["files"]) == sorted(f"f{w}" for w in range(WRITERS)), month
        for writer in range(WRITERS):
            entry = manifest["files"][f"f{writer}"]
            assert artifacts.store.sha256(entry["key"]) == entry["sha256"]


def test_local_manifest_keeps_every_concurrent_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for month in months():
        barrier = context.Barrier(WRITERS)
        processes = [
            context.Process(target=publish_and_record, args=(str(tmp_path), month, w, barrier))
            for w in range(WRITERS)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [p.exitcode for p in processes] == [0] * WRITERS
    assert_every_entry_kept(ArtifactStore(root=str(tmp_path)))
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_s3_manifest_keeps_every_concurrent_entry(s3_bucket: str) -> None:
    root = f"s3://{s3_bucket}/platform"
    errors: list[BaseException] = []

    def writer(month: str, number: int, barrier: threading.Barrier) -> None:
        try:
            publish_and_record(root, month, number, barrier)
        except BaseException as exc:
            errors.append(exc)

    for month in months():
        barrier = threading.Barrier(WRITERS)
        threads = [threading.Thread(target=writer, args=(month, w, barrier)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
    assert_every_entry_kept(ArtifactStore(root=root))


def test_entry_is_left_out_when_another_run_published_over_the_file(tmp_path: Path) -> None:
    artifacts = ArtifactStore(root=str(tmp_path))
    key = f"{export_folder('acme', 'sales', '2026-10')}/sales_acme_2026-10.csv"

    def publish(body: bytes) -> PublishedFile:
        with artifacts.publishing_to(key) as path:
            path.write_bytes(body)
        sha = hashlib.sha256(body).hexdigest()
        return PublishedFile("csv", "sales_acme_2026-10.csv", key, key, len(body), sha, 1, "text/csv", "t")

    first = publish(b"first run\r\n")
    second = publish(b"second run\r\n")
    assert not artifacts.record("acme", "sales", "2026-10", first)
    assert artifacts.manifest("acme", "sales", "2026-10") is None
    assert artifacts.record("acme", "sales", "2026-10", second)
    assert artifacts.manifest("acme", "sales", "2026-10")["files"]["csv"]["sha256"] == second.sha256


@pytest.mark.parametrize("store", ["local", "s3"])
def test_update_without_change_writes_nothing(store: str, tmp_path: Path, request) -> None:
    root = str(tmp_path) if store == "local" else f"s3://{request.getfixturevalue('s3_bucket')}/p"
    artifacts = ArtifactStore(root=root)
    artifacts.store.update("acme/exports/x/manifest.json", lambda current: None)
    assert artifacts.store.read_bytes("acme/exports/x/manifest.json") is None
