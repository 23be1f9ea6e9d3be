"""The source database's URL, parsed once: which dialect it names and how each client (SQLAlchemy,
the ADBC driver, the statement compiler) wants it spelled, with its password kept out of every
message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from export_platform.credentials import masked_url, split_credentials
from export_platform.errors import MalformedUrl


@dataclass(frozen=True)
class SourceUrl:
    """A source database URL, parsed once: which dialect, and how each client wants it spelled."""

    raw: str

    def __post_init__(self) -> None:
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported source database {self.redacted}: use sqlite:/// or postgresql://")

    def __repr__(self) -> str:
        return f"SourceUrl({self.redacted!r})"

    @property
    def _url(self) -> sa.URL:
        """Parsed by ``credentials.split_credentials``'s rule, so a raw ``@``, ``/`` or ``#`` in the
        password stays in the password; a URL that still does not parse is refused without its text."""
        parts = split_credentials(self.raw)
        try:
            return make_url(self.raw if parts is None else parts.with_encoded_credentials())
        except (sa.exc.ArgumentError, ValueError):
            raise MalformedUrl(
                "the source database URL (EXPORT_SOURCE_URL) cannot be parsed; it is not shown, as it may "
                "hold a password: write it as postgresql://user:password@host:port/database or sqlite:///path"
            ) from None

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    @property
    def redacted(self) -> str:
        """The URL with every credential masked (``credentials.masked_url``), safe for messages and logs."""
        return masked_url(self.raw)

    @property
    def sqlite_path(self) -> Path:
        return Path(self._url.database or "")

    @property
    def sqlalchemy_url(self) -> sa.URL:
        if self.dialect == "postgresql":
            return self._url.set(drivername="postgresql+psycopg")
        return self._url

    @property
    def adbc_uri(self) -> str:
        if self.dialect == "postgresql":
            return self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        return f"file:{self.sqlite_path}?mode=ro"

    @property
    def compile_dialect(self) -> sa.Dialect:
        if self.dialect == "postgresql":
            return postgresql.psycopg.dialect(paramstyle="numeric_dollar")
        return sqlite.dialect(paramstyle="qmark")


def create_engine(url: SourceUrl) -> sa.Engine:
    return sa.create_engine(url.sqlalchemy_url)
