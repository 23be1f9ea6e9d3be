"""The storage layout ARCHITECTURE fixes. Every key starts with a validated tenant slug, so a tenant's
whole footprint is one prefix, and every key, built here or read from a manifest, passes
``tenant_object_key`` before it is used, so no key can climb out of its tenant's prefix."""

from __future__ import annotations

import re

from export_platform.errors import KeyOutsideTenant
from export_platform.partitions import validate_month, validate_tenant_slug

# ASCII only, no separators, no leading dot: a name can neither climb a folder nor hide as a dot file.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
# One segment of any key: the same shape, so "", ".", "..", "/x", "a\\b" and look-alikes never match.
_KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def tenant_object_key(tenant: str, key: object) -> str:
    """``key`` unchanged if it names an object inside ``tenant``'s own prefix, else ``KeyOutsideTenant``.

    The one rule for every key that comes from a manifest, a history row or a caller. A key must
    already be canonical: relative, ``/``-separated, each segment ASCII letters, digits, ``_``, ``-``
    and inner dots, so that the key checked is the key read. S3 reads ``acme/../globex/x`` literally
    while a local folder (or an HTTP client following a link) resolves it; refusing every ``.``/``..``
    segment, empty segment, backslash and absolute path makes both read the same object, and the
    first segment must be the tenant itself."""
    prefix = f"{validate_tenant_slug(tenant)}/"
    if not (
        isinstance(key, str)
        and key.startswith(prefix)
        and all(_KEY_SEGMENT.fullmatch(segment) for segment in key.split("/"))
    ):
        raise KeyOutsideTenant(f"{key!r} is not a key inside {tenant}'s prefix {prefix}")
    return key


def is_tenant_object_key(tenant: str, key: object) -> bool:
    """Whether ``tenant_object_key`` accepts ``key``."""
    try:
        tenant_object_key(tenant, key)
    except KeyOutsideTenant:
        return False
    return True


def dataset_key(tenant: str, dataset: str, month: str) -> str:
    return tenant_object_key(tenant, f"{tenant}/data/{dataset}/{validate_month(month)}.parquet")


def export_folder(tenant: str, dataset: str, month: str) -> str:
    return tenant_object_key(tenant, f"{tenant}/exports/{dataset}/{validate_month(month)}")


def export_file_name(tenant: str, dataset: str, month: str, extension: str) -> str:
    return f"{dataset}_{validate_tenant_slug(tenant)}_{validate_month(month)}.{extension}"


def export_key(tenant: str, dataset: str, month: str, extension: str) -> str:
    name = export_file_name(tenant, dataset, month, extension)
    return tenant_object_key(tenant, f"{export_folder(tenant, dataset, month)}/{name}")


def manifest_key(tenant: str, dataset: str, month: str) -> str:
    return f"{export_folder(tenant, dataset, month)}/manifest.json"


def adhoc_key(tenant: str, run_id: str, file_name: str) -> str:
    if not _RUN_ID.fullmatch(run_id) or not _FILE_NAME.fullmatch(file_name) or ".." in file_name:
        raise ValueError(f"unsafe ad-hoc key part: {run_id!r}, {file_name!r}")
    return tenant_object_key(tenant, f"{tenant}/adhoc/{run_id}/{file_name}")
