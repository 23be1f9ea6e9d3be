"""Fetch the next items of an iterator on a thread while the caller works on the current one.

A streamed source read has two halves that can overlap: the driver receiving and decoding rows
(waiting on the database, with the GIL released) and the caller converting and writing them (Polars
and Parquet, also mostly without the GIL). Run one after the other they add up; with the fetching on
its own thread the read takes about as long as the slower half.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")

_POLL_S = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


def read_ahead(items: Iterator[Item], depth: int = 2) -> Generator[Item, None, None]:
    """Yield ``items`` in order, with up to ``depth`` of them fetched ahead on a thread.

    An exception raised while fetching is raised here, at the item where it happened. When the caller
    stops early (or fails), the thread stops after the item it is fetching and is joined before this
    generator returns, so whatever ``items`` reads from (a database cursor) can then be closed safely.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stopping = threading.Event()

    def put(entry: object) -> bool:
        while not stopping.is_set():
            try:
                ready.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the caller, which decides what it means
            put(_Failed(exc))
            return
        put(_END)

    worker = threading.Thread(target=fetch, name="source-read-ahead", daemon=True)
    worker.start()
    try:
        while (entry := ready.get()) is not _END:
            if isinstance(entry, _Failed):
                raise entry.error
            yield entry
    finally:
        stopping.set()
        worker.join()
