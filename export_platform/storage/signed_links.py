"""Download links for files in a local artifact folder, which a browser cannot open as a path.

A link names the file's key and an expiry and carries an HMAC-SHA256 signature over both, made with
the platform's link secret; the Export API serves it under ``/v1/downloads/`` without a bearer token,
because the signature is the permission: only the platform can make one, for that key, until then.
S3 roots do not need this: their links are presigned by S3 itself.

The secret is ``EXPORT_LINK_SECRET`` when it is set (needed when the API and the runs do not share a
working folder); otherwise one is generated on first use and kept, readable by its owner only, in the
local state folder, so links stay valid across restarts of the API and the code location.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from export_platform import settings
from export_platform.errors import ExportPlatformError

DOWNLOADS_PATH = "/v1/downloads"
SECRET_FILE_NAME = "link-secret"
MIN_SECRET_CHARS = 32
_EXPIRES = re.compile(r"[0-9]{1,12}")


class LinkRefused(ExportPlatformError):
    """A link that was not signed for its key and expiry with this secret (``invalid``: tampered,
    another key, another secret, a part missing), or whose expiry has passed (``expired``)."""

    def __init__(self, reason: Literal["invalid", "expired"]) -> None:
        super().__init__(f"download link refused: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class LinkSigner:
    secret: bytes = field(repr=False)

    def signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def link(self, base_url: str, key: str, expires: int) -> str:
        """The URL under ``base_url`` that downloads ``key`` until ``expires`` (Unix seconds). The
        signature goes in the query string, which the API's access log leaves out."""
        query = urlencode({"expires": expires, "signature": self.signature(key, expires)})
        return f"{base_url}{DOWNLOADS_PATH}/{key}?{query}"

    def verify(self, key: str, expires: str | None, signature: str | None, now: float) -> None:
        """Raise ``LinkRefused`` unless ``signature`` was made for ``key`` and ``expires`` with this
        secret (compared in constant time) and ``expires`` is still ahead of ``now``."""
        if expires is None or signature is None or not _EXPIRES.fullmatch(expires):
            raise LinkRefused("invalid")
        expected = self.signature(key, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise LinkRefused("invalid")
        if int(expires) <= now:
            raise LinkRefused("expired")


def link_secret() -> bytes:
    """``EXPORT_LINK_SECRET``, or the secret kept in the local state folder (made on first use)."""
    configured = os.environ.get(settings.LINK_SECRET_VAR)
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise ValueError(
                f"{settings.LINK_SECRET_VAR}: use at least {MIN_SECRET_CHARS} random characters "
                "(for example the output of `openssl rand -hex 32`)"
            )
        return configured.encode()
    return _kept_secret(settings.local_state_dir() / SECRET_FILE_NAME)


def _kept_secret(path: Path) -> bytes:
    """The secret in ``path``, made the first time: written to a private (0600) temporary file and
    linked into place whole, so processes starting at once all end up with the one that won."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{SECRET_FILE_NAME}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()


def download_link(key: str, expires_in: int) -> str:
    """A link to the Export API (``EXPORT_API_URL``) that downloads ``key`` for ``expires_in`` seconds."""
    return LinkSigner(link_secret()).link(settings.api_url(), key, int(time.time()) + expires_in)
