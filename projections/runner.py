"""The projection runner: tails the event log and applies it to the read models.

Invariants:
- exactly once: a batch of events is applied in one transaction that first moves
  ``rm_tracking`` from the position it was read at to the batch's last position
  (compare-and-set). Taking that row lock first serialises rival appliers; the loser
  finds the position moved, rolls back and reloads. So a crash, a rival process or a
  rebuild never applies an event twice or skips one;
- positions are applied in order and without gaps the log does not have (the event store
  makes positions visible in order). While a backlog lasts (a full batch), the next batch
  is read on a second pool connection and decoded while the current one is applied; it
  is used only if it follows exactly the position then applied, and rows read earlier are
  a prefix of what follows that position, so reading ahead changes no outcome;
- the chain hash of every event is computed from the stored row itself, never from a
  decoded (or personal-data-revealed) copy;
- ``rebuild`` commits its batches without waiting for the WAL flush: each batch is still
  atomic with its tracking row, so a database crash can only lose whole trailing
  batches, which the next run applies again;
- at most one process applies while ``run`` is used: it holds a session advisory lock on
  its dedicated connection, and losing that connection loses both lock and applier role
  at once. Others stand by and retry; ``catch_up`` alone is safe anywhere (the CAS);
- the position this runner answers (``applied_position``) never runs behind the tracking
  row it has read: it takes the applier role only once it has loaded that row;
- each applied batch is announced (``NOTIFY creditbank_applied``, payload: the position)
  by the transaction that applies it, so the notice exists exactly when the batch does. A
  process that does not apply follows the notices (``heard_applied``) and asks
  ``rm_tracking`` whenever it may have missed one (``applied_position``, ``lost_track``);
- once caught up (``catch_up``, ``rebuild``, ``run`` between batches) it stores the balance
  answers long batches left pending (``balance_answer.settle``, serialised with batches on
  the tracking row);
- ``run`` survives database errors: it logs, waits with capped exponential backoff and
  reconnects; it ends only on ``stop``;
- an event that cannot be applied is an incident, not a silent stall: when a batch fails
  for any reason but an unreachable database, the events before the one that fails are
  applied (in halving chunks) and that one is recorded (``projections.incidents``:
  position, event id, topic, error; nothing personal) and logged by position and topic;
  ``run`` keeps trying it with the same backoff, which new events do not cut short. The
  transaction that applies past it clears the record, so deploying a fix is enough for
  the read models to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

import asyncpg

from projections import balance_answer, personal
from projections.apply import apply_batch
from projections.chain import GENESIS, chain_hashes
from projections.eventlog import (
    APPLIED_CHAIN_SQL,
    APPLIED_SQL,
    EVENTS_TABLE,
    PROJECTION,
    SELECT_ROWS,
    TRACKING_TABLE,
    applied_position,
    head,
)
from projections.events import Decoded, EventDecoder
from projections.fast_events import FastEventDecoder, event_uuid
from projections.incidents import CLEAR_CTE, EventNotApplied, Incident, describe
from projections.incidents import record as record_incident
from projections.personal import PersonalData
from projections.schema import APPLIER_LOCK_KEY, ensure_schema, reset

log = logging.getLogger(__name__)

#: The event store notifies on a channel named after its table when it inserts events.
CHANNEL: Final = EVENTS_TABLE
_FETCH: Final = SELECT_ROWS + " WHERE notification_id > $1 ORDER BY notification_id LIMIT $2"
#: Each applied batch is announced here (payload: the position reached), so processes that
#: do not apply know the read models' position without asking for it on every read.
APPLIED_CHANNEL: Final = "creditbank_applied"
#: The compare-and-set of the tracking row, announcing the new position when it moved (the
#: notice goes out with the commit, or not at all).
_CAS: Final = (
    f"WITH moved AS (UPDATE {TRACKING_TABLE} SET position = $2, chain_hash = $3, updated_at = now()"
    " WHERE projection = $1 AND position = $4 RETURNING position), "
    + CLEAR_CTE
    + " SELECT pg_notify($5, position::text) FROM moved"
)
#: Failures that say the database cannot be reached (or is busy), not that an event is bad:
#: retried without recording an incident.
_UNREACHABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
)
_MAX_BACKOFF: Final = 30.0
#: Events decoded between two yields to the event loop when decoding ahead (a few ms).
_DECODE_SLICE: Final = 500
#: How long reading ahead waits for a pool connection before doing without one: never
#: long, so that appliers holding connections never wait on each other through the pool.
_SPARE_WAIT: Final = 0.05


class _Moved(Exception):
    """Another applier (or a reset) moved the tracking row; roll back and reload."""


class ProjectionRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        connect_kwargs: Mapping[str, Any] | None = None,
        batch_size: int = 5000,
        poll_interval: float = 0.5,
        decoder: EventDecoder | None = None,
    ) -> None:
        """``connect_kwargs`` open the dedicated LISTEN/applier connection (for example
        ``Database.asyncpg_kwargs()``); without them one pool connection is held instead."""
        self._pool = pool
        self._connect_kwargs = dict(connect_kwargs) if connect_kwargs is not None else None
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._decoder = decoder or FastEventDecoder()
        self._personal = PersonalData(self._decoder)
        self._position = 0
        #: Whether ``_position`` follows the applier's notices (see ``applied_position``).
        self._following = False
        self._head = GENESIS
        self._loaded = False
        self._active = False
        self._stopping = False
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._advanced = asyncio.Event()
        self._running: asyncio.Event | None = None
        #: The next batch being read and decoded meanwhile: (the position it follows, task).
        self._ahead: tuple[int, asyncio.Future[tuple[list[Any], list[Decoded]]]] | None = None
        #: A pool connection held for reading ahead while a backlog is applied.
        self._reader: Any | None = None
        #: The last read ahead started (taken or not): the reader is idle once it is done.
        self._in_flight: asyncio.Future[Any] | None = None
        #: The event this runner last failed to apply, until it applies past it.
        self.incident: Incident | None = None
        #: Failed attempts to apply an event, since this runner started (a counter).
        self.failures = 0

    # -- state ---------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The last position this runner applied or saw applied."""
        return self._position

    @property
    def active(self) -> bool:
        """Whether this runner holds the applier lock."""
        return self._active

    async def applied_position(self, conn: Any, *, hearing: bool) -> int:
        """The read models' position. Known here when this runner applies, or when it
        follows the applier's notices (``hearing``: they reach this process, and have
        since this position was last asked for); otherwise asked of ``rm_tracking``."""
        if self._active or (hearing and self._following):
            return self._position
        reached = await applied_position(conn)
        # Every later batch is announced: from here on the notices keep the position.
        self._following = hearing
        self.heard_applied(reached)
        return self._position

    def heard_applied(self, position: int) -> None:
        """Another process applied up to ``position``; whoever waits for it wakes."""
        if self._active or position <= self._position:
            return
        self._loaded = False  # the chain head held here is stale now
        self._advance(position, self._head)

    def lost_track(self) -> None:
        """Notices of progress may have been missed: ask again before trusting the position."""
        self._following = False

    def _advance(self, position: int, head: bytes) -> None:
        self._position, self._head = position, head
        # Wake everything waiting for progress; later waiters use the fresh event.
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def _reload(self, conn: Any) -> None:
        row = await conn.fetchrow(APPLIED_CHAIN_SQL, PROJECTION)
        if row is None:
            await ensure_schema(conn)
            position, head = 0, GENESIS
        else:
            position, head = int(row["position"]), bytes(row["chain_hash"])
        self._position, self._head, self._loaded = position, head, True

    # -- reading -------------------------------------------------------------------

    def _read_ahead(self, after: int) -> None:
        """Start reading and decoding the batch after ``after`` while the current one is
        applied: the database reads it on another connection, and it is decoded while the
        applying transaction waits on the database, so the two cores work at once. Only
        with a pool connection to spare: the applier holds one, and must not wait on its
        own pool."""
        self._drop_read_ahead()
        if self._reader is None and not self._spare_connection():
            return
        task = asyncio.ensure_future(self._read_decoded(after))
        self._ahead, self._in_flight = (after, task), task

    def _spare_connection(self) -> bool:
        pool = self._pool
        return bool(pool.get_idle_size() > 0 or pool.get_size() < pool.get_max_size())

    @contextlib.asynccontextmanager
    async def _reading_ahead(self) -> AsyncIterator[None]:
        """Hold a pool connection to read ahead on while a backlog is applied (taking one
        from the pool per batch would pay the pool's reset on every release)."""
        reader = None
        if self._spare_connection():
            with contextlib.suppress(TimeoutError):
                reader = await self._pool.acquire(timeout=_SPARE_WAIT)
        if reader is None:
            yield
            return
        self._reader = reader
        try:
            yield
        finally:
            self._ahead = None
            task, self._in_flight = self._in_flight, None
            if task is not None and not task.done():
                # The reader must be idle before it goes back to the pool.
                task.cancel()
                await asyncio.wait([task])
            if task is not None and not task.cancelled():
                task.exception()  # retrieved: a failure here was only a read ahead
            self._reader = None
            await self._pool.release(reader)

    async def _read_decoded(self, after: int) -> tuple[list[Any], list[Decoded]]:
        if self._reader is not None:
            rows = await self._reader.fetch(_FETCH, after, self._batch_size)
        else:
            async with self._pool.acquire(timeout=_SPARE_WAIT) as reader:
                rows = await reader.fetch(_FETCH, after, self._batch_size)
        events: list[Decoded] = []
        for i in range(0, len(rows), _DECODE_SLICE):
            # Between slices the applying transaction goes on as soon as the database answers.
            await asyncio.sleep(0)
            events.extend(self._decoder.decode_rows(rows[i : i + _DECODE_SLICE]))
        return rows, events

    def _drop_read_ahead(self) -> None:
        if self._ahead is not None:
            _, task = self._ahead
            self._ahead = None
            task.cancel()
            # Nobody awaits it now: retrieve any failure so it is not logged as lost.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _batch_after(self, conn: Any, after: int) -> tuple[list[Any], list[Decoded]]:
        """The rows after position ``after`` and their decoding: the batch read ahead if it
        follows ``after`` and holds events, else read now on ``conn``. Rows read earlier are
        as good as rows read now: positions become visible in order, so they are a prefix of
        what follows."""
        if self._ahead is not None and self._ahead[0] == after:
            task = self._ahead[1]
            self._ahead = None
            try:
                rows, events = await task
            except asyncio.CancelledError:
                task.cancel()  # we are cancelled: so is what we waited for
                raise
            except Exception:
                log.debug("reading ahead after %s failed; reading again", after, exc_info=True)
            else:
                if rows:
                    return rows, events
        self._drop_read_ahead()
        fetched: list[Any] = await conn.fetch(_FETCH, after, self._batch_size)
        return fetched, self._decoder.decode_rows(fetched)

    # -- applying ------------------------------------------------------------------

    async def _apply_next(self, conn: Any) -> int:
        """Apply the next batch; answer how many events it held (0: nothing new)."""
        if not self._loaded:
            await self._reload(conn)
        # Take the base before any await: another coroutine may move self._position, and
        # the chain and the CAS must both start from the position the rows follow.
        old, head = self._position, self._head
        try:
            rows, events = await self._batch_after(conn, old)
        except asyncpg.UndefinedTableError:
            return 0  # no event has ever been written in this database
        if not rows:
            return 0
        if len(rows) >= self._batch_size:
            self._read_ahead(rows[-1][0])  # likely more: read it while this batch is applied
        try:
            return await self._apply_rows(conn, old, head, rows, events)
        except _UNREACHABLE:
            raise
        except Exception as error:
            if len(rows) == 1:
                await self._stuck(conn, rows[0], error)
            log.warning(
                "a batch of %s events after position %s cannot be applied; looking for the event", len(rows), old
            )
        return await self._apply_up_to_the_culprit(conn, rows)

    async def _apply_up_to_the_culprit(self, conn: Any, rows: list[Any]) -> int:
        """Some event of ``rows`` cannot be applied: apply what comes before it in halving
        chunks (a few transactions, not one per event), then name it (``_stuck``)."""
        self._drop_read_ahead()
        applied, pending = 0, rows
        while pending:
            chunk = pending
            while True:
                try:
                    # Decoded anew: revealing rewrote the batch's decoded events in place.
                    done = await self._apply_rows(
                        conn, self._position, self._head, chunk, self._decoder.decode_rows(chunk)
                    )
                    break
                except _UNREACHABLE:
                    raise
                except Exception as error:
                    if len(chunk) == 1:
                        await self._stuck(conn, chunk[0], error)
                    chunk = chunk[: len(chunk) // 2]
            if not done:
                return applied  # another applier moved on: it applies the rest
            applied += done
            pending = pending[done:]
        return applied

    async def _apply_rows(self, conn: Any, old: int, head: bytes, rows: list[Any], events: list[Decoded]) -> int:
        """Apply these rows (the ones after ``old``, whose chain head is ``head``) in one
        transaction; answer how many (0: another applier moved the tracking row)."""
        # Pseudonyms -> teacher numbers (or tombstones); the chain below hashes the raw state.
        await self._personal.reveal(conn, events)
        # The rows are (position, originator id, version, topic, state): the chain's own.
        hashes = chain_hashes(rows, head)
        head = hashes[-1]
        new = events[-1].position
        try:
            async with conn.transaction():
                if len(await conn.fetch(_CAS, PROJECTION, new, head, old, APPLIED_CHANNEL)) != 1:
                    raise _Moved
                scrubbed = await apply_batch(conn, events, hashes)
                scrub = await personal.transaction_id(conn) if scrubbed else 0
        except _Moved:
            log.info("tracking moved away from %s under us; reloading", old)
            await self._reload(conn)
            self._advance(self._position, self._head)
            return 0
        if self.incident is not None and self.incident.position <= new:
            log.warning("projection resumed: the event at position %s is applied", self.incident.position)
            self.incident = None
        self._advance(new, head)
        if scrubbed:
            await personal.vacuum(conn, scrubbed, scrub)
        return len(events)

    async def _stuck(self, conn: Any, row: Any, error: Exception) -> None:
        """Record and log that the event of ``row`` cannot be applied; raise ``EventNotApplied``."""
        position, originator_id, version, topic = int(row[0]), row[1], int(row[2]), str(row[3])
        incident = Incident(
            position, str(event_uuid(originator_id, version)), topic, type(error).__name__, describe(error)
        )
        self.incident = incident
        self.failures += 1
        log.error(
            "projection stuck: the event at position %s (%s, event %s) cannot be applied: %s: %s",
            incident.position,
            incident.topic,
            incident.event_id,
            incident.error,
            incident.description,
        )
        try:
            await record_incident(conn, PROJECTION, incident)
        except Exception as failure:  # the log above still names the event
            log.warning("could not record the incident at position %s: %s", position, type(failure).__name__)
        raise EventNotApplied(incident) from None

    async def catch_up(self) -> int:
        """Apply everything available now; answer the position reached."""
        try:
            async with self._pool.acquire() as conn, self._reading_ahead():
                await self._reload(conn)
                while await self._apply_next(conn):
                    pass
                await balance_answer.settle(conn)
        finally:
            self._drop_read_ahead()
        return self._position

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Empty the read models and apply the whole log again; ``progress(done, total)``
        is called after each batch with positions. Answers the position reached."""
        async with self._pool.acquire() as conn:
            await ensure_schema(conn)
            await reset(conn)
            self._advance(0, GENESIS)
            try:
                total = await head(conn)
            except asyncpg.UndefinedTableError:
                total = 0
            # Each batch still commits whole or not at all (with its tracking row), but the
            # rebuild does not wait for each commit's flush: a database crash can only lose
            # the last batches as a whole, and the next run applies them again.
            await conn.execute("SET synchronous_commit = off")
            try:
                async with self._reading_ahead():
                    while await self._apply_next(conn):
                        if progress is not None:
                            progress(self._position, max(total, self._position))
                await balance_answer.settle(conn)
            finally:
                self._drop_read_ahead()
                with contextlib.suppress(Exception):
                    await conn.execute("RESET synchronous_commit")
        return self._position

    # -- waiting -------------------------------------------------------------------

    async def wait_for(self, position: int, timeout: float) -> int:  # noqa: ASYNC109
        """Wait (at most ``timeout`` seconds) until ``position`` is applied, by this
        runner or by whichever process is applying; answer the position reached."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._position < position and not self._active:
                # Another process may be the applier: its progress is in rm_tracking.
                reached = await self._pool.fetchval(APPLIED_SQL, PROJECTION)
                if reached is not None and int(reached) > self._position:
                    self._position = int(reached)
                    self._loaded = False  # the chain head we hold is stale now
            if self._position >= position:
                return self._position
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._position
            advanced = self._advanced
            self._wake.set()  # an applier in poll mode looks now rather than later
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(advanced.wait(), min(remaining, 0.05))

    # -- running -------------------------------------------------------------------

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        """Sleep until woken (a notification, ``stop``) or ``seconds`` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` unless stopped; new events do not cut it short (they would
        retry an event that cannot be applied on every write)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    async def _open(self) -> tuple[Any, Callable[[], Any]]:
        if self._connect_kwargs is not None:
            conn = await asyncpg.connect(**self._connect_kwargs)
            return conn, conn.close
        conn = await self._pool.acquire()
        return conn, lambda: self._pool.release(conn)

    async def run(self) -> None:
        """Apply events as they arrive until ``stop`` is called."""
        self._stopping = False
        self._stop_requested.clear()
        self._running = asyncio.Event()
        backoff = 0.5
        stuck_at: int | None = None  # the position of the last incident: a new one starts the backoff again
        try:
            while not self._stopping:
                try:
                    await self._serve()
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except EventNotApplied as stuck:
                    # Logged (by position and topic) and recorded where it was met.
                    if stuck.incident.position != stuck_at:
                        stuck_at, backoff = stuck.incident.position, 0.5
                    log.info("projection runner retries position %s in %.1f s", stuck_at, backoff)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
                except Exception:
                    log.exception("projection runner failed; retrying in %.1f s", backoff)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
        finally:
            self._active = False
            self._running.set()

    async def _serve(self) -> None:
        conn, close = await self._open()
        try:
            await ensure_schema(conn)
            await conn.add_listener(CHANNEL, self._notified)
            self._loaded = False
            while not self._stopping:
                if not self._active:
                    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", APPLIER_LOCK_KEY):
                        await self._sleep(max(self._poll_interval, 1.0))
                        continue
                    # While it applies, reads take this runner's position as the read models':
                    # it must be the tracking row's before the role is taken, never the one it
                    # started with (0) or held before another applier moved on.
                    await self._reload(conn)
                    self._active = True
                    self._advance(self._position, self._head)
                    log.info("projection runner is now the applier")
                # Caught up: what was left for later is stored a chunk at a time, a short one
                # while events keep arriving, so that they wait for little.
                applied = await self._apply_next(conn)
                if applied >= self._batch_size:
                    continue
                chunk = balance_answer.BETWEEN_BATCHES if applied else balance_answer.SETTLE_CHUNK
                if not await balance_answer.settle(conn, chunks=1, chunk=chunk):
                    await self._sleep(self._poll_interval)
        finally:
            self._active = False
            self._drop_read_ahead()
            # Closing the connection also releases the session advisory lock.
            with contextlib.suppress(Exception):
                await close()

    async def stop(self) -> None:
        """Ask ``run`` to end and wait until it has."""
        self._stopping = True
        self._stop_requested.set()
        self._wake.set()
        if self._running is not None:
            await self._running.wait()
