"""Signed download links: a link opens the one key it was signed for, until its expiry, with the
secret it was signed with; the secret is EXPORT_LINK_SECRET or one kept, private, across restarts;
and a local folder's download URL is such a link to the Export API."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from export_platform.storage.artifacts import ArtifactStore
from export_platform.storage.layout import export_key
from export_platform.storage.signed_links import LinkRefused, LinkSigner, link_secret

KEY = export_key("acme", "sales", "2026-10", "csv")
NOW = 1_800_000_000
SIGNER = LinkSigner(b"0123456789abcdef0123456789abcdef")


def refusal(signer: LinkSigner, key: str, expires: str | None, signature: str | None, now: float) -> str:
    with pytest.raises(LinkRefused) as refused:
        signer.verify(key, expires, signature, now)
    return refused.value.reason


def parts(link: str) -> tuple[str, str, str]:
    """The key, expires and signature a link carries."""
    url = urlsplit(link)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    return url.path.removeprefix("/v1/downloads/"), query["expires"], query["signature"]


def test_a_link_opens_its_key_until_it_expires() -> None:
    link = SIGNER.link("http://127.0.0.1:8080", KEY, NOW + 60)
    assert link.startswith(f"http://127.0.0.1:8080/v1/downloads/{KEY}?expires={NOW + 60}&signature=")
    key, expires, signature = parts(link)
    assert (key, expires) == (KEY, str(NOW + 60)) and len(signature) == 64
    SIGNER.verify(key, expires, signature, NOW)
    SIGNER.verify(key, expires, signature, NOW + 59.9)
    assert refusal(SIGNER, key, expires, signature, NOW + 60) == "expired"


def test_a_tampered_link_is_invalid() -> None:
    key, expires, signature = parts(SIGNER.link("http://api", KEY, NOW + 60))
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    other_keys = [
        export_key("globex", "sales", "2026-10", "csv"),
        export_key("acme", "sales", "2026-09", "csv"),
        export_key("acme", "sales", "2026-10", "xlsx"),
        f"{KEY}/../../globex/exports/sales/2026-10/sales_globex_2026-10.csv",
    ]
    for other in other_keys:
        assert refusal(SIGNER, other, expires, signature, NOW) == "invalid", other
    tampered = [
        (expires, flipped),
        (str(NOW + 3600), signature),  # a longer life
        (expires, signature.upper()),
        (expires, ""),
        (expires, None),
        (None, signature),
        (f"{expires}.0", signature),
        ("１８００００００６０", signature),  # digits that are not ASCII
        (expires, "é" * 64),
    ]
    for tampered_expires, tampered_signature in tampered:
        assert refusal(SIGNER, key, tampered_expires, tampered_signature, NOW) == "invalid"
    # Expired and tampered: invalid, so an expiry is only ever told about a link the platform signed.
    assert refusal(SIGNER, key, expires, flipped, NOW + 3600) == "invalid"


def test_another_secret_neither_opens_nor_makes_a_link() -> None:
    other = LinkSigner(b"another secret of the same length")
    key, expires, signature = parts(SIGNER.link("http://api", KEY, NOW + 60))
    assert refusal(other, key, expires, signature, NOW) == "invalid"
    assert other.signature(KEY, NOW + 60) != signature
    assert "0123456789abcdef" not in repr(SIGNER)


def test_the_secret_is_generated_once_kept_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXPORT_LINK_SECRET", raising=False)
    secret = link_secret()
    kept = tmp_path / ".export_platform" / "link-secret"
    assert kept.read_bytes() == secret and len(secret) == 64
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert link_secret() == secret  # a restart signs and verifies with the same one
    assert [p.name for p in kept.parent.iterdir()] == ["link-secret"]  # no temporary file left

    monkeypatch.setenv("EXPORT_LINK_SECRET", "x" * 32)
    assert link_secret() == b"x" * 32
    monkeypatch.setenv("EXPORT_LINK_SECRET", "too-short")
    with pytest.raises(ValueError, match="EXPORT_LINK_SECRET: use at least 32 random characters"):
        link_secret()


def test_a_local_folders_download_url_is_a_signed_link_to_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s" * 40
    monkeypatch.setenv("EXPORT_LINK_SECRET", secret)
    monkeypatch.setenv("EXPORT_API_URL", "https://exports.example/")
    monkeypatch.setattr("time.time", lambda: NOW)
    url = ArtifactStore(root=str(tmp_path), presigned_url_expiry_seconds=900).download_url(KEY)
    assert url.startswith(f"https://exports.example/v1/downloads/{KEY}?expires={NOW + 900}&")
    LinkSigner(secret.encode()).verify(*parts(url), NOW + 899)
