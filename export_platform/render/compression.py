"""A rendered file, compressed: ``zip`` holds the file as the archive's one member, ``gzip`` wraps a
CSV (a spreadsheet program or ``zcat`` reads it as the CSV it holds).

The bytes depend on the file alone, so the same report compresses to the same bytes on every run:
the zip member carries a fixed timestamp and mode, the gzip header no file name and ``mtime`` 0.
A compressed file's name is the inner file's name with ``.zip`` or ``.gz`` after it
(``sales_acme_2026-10.csv.gz``), so its reader knows both what to unpack and what it will find.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path
from typing import Literal

Compression = Literal["none", "zip", "gzip"]
COMPRESSIONS: tuple[Compression, ...] = ("none", "zip", "gzip")
SUFFIXES: dict[str, str] = {"none": "", "zip": ".zip", "gzip": ".gz"}
CONTENT_TYPES: dict[str, str] = {"zip": "application/zip", "gzip": "application/gzip"}
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
MEMBER_MODE = 0o644
COPY_CHUNK = 1 << 20


def compressed_name(name: str, compression: str) -> str:
    """The published file's name: ``name`` with the compression's suffix."""
    return name + SUFFIXES[compression]


def uncompressed_name(name: str, compression: str) -> str:
    """The name of the file a compressed file ``name`` holds: ``name`` without the suffix."""
    return name.removesuffix(SUFFIXES[compression])


def zip_entry(name: str, compresslevel: int | None = None) -> zipfile.ZipInfo:
    """A deflated zip member ``name`` whose header is the same on every run."""
    entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    entry.compress_type = zipfile.ZIP_DEFLATED
    # What ZipFile.open does for an entry given by name (a private attribute, so not in the stubs).
    entry._compresslevel = compresslevel  # type: ignore[attr-defined]
    entry.external_attr = MEMBER_MODE << 16
    return entry


def add_to_zip(archive: zipfile.ZipFile, source: Path, name: str) -> None:
    """Copy ``source`` into ``archive`` as ``name``, a chunk at a time (large files use Zip64)."""
    with (
        source.open("rb") as reader,
        archive.open(zip_entry(name), "w", force_zip64=source.stat().st_size > 2**31) as writer,
    ):
        shutil.copyfileobj(reader, writer, COPY_CHUNK)


def compress(source: Path, target: Path, member_name: str, compression: Compression) -> None:
    """Write ``source`` compressed to ``target``: as the zip member ``member_name``, or gzipped."""
    if compression == "zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            add_to_zip(archive, source, member_name)
    elif compression == "gzip":
        with (
            source.open("rb") as reader,
            target.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as writer,
        ):
            shutil.copyfileobj(reader, writer, COPY_CHUNK)
    else:
        raise ValueError(f"compression must be zip or gzip to compress, not {compression!r}")


def decompress(source: Path, folder: Path, compression: Compression) -> Path:
    """The file ``source`` holds, unpacked into ``folder``; a zip must hold exactly one member. A
    damaged archive fails here (zip and gzip both check a CRC of the whole file)."""
    if compression == "zip":
        with zipfile.ZipFile(source) as archive:
            members = archive.namelist()
            if len(members) != 1 or Path(members[0]).name != members[0]:
                raise ValueError(f"{source.name}: expected one file in the zip, found {members}")
            target = folder / members[0]
            with archive.open(members[0]) as reader, target.open("wb") as writer:
                shutil.copyfileobj(reader, writer, COPY_CHUNK)
        return target
    if compression == "gzip":
        target = folder / uncompressed_name(source.name, compression)
        with gzip.open(source, "rb") as reader, target.open("wb") as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)
        return target
    raise ValueError(f"compression must be zip or gzip to decompress, not {compression!r}")
