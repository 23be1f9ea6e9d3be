"""The local files both stores write through: a file's sha256, and a full disk named in the error."""

from __future__ import annotations

import contextlib
import errno
import hashlib
from collections.abc import Iterator
from pathlib import Path

from export_platform.errors import StorageFull

OUT_OF_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _out_of_space(exc: BaseException | None) -> bool:
    """Disk full (or a file-size limit hit), raised as OSError by Python or as text by Polars' Rust IO."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in OUT_OF_SPACE_ERRNOS:
            return True
        if any(f"os error {code}" in str(exc) for code in OUT_OF_SPACE_ERRNOS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def naming_full_disk(destination: Path | str, temporary: Path) -> Iterator[None]:
    """Turn a disk-full error while writing ``temporary`` into ``StorageFull`` naming both paths."""
    try:
        yield
    except Exception as exc:
        if _out_of_space(exc):
            raise StorageFull(
                f"no space left on the device holding {temporary} while writing {destination}: {exc}"
            ) from exc
        raise
