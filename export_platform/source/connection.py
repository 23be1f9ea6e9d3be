"""ADBC connections to the source, and the one rule for the driver's failures: a connection that
cannot be opened, or is lost mid-read, becomes ``SourceUnavailable``, which the retry policy treats as
transient (``retries.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import adbc_driver_manager

from export_platform.errors import SourceUnavailable
from export_platform.source.url import SourceUrl


@contextlib.contextmanager
def arrow_connection(url: SourceUrl, *, read_only: bool = True) -> Iterator[Any]:
    """An ADBC DB-API connection; failures to connect become ``SourceUnavailable``."""
    try:
        if url.dialect == "postgresql":
            import adbc_driver_postgresql.dbapi as driver

            conn = driver.connect(url.adbc_uri)
        else:
            import adbc_driver_sqlite.dbapi as driver

            if not url.sqlite_path.is_file():
                raise SourceUnavailable(
                    f"source database file {url.sqlite_path} does not exist: run `export-platform seed` "
                    "or set EXPORT_SOURCE_URL"
                )
            uri = url.adbc_uri if read_only else str(url.sqlite_path)
            conn = driver.connect(uri)
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(f"cannot reach source database {url.redacted}: {first_line(exc)}") from exc
    try:
        yield conn
    finally:
        conn.close()


def call_driver(url: SourceUrl, call: Callable[[], Any]) -> Any:
    """``call()``; a lost connection becomes ``SourceUnavailable``. The driver's record batch stream
    reports one while streaming as an Arrow IOError (an ``OSError``), not as an ADBC error."""
    try:
        return call()
    except (adbc_driver_manager.OperationalError, OSError) as exc:
        raise SourceUnavailable(f"source database {url.redacted} failed: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    """The first line of a driver's message (they run to several), or the error's type if it has none."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
