"""Progress lines in the run's log while an export renders, so a long export is seen to move.

The writer runs in the step's own thread and updates a ``Progress``; a daemon thread wakes every
``every_s`` seconds and logs where it is: the table, its rows so far (of how many, when known), the
size of the file so far, and the rate. Nothing is logged for exports that finish sooner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from export_platform.render.progress import Progress

DEFAULT_EVERY_S = 30.0


def progress_line(label: str, progress: Progress, written_bytes: int, elapsed_s: float) -> str:
    rate = f", {progress.total_rows / elapsed_s:,.0f} rows/s" if progress.total_rows and elapsed_s else ""
    return (
        f"{label}: {progress.describe()}, {written_bytes / 1e6:,.1f} MB written "
        f"after {elapsed_s:,.0f} s{rate}"
    )


@contextmanager
def progress_logged(
    log: logging.Logger, label: str, path: Path, every_s: float = DEFAULT_EVERY_S
) -> Iterator[Progress]:
    """Yield the ``Progress`` a writer of ``path`` should update; log it every ``every_s`` seconds."""
    progress, started, stop = Progress(), time.monotonic(), threading.Event()

    def report() -> None:
        while not stop.wait(every_s):
            try:
                written = path.stat().st_size
            except OSError:  # not created yet, or already moved into place
                written = 0
            log.info(progress_line(label, progress, written, time.monotonic() - started))

    reporter = threading.Thread(target=report, name=f"progress of {label}", daemon=True)
    reporter.start()
    try:
        yield progress
    finally:
        stop.set()
        reporter.join()
