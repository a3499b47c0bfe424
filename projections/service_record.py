"""The service-record read model: a learner's refusals, appraisals, qualifications and
attested prior certificates (``ledger.service_record``), one row per event.

Invariants:
- ``rm_service_record`` holds one row per service-record event, never updated: its plain
  fields only (``ledger.service_record.PLAIN``) and who recorded it; the sealed free text
  (reasons, numbers) is never copied here, so an erasure leaves nothing of it (the row's
  learner id is tombstoned like every ``rm_`` table's, ``projections.personal.scrub``);
- the facts of a learner as of position P are the rows at or before P, turned into facts by
  the ledger's own ``fact_of``, so they equal the write side's (``ledger.standing``);
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from ledger.eligibility import Facts
from ledger.learner import Learner
from ledger.service_record import EVENTS, PLAIN, Fact, as_data, fact_of, with_record
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready

#: Topic -> the event's name (``ledger.service_record.EVENTS``).
EVENT_OF: Final = {topic(Learner, name): name for name in EVENTS}
TOPICS: Final = frozenset(EVENT_OF)
TABLES: Final = ("rm_service_record",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_service_record (
    learner_id text NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    event text NOT NULL,
    data jsonb NOT NULL,
    recorded_by jsonb NULL,
    recorded_at timestamptz NULL,
    PRIMARY KEY (learner_id, position)
);
"""


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    rows = [
        (
            e.fields["learner_id"],
            e.position,
            e.event_id,
            EVENT_OF[e.topic],
            json.dumps(json_ready({k: e.fields.get(k) for k in PLAIN[EVENT_OF[e.topic]]}), ensure_ascii=False),
            json.dumps(json_ready(e.fields.get("recorded_by")), ensure_ascii=False),
            e.recorded_at,
        )
        for e in events
        if e.known and e.topic in TOPICS
    ]
    if rows:
        await conn.executemany(
            "INSERT INTO rm_service_record (learner_id, position, event_id, event, data, recorded_by, recorded_at)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)",
            rows,
        )


async def _rows(conn: Any, learner_ids: Sequence[str], at_position: int | None) -> list[Any]:
    rows: list[Any] = await conn.fetch(
        "SELECT learner_id, position, event_id, event, data, recorded_by, recorded_at FROM rm_service_record"
        " WHERE learner_id = ANY($1) AND position <= $2 ORDER BY position",
        list(learner_ids),
        bound(at_position),
    )
    return rows


def _fact(r: Any) -> Fact:
    fact = fact_of(r["event"], json.loads(r["data"]), str(r["event_id"]), int(r["position"]))
    assert fact is not None  # every row is of a service-record event
    return fact


async def with_service_record(conn: Any, facts: list[Facts], at_position: int | None) -> list[Facts]:
    """``facts`` with each learner's service record as known at the position (one query)."""
    if not facts:
        return facts
    by_learner: dict[str, list[Fact]] = {}
    for r in await _rows(conn, [f.learner_id for f in facts], at_position):
        by_learner.setdefault(r["learner_id"], []).append(_fact(r))
    return [with_record(f, by_learner.get(f.learner_id, ())) for f in facts]


async def learner_service_record(conn: Any, learner_id: str, at_position: int | None = None) -> dict[str, Any]:
    """The profile's service record: each fact with who recorded it and when (plain fields
    only; the sealed free text is in the learner's history, for those who may read it)."""
    out: dict[str, list[dict[str, Any]]] = {
        "refusals": [],
        "appraisals": [],
        "qualifications": [],
        "prior_certificates": [],
    }
    section = {
        "RefusalRecorded": "refusals",
        "AppraisalRecorded": "appraisals",
        "QualificationRecorded": "qualifications",
        "PriorCertificateAttested": "prior_certificates",
    }
    for r in await _rows(conn, [learner_id], at_position):
        item = {
            **as_data(_fact(r)),
            **{k: v for k, v in json.loads(r["data"]).items() if k in ("issuer", "attested_by", "document_sha256")},
            "recorded_by": json.loads(r["recorded_by"]) if r["recorded_by"] else None,
            "recorded_at": json_ready(r["recorded_at"]),
        }
        if r["event"] == "PriorCertificateAttested":
            item.pop("valid_to", None)
            item["signed_by_bank"] = False
        out[section[r["event"]]].append(item)
    return out
