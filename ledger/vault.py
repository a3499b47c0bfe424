"""The learner vault: the one place a national teacher number meets its pseudonym and key.

Invariants:
- inside the event log a learner is known only by a pseudonym (``subject``, a random UUID
  string drawn here, outside any aggregate); the national teacher number and the name are
  sealed under the learner's own key (``ledger.sealing``);
- the vault holds, per learner, a one-way lookup of the teacher number (SHA-256), the
  subject and the key; it is a table beside the event table, not part of the log;
- enrolling the same teacher number twice, from one process or several, yields the same
  subject and key (``INSERT … ON CONFLICT DO NOTHING`` and read back, one transaction);
- erasure deletes the row: the key is gone, the teacher number no longer leads to the
  subject, and nothing in the log can be opened or linked to the person again.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.sql import SQL, Composed, Identifier

from ledger.sealing import new_key

VAULT_TABLE = "creditbank_learner_vault"


@dataclass(frozen=True)
class Enrolment:
    subject: str
    key: bytes


def lookup_of(learner_id: str) -> bytes:
    return hashlib.sha256(b"creditbank/learner\x1f" + learner_id.encode()).digest()


def tombstone(subject: str) -> str:
    """What the read side shows for a learner whose personal data was erased."""
    return f"erased:{subject}"


def _fresh(learner_ids: Iterable[str]) -> dict[bytes, tuple[str, str, bytes]]:
    return {lookup_of(i): (i, str(uuid.uuid4()), new_key()) for i in set(learner_ids)}


class PostgresVault:
    """Vault operations of the PostgreSQL event store (mixed into its recorder)."""

    datastore: Any

    def vault_table_statement(self) -> Composed:
        return SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            " lookup bytea PRIMARY KEY,"
            " subject text NOT NULL UNIQUE,"
            " data_key bytea NOT NULL,"
            " enrolled_at timestamptz NOT NULL DEFAULT now())"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(VAULT_TABLE))

    def _vault_sql(self, text: str) -> Composed:
        return SQL(text).format(schema=Identifier(self.datastore.schema), table=Identifier(VAULT_TABLE))

    def vault_enrol(self, learner_ids: Sequence[str]) -> dict[str, Enrolment]:
        fresh = _fresh(learner_ids)
        if not fresh:
            return {}
        lookups = list(fresh)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(
                self._vault_sql(
                    "INSERT INTO {schema}.{table} (lookup, subject, data_key) "
                    "SELECT * FROM unnest(%b::bytea[], %b::text[], %b::bytea[]) ON CONFLICT (lookup) DO NOTHING"
                ),
                (lookups, [fresh[k][1] for k in lookups], [fresh[k][2] for k in lookups]),
            )
            curs.execute(
                self._vault_sql("SELECT lookup, subject, data_key FROM {schema}.{table} WHERE lookup = ANY(%b)"),
                [lookups],
            )
            rows = curs.fetchall()
        return {fresh[bytes(r["lookup"])][0]: Enrolment(r["subject"], bytes(r["data_key"])) for r in rows}

    def vault_subjects(self, learner_ids: Iterable[str]) -> dict[str, str]:
        by_lookup = {lookup_of(i): i for i in set(learner_ids)}
        if not by_lookup:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self._vault_sql("SELECT lookup, subject FROM {schema}.{table} WHERE lookup = ANY(%b)"),
                [list(by_lookup)],
                prepare=True,
            )
            return {by_lookup[bytes(r["lookup"])]: r["subject"] for r in curs.fetchall()}

    def vault_keys(self, subjects: Iterable[str]) -> dict[str, bytes]:
        wanted = list(set(subjects))
        if not wanted:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self._vault_sql("SELECT subject, data_key FROM {schema}.{table} WHERE subject = ANY(%s)"),
                [wanted],
            )
            return {r["subject"]: bytes(r["data_key"]) for r in curs.fetchall()}

    def vault_destroy(self, subject: str) -> bool:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._vault_sql("DELETE FROM {schema}.{table} WHERE subject = %s"), [subject])
            return bool(curs.rowcount)


class MemoryVault:
    """The same operations on a dict (tests and the in-memory store)."""

    def __init__(self) -> None:
        self._vault: dict[bytes, Enrolment] = {}
        self._vault_lock = threading.Lock()

    def vault_enrol(self, learner_ids: Sequence[str]) -> dict[str, Enrolment]:
        with self._vault_lock:
            for lookup, (_, subject, key) in _fresh(learner_ids).items():
                self._vault.setdefault(lookup, Enrolment(subject, key))
            return {i: self._vault[lookup_of(i)] for i in learner_ids}

    def vault_subjects(self, learner_ids: Iterable[str]) -> dict[str, str]:
        with self._vault_lock:
            found = {i: self._vault.get(lookup_of(i)) for i in learner_ids}
        return {i: e.subject for i, e in found.items() if e is not None}

    def vault_keys(self, subjects: Iterable[str]) -> dict[str, bytes]:
        wanted = set(subjects)
        with self._vault_lock:
            return {e.subject: e.key for e in self._vault.values() if e.subject in wanted}

    def vault_destroy(self, subject: str) -> bool:
        with self._vault_lock:
            for lookup, entry in list(self._vault.items()):
                if entry.subject == subject:
                    del self._vault[lookup]
                    return True
        return False
