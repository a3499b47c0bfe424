"""The event store: the library's recorders, plus one batched read the ledger needs.

Invariants:
- events are only ever inserted; the library's PostgreSQL recorder locks the event
  table for each insert, so positions (notification ids) become visible in order and
  a reader tailing the log never skips one;
- ``select_with_positions`` reads whole aggregates for many ids in one round trip,
  with each event's global position; it never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    StoredEvent,
    Transcoding,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

PositionedEvent = tuple[StoredEvent, int]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())


def ledger_mapper() -> Mapper[UUID]:
    """A mapper that turns stored events back into the ledger's domain events."""
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, UUIDAsHex

    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    # A few quick retries ride out a dropped connection; a database that is down for
    # longer surfaces (as a 503 with Retry-After) instead of holding the request.
    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert, without psycopg's pipeline mode.

        In pipeline mode a large batch (about 800 events and more) deadlocks: the client
        is still sending the INSERT while the server, blocked writing earlier results,
        stops reading (psycopg issue 685). Here the lock, the notification and the one
        multi-row INSERT run as plain statements in one transaction, so a batch of any
        size commits whole or not at all, still under the table lock that keeps
        positions in commit order. Positions come back in the order of the rows given
        (the INSERT draws them from the sequence as it reads ``unnest``). Uniqueness
        violations surface as the library's ``IntegrityError`` (translated by
        ``get_connection``).
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
            return [row["notification_id"] for row in curs.fetchall()]

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
            "SELECT originator_id FROM {schema}.{table} "
            "WHERE originator_id = ANY(%b) AND originator_version = 1"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [ids], prepare=True)
            return {row["originator_id"] for row in curs.fetchall()}


class PostgresLedgerFactory(PostgresFactory):
    application_recorder_class = PostgresLedgerRecorder


class MemoryLedgerRecorder(POPOApplicationRecorder):
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


