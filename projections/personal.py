"""Showing pseudonymous events with the person behind them, for as long as the vault allows.

Invariants:
- the log names a learner only by pseudonym (``ledger.vault``); the read side shows, for a
  pseudonym, the national teacher number while the learner's key is in the vault, and the
  tombstone ``erased:<pseudonym>`` once it is not. Whether the key is there is asked anew
  for every batch of events, so no cache here outlives an erasure;
- sealed values (a registration's or correction's ``personal``, a certificate's ``jws``,
  an erasure's or correction's ``reason``, a service-record fact's or an appointment
  override's ``personal``: reasons and numbers) are opened with the learner's key; without
  the key they become ``None``: the name, the credential and the erasure's reason are gone, the hours, dates and verdict
  inputs stay; an erasure's reason recorded in the clear (older events) is never shown;
- per batch: one query for the keys, at most one for pseudonyms seen before (``rm_learners``)
  and at most one for registrations not yet projected (the log itself);
- a batch is shown from the pairs it found itself: the bounded memory starting again never
  drops a pair the batch needs (it had shown registered learners as erased once a bank held
  more learners than the memory).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import asyncpg

from ledger.certificate import Certificate
from ledger.errors import PersonalDataUnreadable
from ledger.ids import learner_uuid
from ledger.learner import Learner
from ledger.memory import BoundedMemory
from ledger.sealing import unseal
from ledger.service_record import SEALED
from ledger.vault import VAULT_TABLE, tombstone
from projections.eventlog import SELECT_ROWS, topic
from projections.events import Decoded, EventDecoder
from projections.fast_events import FastEventDecoder

LEARNER_REGISTERED: Final = topic(Learner, "Registered")
LEARNER_ERASED: Final = topic(Learner, "Erased")
LEARNER_CORRECTED: Final = topic(Learner, "Corrected")
CERTIFICATE_ISSUED: Final = topic(Certificate, "Issued")
#: Learner events whose free text is sealed in one ``personal`` field, and its names.
SEALED_TOPICS: Final = {topic(Learner, name): names for name, names in SEALED.items()}

log = logging.getLogger(__name__)

#: The longest an erasure's vacuum waits for older snapshots to end (see ``vacuum``).
HORIZON_WAIT_SECONDS: Final = 5.0

#: Pseudonym -> teacher number pairs remembered (the pair never changes; only whether it
#: may be shown does, and that is asked of the vault every time).
MAX_REMEMBERED: Final = 200_000


async def vault_keys(conn: Any, subjects: Iterable[str]) -> dict[str, bytes]:
    """The keys of those ``subjects`` still in the vault (an erased learner's is not)."""
    wanted = list(set(subjects))
    if not wanted:
        return {}
    try:
        rows = await conn.fetch(f"SELECT subject, data_key FROM {VAULT_TABLE} WHERE subject = ANY($1::text[])", wanted)
    except asyncpg.UndefinedTableError:
        return {}  # nothing was ever enrolled in this database
    return {r[0]: bytes(r[1]) for r in rows}


async def open_sealed(conn: Any, sealed: dict[str, Any], name: str) -> dict[str, Any]:
    """Per pseudonym, the field ``name`` of its sealed value, ``None`` once the key is gone
    (asked of the vault now, so an erasure shows at once)."""
    keys = await vault_keys(conn, sealed)
    opened = {s: PersonalData.opened(keys.get(s), s, v) for s, v in sealed.items()}
    return {s: None if o is None else o.get(name) for s, o in opened.items()}


def _subject_of(event: Decoded) -> str | None:
    value = event.fields.get("learner_id") if event.known else None
    return value if isinstance(value, str) and not value.startswith("erased:") else None


class PersonalData:
    """Rewrites decoded events in place: pseudonym -> teacher number or tombstone."""

    def __init__(self, decoder: EventDecoder | None = None) -> None:
        self._numbers: BoundedMemory[str, str] = BoundedMemory(MAX_REMEMBERED)
        self._decoder = decoder or FastEventDecoder()

    async def keys(self, conn: Any, subjects: Iterable[str]) -> dict[str, bytes]:
        return await vault_keys(conn, subjects)

    async def reveal(self, conn: Any, events: Sequence[Decoded]) -> None:
        subjects = {s for s in map(_subject_of, events) if s is not None}
        if not subjects:
            return
        keys = await self.keys(conn, subjects)
        # The batch is shown from its own pairs, found before the memory may start again.
        numbers = self._numbers.known(subjects)
        for e in events:
            if e.topic == LEARNER_REGISTERED and _subject_of(e) in keys:
                self._open_registration(e, keys, numbers)
        await self._remember(conn, {s for s in subjects if s in keys and s not in numbers}, keys, numbers)
        self._numbers.keep(numbers)
        for e in events:
            subject = _subject_of(e)
            if subject is None:
                continue
            shown = numbers.get(subject) if subject in keys else None
            f = e.fields
            f["learner_id"] = shown if shown is not None else tombstone(subject)
            f["subject"] = subject
            if e.topic == LEARNER_REGISTERED:
                f.setdefault("name", None)
                f.pop("personal", None)
            elif e.topic == LEARNER_CORRECTED:
                key = keys.get(subject)
                if "name" in (f.get("corrected") or ()):
                    f["name"] = self._open(key, subject, f.get("personal"), "name")
                f.pop("personal", None)
                f["reason"] = self._open(key, subject, f.get("reason"), "reason")
            elif e.topic == CERTIFICATE_ISSUED and "jws" in f:
                f["jws"] = self._open(keys.get(subject), subject, f["jws"], "jws")
            elif e.topic in SEALED_TOPICS:
                # The service record's free text and an override's reason: sealed in ``personal``.
                opened = self.opened(keys.get(subject), subject, f.pop("personal", None)) or {}
                for name in SEALED_TOPICS[e.topic]:
                    f[name] = opened.get(name)
            elif e.topic == LEARNER_ERASED:
                # Sealed under a key destroyed with the erasure; one recorded in the clear
                # (before reasons were sealed) is not shown either: it may name the person.
                f["reason"] = self._open(keys.get(subject), subject, f.get("reason"), "reason")

    def _open_registration(self, e: Decoded, keys: dict[str, bytes], numbers: dict[str, str]) -> None:
        subject = e.fields["learner_id"]
        opened = self.opened(keys.get(subject), subject, e.fields.get("personal"))
        if opened is not None:
            e.fields["name"] = opened.get("name")
            numbers[subject] = str(opened["learner_id"])

    async def _remember(self, conn: Any, subjects: set[str], keys: dict[str, bytes], numbers: dict[str, str]) -> None:
        """Find the teacher numbers of pseudonyms met before (projected, or only logged),
        into ``numbers``."""
        if not subjects:
            return
        for subject, number in await conn.fetch(
            "SELECT subject, learner_id FROM rm_learners WHERE subject = ANY($1::text[])", list(subjects)
        ):
            if not number.startswith("erased:"):
                numbers[subject] = number
        rest = [s for s in subjects if s not in numbers]
        if not rest:
            return
        # Registered ahead of the projection (a reader running ahead of it): open the log's copy.
        by_id = {learner_uuid(s): s for s in rest}
        rows = await conn.fetch(
            SELECT_ROWS + " WHERE originator_id = ANY($1::uuid[]) AND originator_version = 1",
            list(by_id),
        )
        for r in rows:
            decoded = self._decoder.decode(r[0], r[1], r[2], r[3], bytes(r[4]))
            if decoded.topic == LEARNER_REGISTERED and _subject_of(decoded) in keys:
                self._open_registration(decoded, keys, numbers)

    @staticmethod
    def opened(key: bytes | None, subject: str, sealed: Any) -> dict[str, Any] | None:
        """What ``sealed`` holds, ``None`` without the key or if it does not open."""
        if key is None or not isinstance(sealed, str):
            return None
        try:
            return unseal(key, subject, sealed)
        except PersonalDataUnreadable:
            return None

    def _open(self, key: bytes | None, subject: str, sealed: Any, name: str) -> Any:
        opened = self.opened(key, subject, sealed)
        return None if opened is None else opened.get(name)


async def scrub(conn: Any, number: str, subject: str) -> list[str]:
    """Replace a teacher number by its tombstone in every read model (every ``rm_`` table with
    a ``learner_id``, and the institution audit's refused posts), and drop the name and the
    credentials that state it (run when ``Learner.Erased`` is applied). Keyed on the event's
    pseudonym, not on what the number looks like (a number recorded as ``erased:…`` is a
    number like any other). Answers the tables it changed, for ``vacuum``."""
    gone = tombstone(subject)
    if number == gone:
        return []  # scrubbed already: a rebuild meets the erasure with the key long gone
    tables = {
        r[0]
        for r in await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'learner_id' AND (table_name LIKE 'rm\\_%' OR table_name = 'audit_rejections')"
        )
    }
    await conn.execute("UPDATE rm_learners SET name = NULL WHERE subject = $1", subject)
    # Names a correction replaced (keyed by number: the loop below tombstones it after).
    await conn.execute("UPDATE rm_learner_corrections SET name_before = NULL WHERE learner_id = $1", number)
    if "rm_certificates" in tables:
        await conn.execute("UPDATE rm_certificates SET jws = NULL, credential = NULL WHERE learner_id = $1", number)
    if "audit_rejections" in tables:
        # Rows kept by number (before refused posts were kept by pseudonym) lose it.
        await conn.execute(
            "UPDATE audit_rejections SET detail = replace(detail, $1, '(learner)'), learner_id = NULL,"
            " subject = $2 WHERE learner_id = $1",
            number,
            subject,
        )
    for table in sorted(tables - {"audit_rejections"}):
        await conn.execute(f'UPDATE "{table}" SET learner_id = $2 WHERE learner_id = $1', number, gone)
    return sorted(tables | {"rm_learners"})


async def transaction_id(conn: Any) -> int:
    """The id of ``conn``'s current transaction (assigning one): what ``vacuum`` waits past."""
    return int(await conn.fetchval("SELECT pg_current_xact_id()::text")) % 2**32


async def vacuum(
    conn: Any, tables: Iterable[str], after: int, *, full: bool = False, wait: float = HORIZON_WAIT_SECONDS
) -> None:
    """VACUUM the tables a scrub changed, so the number and name do not stay in their dead
    row versions until autovacuum comes by. Outside any transaction (VACUUM refuses to run
    in one): call it once the scrub's transaction (id ``after``, ``transaction_id``) has
    committed. A row version it replaced stays while any session holds a snapshot or a
    transaction as old as it, so this first waits until none of the database does (polling
    ``pg_stat_activity``), and vacuums again while PostgreSQL reports row versions "not yet
    removable" (a backend starting up in any database briefly holds every horizon back);
    both within ``wait`` seconds, after which what is left waits for the next vacuum.
    ``full`` rewrites the tables (an exclusive lock while it runs: only for small ones), so
    not even a page's free space keeps the bytes of a removed row version."""
    names = sorted(set(tables))
    if not names:
        return
    deadline = asyncio.get_running_loop().time() + wait
    while await conn.fetchval(_OLDER_SNAPSHOTS, str(after)):
        if asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.02)
    kept: list[int] = []

    def heard(_: Any, message: Any) -> None:
        text = f"{message.message} {getattr(message, 'detail', None) or ''}"
        kept.extend(int(n) for n in _NOT_YET_REMOVABLE.findall(text))

    statement = ("VACUUM (FULL, VERBOSE) " if full else "VACUUM (VERBOSE) ") + ", ".join(f'"{t}"' for t in names)
    conn.add_log_listener(heard)
    try:
        while True:
            kept.clear()
            await conn.execute(statement)
            if not any(kept):
                return
            if asyncio.get_running_loop().time() >= deadline:
                log.info("%d row versions replaced by an erasure are left for the next vacuum", sum(kept))
                return
            await asyncio.sleep(0.05)
    finally:
        conn.remove_log_listener(heard)


#: What VACUUM VERBOSE says of row versions it had to keep (lazy, then FULL).
_NOT_YET_REMOVABLE: Final = re.compile(
    r"(\d+) (?:are dead but not yet removable|dead row versions cannot be removed yet)"
)

#: Sessions of this database whose snapshot or transaction is as old as transaction ``$1``
#: (either keeps the row versions it replaced from being removed).
_OLDER_SNAPSHOTS: Final = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND (age(backend_xmin) >= age($1::text::xid) OR age(backend_xid) >= age($1::text::xid))"
)
