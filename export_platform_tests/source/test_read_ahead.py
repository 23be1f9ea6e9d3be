"""The read-ahead thread: same items in the same order, errors where they happened, and no thread
left fetching once the caller has stopped."""

from __future__ import annotations

import threading
import time

import pytest

from export_platform.source.read_ahead import read_ahead


def test_items_arrive_in_order_while_the_next_ones_are_fetched() -> None:
    fetched: list[int] = []

    def items():
        for i in range(50):
            fetched.append(i)
            yield i

    seen = []
    for item in read_ahead(items(), depth=2):
        if item == 0:
            time.sleep(0.2)  # the thread fetches ahead meanwhile, up to the depth
            assert 2 <= len(fetched) <= 4
        seen.append(item)
    assert seen == list(range(50))


def test_a_fetch_error_is_raised_at_its_item() -> None:
    def items():
        yield 1
        yield 2
        raise OSError("connection lost")

    seen = []
    with pytest.raises(OSError, match="connection lost"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_stops_and_joins_the_thread() -> None:
    fetched: list[int] = []

    def endless():
        i = 0
        while True:
            fetched.append(i)
            yield i
            i += 1

    reader = read_ahead(endless(), depth=2)
    assert next(reader) == 0
    reader.close()
    assert not [t for t in threading.enumerate() if t.name == "source-read-ahead"]
    count = len(fetched)
    time.sleep(0.3)
    assert len(fetched) == count <= 5
