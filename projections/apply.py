"""Applying one batch of decoded events to the read models, inside the caller's transaction.

Invariants:
- writes to one table happen in event order: consecutive writes of the same statement
  are sent together (``executemany`` or ``COPY``), but a write never overtakes an earlier
  one to the same table, so "recorded then revoked" in one batch lands as it happened.
  Writes to different tables are independent (no statement reads another table), so
  each table's writes are sent as one sequence;
- every event, known or not, gets exactly one ``rm_event_index`` row carrying its chain
  hash; an unknown event type changes nothing else;
- ids that events do not carry (the learner of a revocation or role change, the provider
  of a suspension) come from the batch itself or from one look-up per table per batch,
  never from a query per event. These mappings never change once made, so they are safe
  to read inside any transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

from projections import personal, policies, read_models
from projections.core import (
    COMPLETION_RECORDED,
    COMPLETION_REVOKED,
    LEARNER_CORRECTED,
    LEARNER_ERASED,
    LEARNER_REGISTERED,
    PROVIDER_ACCREDITED,
    PROVIDER_REACCREDITED,
    PROVIDER_REINSTATED,
    PROVIDER_SUSPENDED,
    ROLE_ENDED,
    ROLE_STARTED,
)
from projections.events import Decoded

_LEARNER_LATER: Final = frozenset({ROLE_STARTED, ROLE_ENDED, LEARNER_ERASED, LEARNER_CORRECTED})
_PROVIDER_LATER: Final = frozenset({PROVIDER_REACCREDITED, PROVIDER_SUSPENDED, PROVIDER_REINSTATED})

# A write is either ("copy", table, columns) or ("sql", statement); rows accumulate per run.
_Key = tuple[str, ...]

_INDEX_COLUMNS: Final = (
    "position",
    "event_id",
    "originator_id",
    "originator_version",
    "type",
    "learner_id",
    "provider_id",
    "recorded_at",
    "chain_hash",
)
_COMPLETION_COPY: Final[_Key] = (
    "copy",
    "rm_completions",
    "completion_id",
    "provider_id",
    "record_id",
    "learner_id",
    "programme_code",
    "programme_title",
    "category",
    "level",
    "hours",
    "assessment",
    "completed_on",
    "started_on",
    "topics",
    "event_id",
    "recorded_position",
    "recorded_at",
)
_LEARNER_INSERT: Final[_Key] = (
    "sql",
    "INSERT INTO rm_learners (learner_id, learner_uuid, name, jurisdiction, school, hired_on,"
    " registered_position, registered_event_id, registered_at, subject)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
)
# One statement (on rm_learners, so it runs in order with the registrations): the details
# before, as the statement's snapshot sees them, are kept; then the correction applies.
_LEARNER_CORRECT: Final[_Key] = (
    "sql",
    "WITH before AS (SELECT learner_id, name, school, hired_on FROM rm_learners WHERE learner_id = $1),"
    " kept AS (INSERT INTO rm_learner_corrections (learner_id, position, corrected, name_before,"
    " school_before, hired_on_before) SELECT learner_id, $2, $3::text[], name, school, hired_on FROM before)"
    " UPDATE rm_learners SET name = CASE WHEN 'name' = ANY($3::text[]) THEN $4 ELSE name END,"
    " school = $5, hired_on = $6 WHERE learner_id = $1",
)
_ROLE_INSERT: Final[_Key] = (
    "sql",
    "INSERT INTO rm_learner_roles (learner_id, started_position, ordinal, role, since, until,"
    " ended_position) VALUES ($1, $2, $3, $4, $5, $6, $7)",
)
_ROLE_END: Final[_Key] = (
    "sql",
    "UPDATE rm_learner_roles SET until = $3, ended_position = $4 WHERE learner_id = $1 AND role = $2 AND until IS NULL",
)
_PROVIDER_INSERT: Final[_Key] = (
    "sql",
    "INSERT INTO rm_providers (provider_id, provider_uuid, name, jurisdiction, categories,"
    " levels, valid_from, valid_to, accredited_position, updated_position)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
)
_PROVIDER_REACCREDIT: Final[_Key] = (
    "sql",
    "UPDATE rm_providers SET name = $2, jurisdiction = $3, categories = $4, levels = $5,"
    " valid_from = $6, valid_to = $7, updated_position = $8 WHERE provider_uuid = $1",
)
_PROVIDER_SUSPEND: Final[_Key] = (
    "sql",
    "UPDATE rm_providers SET suspended = $2, suspension_reason = $3, updated_position = $4 WHERE provider_uuid = $1",
)
_COMPLETION_REVOKE: Final[_Key] = (
    "sql",
    "UPDATE rm_completions SET revoked_position = $2, revoked_event_id = $3, revoked_at = $4,"
    " revocation_reason = $5, revoked_by = $6 WHERE completion_id = $1",
)


class _Writes:
    """Per table, runs of rows per statement, in event order."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[_Key, list[tuple[Any, ...]]]]] = {}

    def add(self, key: _Key, row: tuple[Any, ...]) -> None:
        # By identity: hashing a statement tuple (its every string) per row costs more.
        table = _TABLE_BY_ID.get(id(key)) or _TABLE_OF[key]
        runs = self.tables.get(table)
        if runs is None:
            self.tables[table] = [(key, [row])]
        elif runs[-1][0] is key:
            runs[-1][1].append(row)
        else:
            runs.append((key, [row]))

    async def send(self, conn: Any) -> None:
        for key, rows in (run for runs in self.tables.values() for run in runs):
            if key[0] == "copy":
                await conn.copy_records_to_table(key[1], records=rows, columns=list(key[2:]))
            elif len(rows) == 1:
                await conn.execute(key[1], *rows[0])
            else:
                await conn.executemany(key[1], rows)


_TABLE_OF: Final[dict[_Key, str]] = {
    _COMPLETION_COPY: "rm_completions",
    _COMPLETION_REVOKE: "rm_completions",
    _LEARNER_INSERT: "rm_learners",
    _LEARNER_CORRECT: "rm_learners",
    _ROLE_INSERT: "rm_learner_roles",
    _ROLE_END: "rm_learner_roles",
    _PROVIDER_INSERT: "rm_providers",
    _PROVIDER_REACCREDIT: "rm_providers",
    _PROVIDER_SUSPEND: "rm_providers",
    policies.INSERT: "rm_policies",
}
_TABLE_BY_ID: Final[dict[int, str]] = {id(key): table for key, table in _TABLE_OF.items()}


_TYPE_NAMES: dict[str, str] = {}


def _type_name(e: Decoded) -> str:
    """``e.type``, remembered per topic (a handful of topics, one string operation each)."""
    name = _TYPE_NAMES.get(e.topic)
    if name is None:
        name = e.type
        if len(_TYPE_NAMES) < 10_000:  # bounded: topics come from the stored log
            _TYPE_NAMES[e.topic] = name
    return name


async def _lookup(conn: Any, sql: str, ids: set[UUID]) -> dict[UUID, Any]:
    if not ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in await conn.fetch(sql, list(ids))}


async def apply_batch(conn: Any, events: Sequence[Decoded], hashes: Sequence[bytes]) -> set[str]:
    """Write ``events`` (with their chain ``hashes``) to the read models on ``conn``, which
    must be inside a transaction. Answers the tables an erasure scrubbed (to vacuum once
    the transaction has committed)."""
    learners: dict[UUID, str] = {}
    providers: dict[UUID, str] = {}
    completions: dict[UUID, tuple[str, str]] = {}  # -> (learner_id, provider_id)
    want_learners: set[UUID] = set()
    want_providers: set[UUID] = set()
    want_completions: set[UUID] = set()
    for e in events:
        if not e.known:
            continue
        topic, oid, f = e.topic, e.originator_id, e.fields
        if topic == COMPLETION_RECORDED:
            continue  # the common case; wanted only by a revocation (below)
        if topic == COMPLETION_REVOKED:
            want_completions.add(oid)
        elif topic == LEARNER_REGISTERED:
            learners[oid] = f["learner_id"]
        elif topic in _LEARNER_LATER:
            want_learners.add(oid)
        elif topic == PROVIDER_ACCREDITED:
            providers[oid] = f["provider_id"]
        elif topic in _PROVIDER_LATER:
            want_providers.add(oid)
    if want_completions:
        for e in events:
            if e.topic == COMPLETION_RECORDED and e.known and e.originator_id in want_completions:
                completions[e.originator_id] = (e.fields["learner_id"], e.fields["provider_id"])
    for oid, (learner_id,) in (
        await _lookup(
            conn,
            "SELECT learner_uuid, learner_id FROM rm_learners WHERE learner_uuid = ANY($1)",
            want_learners - learners.keys(),
        )
    ).items():
        learners[oid] = learner_id
    for oid, (provider_id,) in (
        await _lookup(
            conn,
            "SELECT provider_uuid, provider_id FROM rm_providers WHERE provider_uuid = ANY($1)",
            want_providers - providers.keys(),
        )
    ).items():
        providers[oid] = provider_id
    for oid, pair in (
        await _lookup(
            conn,
            "SELECT completion_id, learner_id, provider_id FROM rm_completions WHERE completion_id = ANY($1)",
            want_completions - completions.keys(),
        )
    ).items():
        completions[oid] = pair

    writes = _Writes()
    index: list[tuple[Any, ...]] = []
    append = index.append
    for e, chain_hash in zip(events, hashes, strict=True):
        learner_id, provider_id = _apply_one(e, writes, learners, providers, completions)
        append(
            (
                e.position,
                e.event_id,
                e.originator_id,
                e.originator_version,
                _type_name(e),
                learner_id,
                provider_id,
                e.recorded_at,
                chain_hash,
            )
        )
    await conn.copy_records_to_table("rm_event_index", records=index, columns=list(_INDEX_COLUMNS))
    await writes.send(conn)
    for apply_model in read_models.APPLIED_AFTER:
        await apply_model(conn, events)
    # Last, so that rows this batch wrote for the learner are scrubbed too.
    scrubbed: set[str] = set()
    for e in events:
        if e.topic == LEARNER_ERASED and e.known:
            number = learners.get(e.originator_id)
            if number is not None and e.fields.get("subject"):
                scrubbed.update(await personal.scrub(conn, number, e.fields["subject"]))
    return scrubbed


def _apply_one(
    e: Decoded,
    writes: _Writes,
    learners: dict[UUID, str],
    providers: dict[UUID, str],
    completions: dict[UUID, tuple[str, str]],
) -> tuple[str | None, str | None]:
    """Queue the writes of one event; answer the (learner_id, provider_id) it concerns."""
    if not e.known:
        return None, None
    topic, oid, f, pos = e.topic, e.originator_id, e.fields, e.position
    if topic == COMPLETION_RECORDED:
        writes.add(
            _COMPLETION_COPY,
            (
                oid,
                f["provider_id"],
                f["record_id"],
                f["learner_id"],
                f["programme_code"],
                f["programme_title"],
                f["category"],
                f["level"],
                f["hours"],
                f["assessment"],
                f["completed_on"],
                f.get("started_on"),
                list(f.get("topics") or ()),
                e.event_id,
                pos,
                e.recorded_at,
            ),
        )
        return f["learner_id"], f["provider_id"]
    if topic == COMPLETION_REVOKED:
        writes.add(
            _COMPLETION_REVOKE,
            (oid, pos, e.event_id, e.recorded_at, f.get("reason"), f.get("revoked_by")),
        )
        return completions.get(oid, (None, None))
    if topic == LEARNER_REGISTERED:
        learner_id = f["learner_id"]
        writes.add(
            _LEARNER_INSERT,
            (
                learner_id,
                oid,
                f.get("name"),
                f["jurisdiction"],
                f.get("school"),
                f.get("hired_on"),
                pos,
                e.event_id,
                e.recorded_at,
                f.get("subject"),
            ),
        )
        for ordinal, spell in enumerate(f.get("roles") or ()):
            until = spell.get("until")
            writes.add(
                _ROLE_INSERT,
                (
                    learner_id,
                    pos,
                    ordinal,
                    spell["role"],
                    spell["since"],
                    until,
                    pos if until is not None else None,
                ),
            )
        return learner_id, None
    if topic == ROLE_STARTED:
        learner = learners.get(oid)
        if learner is not None:
            writes.add(_ROLE_INSERT, (learner, pos, 0, f["role"], f["since"], None, None))
        return learner, None
    if topic == LEARNER_CORRECTED:
        learner = learners.get(oid)
        if learner is not None:
            corrected = list(f["corrected"])
            writes.add(_LEARNER_CORRECT, (learner, pos, corrected, f.get("name"), f.get("school"), f.get("hired_on")))
        return learner, None
    if topic == LEARNER_ERASED:
        return learners.get(oid), None  # scrubbed with the rest once the batch is written
    if topic == ROLE_ENDED:
        learner = learners.get(oid)
        if learner is not None:
            writes.add(_ROLE_END, (learner, f["role"], f["until"], pos))
        return learner, None
    if topic == PROVIDER_ACCREDITED:
        writes.add(
            _PROVIDER_INSERT,
            (
                f["provider_id"],
                oid,
                f["name"],
                f["jurisdiction"],
                list(f["categories"]),
                list(f["levels"]),
                f["valid_from"],
                f.get("valid_to"),
                pos,
            ),
        )
        return None, f["provider_id"]
    if topic == PROVIDER_REACCREDITED:
        writes.add(
            _PROVIDER_REACCREDIT,
            (
                oid,
                f["name"],
                f["jurisdiction"],
                list(f["categories"]),
                list(f["levels"]),
                f["valid_from"],
                f.get("valid_to"),
                pos,
            ),
        )
    elif topic == PROVIDER_SUSPENDED:
        writes.add(_PROVIDER_SUSPEND, (oid, True, f.get("reason"), pos))
    elif topic == PROVIDER_REINSTATED:
        writes.add(_PROVIDER_SUSPEND, (oid, False, None, pos))
    elif topic == policies.POLICY_PUBLISHED:
        writes.add(policies.INSERT, policies.row(e))
        return None, None
    else:
        # A topic of a read model applied after this pass (or of none): it names its learner.
        return read_models.learner_of(e), read_models.provider_of(e)
    return None, providers.get(oid)
