"""Shared fixtures: a real PostgreSQL for every test that needs one.

By default the embedded server (the same one ``creditbank serve`` starts) runs in a
temporary folder for the whole session. With ``CREDITBANK_TEST_DATABASE_URL`` set (for
example ``postgresql://postgres@127.0.0.1:5432/postgres``) the tests use that server
instead. Either way each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from api.database import Database, embedded_postgres

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Database]:
    url = os.environ.get("CREDITBANK_TEST_DATABASE_URL")
    if url:
        yield Database.from_url(url)
        return
    # A folder of our own, not pytest's tmp_path: concurrent pytest runs prune each
    # other's numbered temp folders, which would pull the data directory from under
    # a running server.
    folder = Path(tempfile.mkdtemp(prefix="creditbank-test-pg-"))
    try:
        with embedded_postgres(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres_server: Database) -> Iterator[Database]:
    yield from fresh_database(postgres_server, "cb_test")


def fresh_database(server: Database, prefix: str) -> Iterator[Database]:
    """A new, empty database on ``server``, dropped when the generator is closed."""
    db = server.with_dbname(f"{prefix}_{uuid.uuid4().hex[:12]}")
    db.ensure_exists()
    try:
        yield db
    finally:
        db.drop()
