"""Throwaway databases on the test PostgreSQL server, so each source or instance starts empty."""

from __future__ import annotations

import os
import uuid

import psycopg

PG_ADMIN_URL = os.environ.get("EXPORT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_database() -> str:
    """The name of a new, empty database."""
    name = f"ep_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
