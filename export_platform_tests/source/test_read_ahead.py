"""The read-ahead thread: same items in the same order, errors where they happened, and no thread
left fetching once the caller has stopped."""

from __future__ import annotations

import threading
import time

import pytest

from export_platform.source.read_ahead import chain_ahead, read_ahead


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


class Part:
    """A part of a chained read: ``size`` items, noting when it started and whether it was closed."""

    def __init__(self, name: str, size: int, events: list[str], fail: bool = False) -> None:
        self.name, self.size, self.events, self.fail = name, size, events, fail
        self.closed = False
        self.items = self._items()

    def _items(self):
        self.events.append(f"start {self.name}")
        if self.fail:
            raise OSError(f"{self.name} could not start")
        try:
            for i in range(self.size):
                yield f"{self.name}{i}"
        finally:
            self.closed = True


def test_chained_parts_come_in_order_each_started_while_the_one_before_is_read() -> None:
    events: list[str] = []
    parts = [Part(name, size, events) for name, size in (("a", 3), ("b", 0), ("c", 2), ("d", 1))]
    seen = []
    for item in chain_ahead(p.items for p in parts):
        if item == "a0":
            time.sleep(0.1)  # b is started on the thread meanwhile
            assert events == ["start a", "start b"]
        seen.append(item)
        events.append(f"got {item}")
    assert seen == ["a0", "a1", "a2", "c0", "c1", "d0"]
    assert events.index("start c") < events.index("got a2") or events.index("start c") < events.index(
        "got c0"
    )
    assert all(p.closed for p in parts)
    assert not [t for t in threading.enumerate() if t.name.startswith("source-chain-ahead")]


def test_stopping_a_chain_early_closes_every_started_part() -> None:
    events: list[str] = []
    parts = [Part(name, 5, events) for name in "abc"]
    chained = chain_ahead(p.items for p in parts)
    assert [next(chained), next(chained)] == ["a0", "a1"]
    chained.close()
    assert parts[0].closed and parts[1].closed  # b had been started ahead, and is closed too
    assert "start c" not in events and not parts[2].closed
    assert not [t for t in threading.enumerate() if t.name.startswith("source-chain-ahead")]


def test_a_part_that_fails_to_start_fails_the_chain_where_its_items_would_be() -> None:
    events: list[str] = []
    parts = [Part("a", 2, events), Part("b", 2, events, fail=True), Part("c", 2, events)]
    seen = []
    with pytest.raises(OSError, match="b could not start"):
        for item in chain_ahead(p.items for p in parts):
            seen.append(item)
    assert seen == ["a0", "a1"] and parts[0].closed
