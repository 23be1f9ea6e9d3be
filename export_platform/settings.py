"""Where the platform reads from and writes to, from the environment variables ARCHITECTURE fixes.

Unset variables fall back to the embedded default: a SQLite source file and a local artifact folder
under ``.export_platform/`` in the working directory, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_URL_VAR = "EXPORT_SOURCE_URL"
ARTIFACT_ROOT_VAR = "EXPORT_ARTIFACT_ROOT"
SMTP_URL_VAR = "EXPORT_SMTP_URL"
OPERATOR_EMAILS_VAR = "EXPORT_OPERATOR_EMAILS"
API_URL_VAR = "EXPORT_API_URL"
DAGSTER_URL_VAR = "EXPORT_DAGSTER_URL"
LINK_SECRET_VAR = "EXPORT_LINK_SECRET"


def local_state_dir() -> Path:
    return Path.cwd() / ".export_platform"


def default_source_url() -> str:
    return f"sqlite:///{local_state_dir() / 'source.db'}"


def source_url() -> str:
    return os.environ.get(SOURCE_URL_VAR) or default_source_url()


def artifact_root() -> str:
    """The artifact root as a ``s3://bucket/prefix`` URL or an absolute folder path."""
    root = os.environ.get(ARTIFACT_ROOT_VAR) or str(local_state_dir() / "artifacts")
    if root.startswith("file://"):
        root = root.removeprefix("file://")
    if root.startswith("s3://"):
        return root.rstrip("/")
    return str(Path(root).resolve())


def artifact_store_kind() -> str:
    """The kind badge of the configured artifact store, as the UI shows it: ``s3`` or ``file``."""
    return "s3" if artifact_root().startswith("s3://") else "file"


def source_kind() -> str:
    """The kind badge of the configured source database: ``postgres`` or ``sqlite``."""
    return "sqlite" if source_url().startswith("sqlite") else "postgres"


def api_url() -> str:
    """The Export API's public base URL, which download links start with (no trailing slash)."""
    return (os.environ.get(API_URL_VAR) or "http://127.0.0.1:8080").rstrip("/")


def dagster_url() -> str:
    """Where the Export API reaches Dagster's webserver (its GraphQL API) to launch and follow runs."""
    return (os.environ.get(DAGSTER_URL_VAR) or "http://127.0.0.1:3000").rstrip("/")
