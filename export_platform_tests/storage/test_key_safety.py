"""Object keys are built only from validated tenant slugs and months, every key read or built must lie
inside its tenant's prefix, and a download link opens exactly one object."""

from __future__ import annotations

import hashlib
import hmac
import os
import posixpath
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from export_platform.errors import KeyOutsideTenant
from export_platform.partitions import (
    InvalidPartitionKey,
    parse_partition_key,
    validate_month,
    validate_tenant_slug,
)
from export_platform.storage.artifacts import ArtifactStore, PublishedFile
from export_platform.storage.layout import (
    adhoc_key,
    dataset_key,
    export_folder,
    export_key,
    manifest_key,
    tenant_object_key,
)
from export_platform.storage.local_store import LocalObjectStore

BAD_SLUGS = [
    "",
    ".",
    "..",
    "../etc",
    "acme/../globex",
    "acme/",
    "/acme",
    "acme\\globex",
    "acme%2f..",
    "acme.globex",
    "acme|2026-10",
    "acme globex",
    " acme",
    "acme\n",
    "acme\x00",
    "acme\t",
    "-acme",
    "acme-",
    "ACME",
    "Acme",
    "аcme",  # Cyrillic а
    "acmе",  # Cyrillic е
    "ａｃｍｅ",  # full-width
    "acme\u200b",  # zero-width space
    "acme\u0301",  # combining accent
    "acmé",
    "ﬁnance",  # the "fi" ligature NFKC would fold to "finance"
    "a" * 64,
    "acme\udc80",  # lone surrogate
]
GOOD_SLUGS = ["acme", "a", "0", "new-shop", "shop-2026", "a" * 63]

BAD_MONTHS = [
    "",
    "2026-13",
    "2026-00",
    "2026-1",
    "26-10",
    "2026/10",
    "2026-10-01",
    "２０２６-10",  # full-width digits
    "٢٠٢٦-١٠",  # Arabic-Indic digits
    "2026-10\n",
    "../2026-10",
    "2026-10/..",
]


@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_unsafe_tenant_slugs_are_refused_everywhere_a_key_is_built(slug: str) -> None:
    with pytest.raises(InvalidPartitionKey):
        validate_tenant_slug(slug)
    for build in (
        lambda: dataset_key(slug, "sales", "2026-10"),
        lambda: export_key(slug, "sales", "2026-10", "csv"),
        lambda: manifest_key(slug, "sales", "2026-10"),
        lambda: adhoc_key(slug, "run-1", "sales.csv"),
        lambda: parse_partition_key(f"2026-10|{slug}"),
    ):
        with pytest.raises(InvalidPartitionKey):
            build()


@pytest.mark.parametrize("slug", GOOD_SLUGS)
def test_ordinary_slugs_make_keys_under_their_own_prefix(slug: str) -> None:
    assert export_key(slug, "sales", "2026-10", "csv") == (
        f"{slug}/exports/sales/2026-10/sales_{slug}_2026-10.csv"
    )
    assert parse_partition_key(f"2026-10|{slug}").tenant == slug


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_unsafe_months_are_refused(month: str) -> None:
    with pytest.raises(InvalidPartitionKey):
        validate_month(month)
    with pytest.raises(InvalidPartitionKey):
        dataset_key("acme", "sales", month)


@pytest.mark.parametrize("key", ["2026-10", "2026-10|acme|globex", "acme|2026-10", "|", "2026-10|", ""])
def test_malformed_partition_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidPartitionKey):
        parse_partition_key(key)


@pytest.mark.parametrize(
    ("run_id", "file_name"),
    [
        ("..", "a.csv"),
        ("run/1", "a.csv"),
        ("ｒｕｎ", "a.csv"),
        ("", "a.csv"),
        ("run-1", ".."),
        ("run-1", "../globex.csv"),
        ("run-1", "a/b.csv"),
        ("run-1", "a\\b.csv"),
        ("run-1", ".hidden"),
        ("run-1", "a..csv"),
        ("run-1", "a\x00.csv"),
        ("run-1", "résumé.csv"),
        ("run-1", ""),
    ],
)
def test_adhoc_key_parts_cannot_escape_the_run_folder(run_id: str, file_name: str) -> None:
    with pytest.raises(ValueError, match="unsafe ad-hoc key part"):
        adhoc_key("acme", run_id, file_name)


def test_adhoc_key_for_a_real_run() -> None:
    run_id = "0f3c2a9e-5b1d-4c7e-9a2b-1d2e3f4a5b6c"
    assert adhoc_key("acme", run_id, "bills_acme_2026-09-01_2026-10-31.csv") == (
        f"acme/adhoc/{run_id}/bills_acme_2026-09-01_2026-10-31.csv"
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature_is_valid(url: str, secret_key: str) -> bool:
    """Check a SigV4 presigned GET as S3 does: recompute the signature over the URL's own path and query.

    moto's server does not verify presigned signatures, so the test does what S3 would.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = query.pop("X-Amz-Signature")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    _, date, region, service, _ = query["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), date), region), service), "aws4_request")
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


def test_a_presigned_url_for_one_key_does_not_open_another(s3_bucket: str) -> None:
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    artifacts = ArtifactStore(root=f"s3://{s3_bucket}/p", presigned_url_expiry_seconds=900)
    mine = export_key("acme", "sales", "2026-10", "csv")
    theirs = export_key("globex", "sales", "2026-10", "csv")
    url = artifacts.download_url(mine)
    assert url is not None and signature_is_valid(url, secret)
    assert f"/{s3_bucket}/p/{mine}?" in url

    # The same signature on any other path, the other tenant's file, or a longer expiry is refused.
    for other_path in (theirs, export_key("acme", "sales", "2026-09", "csv"), f"{mine}/../../{theirs}"):
        forged = url.replace(f"/p/{mine}?", f"/p/{other_path}?")
        assert forged != url and not signature_is_valid(forged, secret), other_path
    assert not signature_is_valid(url.replace("X-Amz-Expires=900", "X-Amz-Expires=604800"), secret)
    assert not signature_is_valid(url, "another-secret")
    # No wildcard or prefix grant: the credential scope is the one S3 GET, signed over the host only.
    assert "X-Amz-SignedHeaders=host" in url and "*" not in url


OWN_KEYS = [
    export_key("acme", "sales", "2026-10", "csv"),
    manifest_key("acme", "sales", "2026-10"),
    dataset_key("acme", "sale_items", "2026-10"),
    adhoc_key("acme", "run-1", "bills_acme_2026-09-01_2026-10-31.csv"),
]
FOREIGN_KEYS = [
    export_key("globex", "sales", "2026-10", "csv"),
    "acme",
    "acme/",
    "acme/exports/",
    "/acme/exports/sales.csv",
    "/etc/hostname",
    "../../../../etc/passwd",
    "acme/../globex/exports/sales.csv",
    "acme/exports/../../globex/exports/sales.csv",
    "acme/./exports/sales.csv",
    "acme//exports/sales.csv",
    "acme/.hidden",
    "acme\\..\\globex\\x.csv",
    "acme/exports\\..\\..\\globex",
    "acme/ｅｘｐｏｒｔｓ/x.csv",  # full-width letters
    "acme/exports/x.csv\x00",
    "acme/exports/x.csv\n",
    "acme/exports/\u200bx.csv",
    "acmeglobex/x.csv",
    "ACME/x.csv",
    None,
    42,
    ["acme", "x.csv"],
]


@pytest.mark.parametrize("key", OWN_KEYS)
def test_the_platforms_own_keys_are_inside_their_tenant(key: str) -> None:
    assert tenant_object_key("acme", key) == key


@pytest.mark.parametrize("key", FOREIGN_KEYS)
def test_keys_outside_the_tenant_are_refused(key: object) -> None:
    with pytest.raises(KeyOutsideTenant, match="is not a key inside acme's prefix acme/"):
        tenant_object_key("acme", key)


@pytest.mark.parametrize("key", [k for k in FOREIGN_KEYS if isinstance(k, str) and ".." in k])
def test_every_refused_escape_leaves_the_tenant_once_resolved(key: str) -> None:
    """The refused ``..`` keys are real escapes, not only unusual spellings."""
    resolved = posixpath.normpath(posixpath.join("/root", key.replace("\\", "/")))
    assert not resolved.startswith("/root/acme/")


@pytest.mark.parametrize(
    "build",
    [
        lambda: export_key("acme", "../globex", "2026-10", "csv"),
        lambda: export_key("acme", "sales/../../globex/exports/sales", "2026-10", "csv"),
        lambda: export_key("acme", "sales", "2026-10", "csv/../../../../globex/exports/sales/x.csv"),
        lambda: export_key("acme", "", "2026-10", "csv"),
        lambda: export_folder("acme", "..", "2026-10"),
        lambda: manifest_key("acme", "../../globex/exports/sales", "2026-10"),
        lambda: dataset_key("acme", "../../globex/data/sales", "2026-10"),
    ],
)
def test_keys_built_from_a_stored_dataset_or_format_stay_in_the_tenant(build) -> None:
    """Delivery builds keys from history rows, the IO manager from asset names: a dataset or format
    that would climb out is refused, not joined into a path."""
    with pytest.raises(KeyOutsideTenant):
        build()


def test_a_local_store_does_not_follow_links_out_of_the_tenants_folder(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("globex/exports/x.csv", b"globex")
    store.put_bytes("acme/exports/y.csv", b"acme")
    (tmp_path / "acme" / "exports" / "x.csv").symlink_to(tmp_path / "globex" / "exports" / "x.csv")
    (tmp_path / "acme" / "shared").symlink_to(tmp_path / "globex")
    for key in (
        "acme/exports/x.csv",
        "acme/shared/exports/x.csv",
        "acme/../globex/exports/x.csv",
        "/etc/hostname",
    ):
        with pytest.raises(KeyOutsideTenant):
            store.read_bytes(key)
        with pytest.raises(KeyOutsideTenant):
            store.download(key, tmp_path / "copy")
    assert store.read_bytes("acme/exports/y.csv") == b"acme"
    # A tenant folder that is itself a link (say, to a bigger disk) still works.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "initech").symlink_to(tmp_path / "elsewhere")
    store.put_bytes("initech/exports/z.csv", b"initech")
    assert store.read_bytes("initech/exports/z.csv") == b"initech"


def test_a_manifest_never_records_another_tenants_file(tmp_path) -> None:
    artifacts = ArtifactStore(root=str(tmp_path))
    theirs = export_key("globex", "sales", "2026-10", "csv")
    artifacts.store.put_bytes(theirs, b"globex")
    published = PublishedFile(
        "csv", "x.csv", theirs, artifacts.store.uri(theirs), 6, hashlib.sha256(b"globex").hexdigest(),
        0, "text/csv", "2026-10-28T00:00:00Z",
    )  # fmt: skip
    with pytest.raises(KeyOutsideTenant):
        artifacts.record("acme", "sales", "2026-10", published)
    assert artifacts.manifest("acme", "sales", "2026-10") is None
