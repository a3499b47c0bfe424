"""This process's one LISTEN connection: what other processes tell it (revoked tokens,
erased learners), and a barrier that says "everything told before now has been heard".

Invariants:
- every notification committed before ``barrier()`` was called has been handed to its
  handler when ``barrier()`` returns True: PostgreSQL sends a listening session's pending
  notifications before its answer to the next query, and asyncpg dispatches them in the
  order they arrive, ahead of waking whoever awaits that answer;
- concurrent barriers share one round trip, and a caller never joins a round already
  sent (it may have left before the caller's notification was committed): at most one
  round is in flight and one is gathering callers;
- a lost connection is reopened with backoff; notifications sent while it was down are
  lost, so every ``on_gap`` hook runs when it is found lost and again when it is back;
  while it is down ``barrier()`` returns False and callers must not trust their caches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

APPLICATION_NAME = "creditbank-notifications"  # how operators tell this session apart
BARRIER_TIMEOUT = 2.0
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)


class Notifications:
    """Owns the LISTEN connection; ``start()`` opens it, ``close()`` ends it for good."""

    def __init__(
        self,
        connect_kwargs: Mapping[str, Any],
        handlers: Mapping[str, Callable[[str], None]],
        on_gap: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._connect_kwargs = dict(connect_kwargs)
        self._handlers = dict(handlers)
        self._on_gap = list(on_gap)
        self._conn: asyncpg.Connection | None = None
        self._gathering: asyncio.Future[bool] | None = None
        self._in_flight = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False
        self.round_trips = 0  # barriers sent; many callers share each

    @property
    def listening(self) -> bool:
        return self._conn is not None

    async def start(self) -> None:
        await self._open()

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def barrier(self) -> bool:
        """True once every notification committed before this call has been handled;
        False when that cannot be known (no connection), so caches must not be trusted."""
        if self._conn is None:
            return False
        round_ = self._gathering
        if round_ is None:
            round_ = self._gathering = asyncio.get_running_loop().create_future()
            if not self._in_flight:
                self._send_round()
        # Shielded: one caller's cancellation must not cancel the round for the others.
        return await asyncio.shield(round_)

    def _send_round(self) -> None:
        round_, self._gathering = self._gathering, None
        assert round_ is not None
        self._in_flight = True
        self.round_trips += 1
        asyncio.get_running_loop().create_task(self._round_trip(round_))

    async def _round_trip(self, round_: asyncio.Future[bool]) -> None:
        heard = False
        conn = self._conn
        try:
            if conn is not None:
                await conn.execute("SELECT 1", timeout=BARRIER_TIMEOUT)
                heard = True
        except Exception:  # any failure means the connection cannot vouch for what it heard
            log.warning("notification connection failed a barrier; reopening it")
            self._lost(conn)
        finally:
            self._in_flight = False
            if not round_.done():
                round_.set_result(heard)
            if self._gathering is not None:
                if self._conn is None:
                    waiting, self._gathering = self._gathering, None
                    waiting.set_result(False)
                else:
                    self._send_round()

    async def _open(self) -> None:
        settings = {**self._connect_kwargs.get("server_settings", {}), "application_name": APPLICATION_NAME}
        conn = await asyncpg.connect(**{**self._connect_kwargs, "server_settings": settings})
        try:
            for channel, handler in self._handlers.items():
                await conn.add_listener(channel, self._dispatcher(handler))
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(lambda closed: self._lost(closed))
        self._conn = conn

    @staticmethod
    def _dispatcher(handler: Callable[[str], None]) -> Callable[..., None]:
        def dispatch(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            handler(payload)

        return dispatch

    def _lost(self, conn: object) -> None:
        lost = self._conn
        if lost is None or id(conn) != id(lost):
            return
        lost.terminate()  # a no-op on a connection already closed
        self._conn = None
        self._gap()
        if not self._closed and self._reconnecting is None:
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    def _gap(self) -> None:
        for hook in self._on_gap:
            hook()

    async def _reconnect(self) -> None:
        attempt = 0
        try:
            while not self._closed:
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
                try:
                    await self._open()
                except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    continue
                # What was cached while the connection was down was never vouched for.
                self._gap()
                log.info("notification connection reopened after %d attempts", attempt)
                return
        finally:
            self._reconnecting = None
