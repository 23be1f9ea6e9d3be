"""Two runs materialize the same export of the same partition at the same moment, each with a
different delimiter, so their files differ: what ends up under the key is one of the two whole files,
and the partition's manifest describes exactly that file."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import export_key
from export_platform_tests.support.big_source import BIG_PARTITION, BigSource
from export_platform_tests.support.export_runs import run_export

pytestmark = pytest.mark.faults

KEY = export_key("acme", "sale_items", "2026-10", "csv")
ROUNDS = 2


def export_with(
    delimiter: str, source_url: str, data_root: str, artifact_root: str, barrier, results
) -> None:
    barrier.wait(timeout=120)
    result = run_export(
        "sale_items_csv",
        BIG_PARTITION,
        source_url=source_url,
        data_root=data_root,
        artifact_root=artifact_root,
        run_config={"ops": {"sale_items_csv": {"config": {"delimiter": delimiter}}}},
    )
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    results.put((delimiter, result.success, metadata["sha256"].value, metadata["file_size_bytes"].value))


@pytest.mark.parametrize("store", ["local", "s3"])
def test_same_partition_twice_at_once(
    store: str, big_source: BigSource, big_line_items: Path, tmp_path: Path, request
) -> None:
    root = (
        str(tmp_path / "artifacts") if store == "local" else f"s3://{request.getfixturevalue('s3_bucket')}/p"
    )
    artifacts = ArtifactStore(root=root)
    context = multiprocessing.get_context("spawn")  # Polars' thread pool does not survive a fork
    for _ in range(ROUNDS):
        barrier, results = context.Barrier(2), context.Queue()
        processes = [
            context.Process(
                target=export_with, args=(d, big_source.url, str(big_line_items), root, barrier, results)
            )
            for d in (",", ";")
        ]
        for process in processes:
            process.start()
        runs = sorted(results.get(timeout=300)[1:] for _ in processes)
        for process in processes:
            process.join(timeout=60)
        assert [success for success, _, _ in runs] == [True, True]
        assert runs[0][1] != runs[1][1]  # two different files were published
        final = tmp_path / "final.csv"
        artifacts.download(KEY, final)
        body = final.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        assert (digest, len(body)) in [(sha, size) for _, sha, size in runs]  # one whole file, not a mix
        entry = json.loads(artifacts.store.read_bytes(KEY.rsplit("/", 1)[0] + "/manifest.json"))["files"][
            "csv"
        ]
        assert (entry["sha256"], entry["size"]) == (digest, len(body))
