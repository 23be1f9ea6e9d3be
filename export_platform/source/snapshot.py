"""One snapshot of the PostgreSQL source shared by reads on several connections, so the statements
of one run see the database as of one moment even while it takes new sales."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import adbc_driver_manager

from export_platform.errors import SourceUnavailable
from export_platform.source.connection import arrow_connection, call_driver, first_line
from export_platform.source.url import SourceUrl

_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(?:-[0-9A-F]+)+")
_SNAPSHOT_ISOLATION = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


@contextlib.contextmanager
def exported_snapshot(url: SourceUrl) -> Iterator[str | None]:
    """The id of one snapshot of the database, for reads on other connections to share until exit.

    A dataset is several statements (the tenant row; the month's lines and the products they name;
    customers, their credit and their sales), each on a connection of its own and some at once, and a
    run reads several datasets (the sales and their line items). Read committed, each statement would
    see the database as of its own start, so a product sold between two of them could have its line in
    one read and its name missing from the other, or a sale be in the sales and not in the line items.

    On PostgreSQL this opens a read-only REPEATABLE READ transaction, exports its snapshot
    (``pg_export_snapshot``) and holds the transaction open, which keeps the snapshot importable,
    until the block ends; ``read_frame`` and ``read_batches`` given the id start their own
    transactions in it. On SQLite it yields None: the embedded source is written only when it is
    seeded, and each statement sees the file as of its own start.
    """
    if url.dialect != "postgresql":
        yield None
        return
    with arrow_connection(url) as conn, conn.cursor() as cursor:

        def export() -> str:
            cursor.execute(_SNAPSHOT_ISOLATION)
            cursor.execute("SELECT pg_export_snapshot()")
            return cursor.fetchone()[0]

        try:
            snapshot = call_driver(url, export)
        except adbc_driver_manager.Error as exc:
            raise SourceUnavailable(
                f"source database {url.redacted} cannot export a snapshot: {first_line(exc)}"
            ) from exc
        yield snapshot


def join_snapshot(url: SourceUrl, cursor: Any, snapshot: str) -> None:
    """Start this connection's transaction in ``snapshot``; its first statements must be these."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # written into the SQL: SET takes no parameters
        raise ValueError(f"{snapshot!r} is not a PostgreSQL snapshot id")

    def join() -> None:
        cursor.execute(_SNAPSHOT_ISOLATION)
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")

    try:
        call_driver(url, join)  # a lost connection: SourceUnavailable from call_driver
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(
            f"source database {url.redacted} no longer has snapshot {snapshot} (its transaction ended?): "
            f"{first_line(exc)}"
        ) from exc
