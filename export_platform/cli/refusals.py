"""How the command line refuses input: one or two lines naming the input and the fix, exit status 2,
never a stack trace (``--verbose`` shows one for errors that are not about the input)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from export_platform import settings

if TYPE_CHECKING:
    from export_platform.source.url import SourceUrl


class Refused(click.ClickException):
    """Input refused: printed as ``Error: <input>: <problem and fix>``, exit status 2 like a usage
    error."""

    exit_code = 2


def checked_source_url(option: str | None = None) -> SourceUrl:
    """The source database's URL, from ``--source-url`` (``option``) when given, else
    ``EXPORT_SOURCE_URL`` or the default SQLite file, parsed at once: a URL that cannot be used is
    refused naming where it came from and how to write it, never quoting it (it may hold a password)."""
    from export_platform.errors import MalformedUrl
    from export_platform.source.url import SourceUrl

    origin = "--source-url" if option else settings.SOURCE_URL_VAR
    try:
        return SourceUrl(option or settings.source_url())
    except MalformedUrl:
        raise Refused(
            f"{origin} is not a database URL (not shown, as it may hold a password): write "
            "postgresql://user:password@host:port/database, sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        ) from None
    except ValueError as exc:
        raise Refused(f"{origin}: {exc}") from None


def require_dagster_home() -> None:
    """Refuse a command that needs the Dagster instance when ``DAGSTER_HOME`` does not name one."""
    import os

    if not os.environ.get("DAGSTER_HOME"):
        raise Refused(
            "DAGSTER_HOME is not set: point it at the Dagster instance folder, "
            "e.g. export DAGSTER_HOME=$PWD/.export_platform/dagster_home"
        )
