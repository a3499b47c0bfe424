"""Where the HTTP reads run: the hot standbys of ``CREDITBANK_READ_DATABASE_URL``, else
the primary.

Invariants:
- only reads go to a standby: writes, the event store, the projection runner, the tokens
  and every write-side check stay on the primary pool (a standby refuses writes anyway);
- a standby's read models and its tracking row (``rm_tracking``) replicate in the same
  transactions the primary committed them in, so the position a standby answers for is
  the one its own tracking row says, and ``min_position`` is kept by polling that row
  (``wait_on_standby``), never by trusting the primary's applier;
- standbys are used in turn; one that cannot be reached is passed over for
  ``REST_SECONDS`` and the next is tried, the primary last: a read never fails because
  a standby is down, it only costs the primary a little;
- a standby's connections keep no session state, like the primary's read pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from api.database import Database
from projections import eventlog

log = logging.getLogger(__name__)

#: How long a standby that could not be reached is left out of the turn.
REST_SECONDS = 5.0
#: How often a read waiting for ``min_position`` asks the standby's tracking row again.
POLL_SECONDS = 0.02

_UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class StatelessConnection(asyncpg.Connection):  # type: ignore[misc]
    """A read pool connection, released without asyncpg's reset query (advisory unlock,
    ``CLOSE ALL``, ``UNLISTEN *``, ``RESET ALL``): a round trip per request that
    undoes state this service never leaves behind (see ``api.service.app``)."""

    #: Whether this connection reads a hot standby (its position is its own tracking row).
    on_standby = False

    def get_reset_query(self) -> str:
        return ""


class StandbyConnection(StatelessConnection):
    """A connection to a hot standby."""

    on_standby = True


def on_standby(conn: Any) -> bool:
    """Whether ``conn`` (a pooled connection's proxy or a connection) reads a standby."""
    return bool(getattr(conn, "on_standby", False))


async def wait_on_standby(conn: Any, position: int, timeout: float) -> int:  # noqa: ASYNC109
    """Wait (at most ``timeout`` seconds) until the standby has replayed the batch that
    applied ``position``; answer the position its read models are at. Each poll is its
    own statement, so outside a transaction it sees the latest replayed state."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        reached = await eventlog.applied_position(conn)
        if reached >= position or loop.time() >= deadline:
            return reached
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0)))


class Standby:
    """One hot standby and its pool (opened lazily: a standby down at start is no error)."""

    def __init__(self, database: Database, pool: asyncpg.Pool) -> None:
        self.database = database
        self.pool = pool
        self.resting_until = 0.0

    @property
    def name(self) -> str:
        return f"{self.database.host}:{self.database.port}"


class ReadPools:
    """The pools the HTTP reads take connections from."""

    def __init__(self, primary: asyncpg.Pool, standbys: list[Standby]) -> None:
        self.primary = primary
        self.standbys = standbys
        self._turn = itertools.cycle(range(len(standbys))) if standbys else None

    @classmethod
    async def open(cls, primary: asyncpg.Pool, urls: tuple[str, ...], size: int) -> ReadPools:
        standbys = []
        for url in urls:
            database = Database.from_url(url)
            pool = await asyncpg.create_pool(
                **database.asyncpg_kwargs(),
                min_size=0,
                max_size=size,
                timeout=2,
                connection_class=StandbyConnection,
            )
            assert pool is not None
            standbys.append(Standby(database, pool))
        return cls(primary, standbys)

    async def close(self) -> None:
        for standby in self.standbys:
            await standby.pool.close()

    def _in_turn(self) -> list[Standby]:
        if self._turn is None:
            return []
        first = next(self._turn)
        now = time.monotonic()
        ordered = self.standbys[first:] + self.standbys[:first]
        return [s for s in ordered if s.resting_until <= now]

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A connection for one read: the next standby that answers, else the primary."""
        for standby in self._in_turn():
            try:
                conn = await standby.pool.acquire(timeout=2)
            except _UNREACHABLE as error:
                standby.resting_until = time.monotonic() + REST_SECONDS
                log.warning("read standby %s unreachable (%s); reads go elsewhere", standby.name, type(error).__name__)
                continue
            try:
                yield conn
            finally:
                await standby.pool.release(conn)
            return
        async with self.primary.acquire() as conn:
            yield conn

    async def status(self, head: int) -> list[dict[str, Any]]:
        """Each standby's reachability and lag behind the primary's log ``head``: the
        positions not yet readable there, and the seconds since its last replayed commit."""
        answers: list[dict[str, Any]] = []
        for standby in self.standbys:
            try:
                conn = await asyncpg.connect(**standby.database.asyncpg_kwargs(), timeout=2)
                try:
                    position = await eventlog.applied_position(conn)
                    row = await conn.fetchrow(
                        "SELECT pg_is_in_recovery() AS standby,"
                        " extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS behind"
                    )
                finally:
                    await conn.close()
            except Exception as error:  # readiness answers, never fails
                answers.append({"standby": standby.name, "status": "unreachable", "error": type(error).__name__})
                continue
            assert row is not None
            behind = row["behind"]
            answers.append(
                {
                    "standby": standby.name,
                    "status": "ok" if row["standby"] else "not_in_recovery",
                    "position": position,
                    "lag": max(head - position, 0),
                    "replay_delay_seconds": None if behind is None else round(float(behind), 3),
                }
            )
        return answers
