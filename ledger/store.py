"""The event store: the library's recorders, plus one batched read the ledger needs.

Invariants:
- events are only ever inserted; the library's PostgreSQL recorder locks the event
  table for each insert, so positions (notification ids) become visible in order and
  a reader tailing the log never skips one;
- ``select_with_positions`` reads whole aggregates for many ids in one round trip,
  with each event's global position; it never writes;
- the owner index (``creditbank_owners``: owner key -> aggregate id) is part of the event
  store: its rows are inserted in the transaction that inserts the aggregate's first event
  (the ``owners`` argument of ``insert_events``), so it never lags the log and a command can
  find every completion and certificate of a learner, or every policy of a jurisdiction,
  without a read model; an event store made before the index is backfilled from its events
  when the index is created;
- the write side's transcoder (``LedgerTranscoder``, a fast path in ``ledger.fast_transcoder``)
  stores every event as exactly the bytes the library's ``JSONTranscoder`` would, and decodes
  with the library's code, so events written before and after it read back the same; setting
  ``TRANSCODER_TOPIC`` gives the library's own;
- the ballot pool (``creditbank_ballot_pool``: ballot box id -> sealed ballot) is part of the
  event store too: the ballots of a programme waiting for a tally (``ledger.evaluation``),
  sealed under a key derived from the bank's evaluation secret (key directory), with no
  time, no serial and no id. A box's rows are only ever rewritten whole (``Pool``: delete
  them all, insert the new set, in the order given), in the transaction that records the
  box's event, so every live row of a box was written by the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    InfrastructureFactory,
    InterfaceError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import resolve_topic, retry
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.fast_transcoder import LedgerTranscoder
from ledger.transcodings import DateAsISO as DateAsISO  # the read side imports it from here
from ledger.vault import MemoryVault, PostgresVault

PositionedEvent = tuple[StoredEvent, int]

#: Owner key -> aggregate id, for aggregates found by their owner rather than by their id.
OWNERS_TABLE = "creditbank_owners"
#: (key, aggregate id) pairs passed to ``insert_events`` with an aggregate's first event.
Owners = Sequence[tuple[str, UUID]]
#: Ballots waiting for their box's tally (see ``ledger.evaluation``).
POOL_TABLE = "creditbank_ballot_pool"


@dataclass(frozen=True)
class Pool:
    """The whole new content of one ballot box's pool (sealed ballots, in the order to
    store them), passed to ``insert_events`` with the box's event."""

    box_id: UUID
    sealed: Sequence[str]


#: How the backfill finds the owner of each indexed kind of aggregate in its first event.
_OWNED_BY: dict[str, tuple[str, str]] = {
    "ledger.completion:Completion.Recorded": ("learner:", "learner_id"),
    "ledger.certificate:Certificate.Issued": ("learner:", "learner_id"),
    "ledger.policy:Policy.Created": ("jurisdiction:", "jurisdiction"),
}


def learner_key(subject: str) -> str:
    return f"learner:{subject}"


def jurisdiction_key(jurisdiction: str) -> str:
    return f"jurisdiction:{jurisdiction}"


def ledger_mapper() -> Mapper[UUID]:
    """A mapper that turns stored events back into the ledger's domain events."""
    from eventsourcing.persistence import UUIDAsHex

    # The library's own class (not ``LedgerTranscoder``, which decodes identically): the read
    # side's fast decoder (projections/events.py) is taken only for exactly this transcoder.
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


#: The advisory lock under which the event store's tables are created (and the owner index
#: backfilled): the library's ``IF NOT EXISTS`` and ``CREATE OR REPLACE`` statements are not
#: serialised by PostgreSQL, so processes opening the store together ("tuple concurrently
#: updated") would otherwise fail to start.
SCHEMA_LOCK = 7164612043


class PostgresLedgerRecorder(PostgresVault, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The learner vault is created with the event table (see ``ledger.vault``).
        self.sql_create_statements.append(self.vault_table_statement())
        self.sql_create_statements.append(self._owners_table_statement())
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} (box_id uuid NOT NULL, sealed text NOT NULL); "
                "CREATE INDEX IF NOT EXISTS {2} ON {0}.{1} (box_id)"
            ).format(Identifier(self.datastore.schema), Identifier(POOL_TABLE), Identifier(f"{POOL_TABLE}_box"))
        )

    def create_table(self) -> None:
        """The library's, one process at a time. The library runs its statements in several
        transactions (types first, each alone), so the lock is a session lock held on a
        connection of its own for the whole of it."""
        with self.datastore.get_connection() as conn:
            conn.execute(SQL("SELECT pg_advisory_lock({0})").format(Literal(SCHEMA_LOCK)))
            try:
                super().create_table()
            finally:
                conn.execute(SQL("SELECT pg_advisory_unlock({0})").format(Literal(SCHEMA_LOCK)))

    def _owners_table_statement(self) -> Composed:
        """Create the owner index, and fill it from the events already recorded, once
        (``create_table`` holds ``SCHEMA_LOCK``, so two processes never both backfill)."""
        events = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        owners = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(OWNERS_TABLE))
        backfill = SQL(" UNION ALL ").join(
            SQL(
                "SELECT {prefix} || (convert_from(state, 'UTF8')::jsonb ->> {field}), originator_id FROM {events}"
                " WHERE originator_version = 1 AND topic = {topic}"
            ).format(prefix=Literal(prefix), field=Literal(field), events=events, topic=Literal(topic))
            for topic, (prefix, field) in _OWNED_BY.items()
        )
        return SQL(
            "DO $owners$ BEGIN "
            "IF to_regclass({name}) IS NULL THEN "
            # No unique key: a row is inserted only with its aggregate's first event, which
            # the event table keeps unique. Byte order ("C"): keys are only ever matched.
            'CREATE TABLE {owners} (key text COLLATE "C" NOT NULL, originator_id uuid NOT NULL); '
            "CREATE INDEX {index} ON {owners} (key); "
            "IF to_regclass({events_name}) IS NOT NULL THEN INSERT INTO {owners} {backfill}; END IF; "
            "END IF; END $owners$"
        ).format(
            name=Literal(f"{self.datastore.schema}.{OWNERS_TABLE}"),
            owners=owners,
            index=Identifier(f"{OWNERS_TABLE}_key"),
            events_name=Literal(f"{self.datastore.schema}.{self.events_table_name}"),
            backfill=backfill,
        )

    # A few quick retries ride out a dropped connection; a database that is down for
    # longer surfaces (as a 503 with Retry-After) instead of holding the request.
    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, owners: Owners = (), pool: Pool | None = None, **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, without psycopg's pipeline mode.

        In pipeline mode a large batch (about 800 events and more) deadlocks: the client
        is still sending the INSERT while the server, blocked writing earlier results,
        stops reading (psycopg issue 685). Here the lock, the notification and the one
        multi-row INSERT run as plain statements in one transaction, so a batch of any
        size commits whole or not at all, still under the table lock that keeps
        positions in commit order. Positions come back in the order of the rows given
        (the INSERT draws them from the sequence as it reads ``unnest``). Uniqueness
        violations surface as the library's ``IntegrityError`` (translated by
        ``get_connection``). ``owners`` go into the owner index, and ``pool`` replaces its
        box's pooled ballots, in the same transaction.
        """
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            preamble = [*self.lock_table_statements, SQL("NOTIFY {0}").format(Identifier(self.channel_name))]
            # One round trip for the lock and the notification (simple query protocol).
            curs.execute(SQL("; ").join(preamble))
            # Four typed arrays, not an array of composites: psycopg dumps these in C,
            # which is an order of magnitude cheaper per event.
            curs.execute(
                self._insert_unnest_statement,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
                # %b: binary array dumping skips per-element quoting in Python.
            )
            positions = [row["notification_id"] for row in curs.fetchall()]
            if owners:
                curs.execute(self._insert_owners_statement, ([k for k, _ in owners], [i for _, i in owners]))
            if pool is not None:
                self._rewrite_pool(curs, pool)
            return positions

    def _rewrite_pool(self, curs: Any, pool: Pool) -> None:
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(POOL_TABLE))
        curs.execute(SQL("DELETE FROM {0} WHERE box_id = %s").format(table), [pool.box_id])
        if pool.sealed:
            curs.execute(
                SQL("INSERT INTO {0} (box_id, sealed) SELECT %s, unnest(%s::text[])").format(table),
                [pool.box_id, list(pool.sealed)],
            )

    def pooled(self, box_id: UUID) -> list[str]:
        """The sealed ballots waiting in this box's pool (in no meaningful order)."""
        statement = SQL("SELECT sealed FROM {0}.{1} WHERE box_id = %s").format(
            Identifier(self.datastore.schema), Identifier(POOL_TABLE)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [box_id])
            return [row["sealed"] for row in curs.fetchall()]

    @property
    def _insert_owners_statement(self) -> Composed:
        return SQL(
            "INSERT INTO {schema}.{table} (key, originator_id) SELECT * FROM unnest(%b::text[], %b::uuid[])"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(OWNERS_TABLE))

    def select_owned(self, keys: Iterable[str]) -> list[UUID]:
        """The ids of the aggregates these owner keys own (see the owner index)."""
        wanted = list(keys)
        if not wanted:
            return []
        statement = SQL("SELECT originator_id FROM {schema}.{table} WHERE key = ANY(%b)").format(
            schema=Identifier(self.datastore.schema), table=Identifier(OWNERS_TABLE)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [wanted], prepare=True)
            return [row["originator_id"] for row in curs.fetchall()]

    @property
    def _insert_unnest_statement(self) -> Composed:
        return SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    def select_with_positions(self, originator_ids: Iterable[UUID]) -> list[PositionedEvent]:
        ids = list(originator_ids)
        if not ids:
            return []
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state, notification_id "
            "FROM {schema}.{table} WHERE originator_id = ANY(%b) "
            "ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [ids], prepare=True)
            return [
                (
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    ),
                    row["notification_id"],
                )
                for row in curs.fetchall()
            ]

    def select_existing(self, originator_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates exist (have a first event): ids only, nothing decoded."""
        ids = list(originator_ids)
        if not ids:
            return set()
        statement = SQL(
            "SELECT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%b) AND originator_version = 1"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [ids], prepare=True)
            return {row["originator_id"] for row in curs.fetchall()}


def _ledger_transcoder(env: Any) -> Transcoder:
    """The library's choice if ``TRANSCODER_TOPIC`` is set, else ``LedgerTranscoder``."""
    topic = env.get(InfrastructureFactory.TRANSCODER_TOPIC)
    transcoder: Transcoder = resolve_topic(topic)() if topic else LedgerTranscoder()
    return transcoder


class PostgresLedgerFactory(PostgresFactory):
    application_recorder_class = PostgresLedgerRecorder

    def transcoder(self) -> Transcoder:
        return _ledger_transcoder(self.env)


class MemoryLedgerRecorder(MemoryVault, POPOApplicationRecorder):
    def __init__(self) -> None:
        MemoryVault.__init__(self)
        POPOApplicationRecorder.__init__(self)
        self._owned: dict[str, list[UUID]] = {}
        self._pool: dict[UUID, list[str]] = {}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], *, owners: Owners = (), pool: Pool | None = None, **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            positions = super().insert_events(stored_events, **kwargs)
            if pool is not None:
                self._pool[pool.box_id] = list(pool.sealed)
            for key, originator_id in owners:
                owned = self._owned.setdefault(key, [])
                if originator_id not in owned:
                    owned.append(originator_id)
            return positions

    def select_owned(self, keys: Iterable[str]) -> list[UUID]:
        with self._database_lock:
            return [i for key in keys for i in self._owned.get(key, ())]

    def pooled(self, box_id: UUID) -> list[str]:
        with self._database_lock:
            return list(self._pool.get(box_id, ()))

    def select_with_positions(self, originator_ids: Iterable[UUID]) -> list[PositionedEvent]:
        with self._database_lock:
            found: list[PositionedEvent] = []
            for originator_id in originator_ids:
                index = self._stored_events_index.get(str(originator_id), {})
                for version in sorted(index):
                    found.append((self._stored_events[index[version]], index[version] + 1))
            return found

    def select_existing(self, originator_ids: Iterable[UUID]) -> set[UUID]:
        with self._database_lock:
            return {i for i in originator_ids if self._stored_events_index.get(str(i))}


class MemoryLedgerFactory(POPOFactory):
    def application_recorder(self) -> MemoryLedgerRecorder:
        return MemoryLedgerRecorder()

    def transcoder(self) -> Transcoder:
        return _ledger_transcoder(self.env)


def postgres_environment(
    *,
    dbname: str,
    host: str,
    port: int,
    user: str,
    password: str,
    pool_size: int = 2,
) -> dict[str, str]:
    """The library's settings for the PostgreSQL event store of this bank."""
    return {
        "PERSISTENCE_MODULE": "ledger.store:PostgresLedgerFactory",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": password,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "2",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": "2",
    }


def memory_environment() -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "ledger.store:MemoryLedgerFactory"}
