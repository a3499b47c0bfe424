"""The certificates read model: certificates, their status history, status lists.

Invariants:
- ``rm_certificates`` holds one row per ``Certificate.Issued`` event (the signed JWS as
  issued); ``rm_certificate_status`` one row per status event (issue included), never
  updated, so any past status is reproduced from the rows at or before a position;
- the current status is the last row by position; ``expired`` is derived from
  ``valid_until`` and the day asked about, never stored;
- a certificate counts for a ``certificate_held`` rule only over the days it was valid
  (issue to suspension, reinstatement to the next suspension or revocation);
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Final
from uuid import UUID

from ledger.certificate import Certificate, valid_spans
from ledger.credential import STATUS_LIST_SIZE, unverified
from ledger.eligibility import CertificateFact, Facts
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready

log = logging.getLogger(__name__)

ISSUED: Final = topic(Certificate, "Issued")
STATUS_TOPICS: Final = {
    topic(Certificate, "Revoked"): "revoked",
    topic(Certificate, "Suspended"): "suspended",
    topic(Certificate, "Reinstated"): "valid",
}
TABLES: Final = ("rm_certificates", "rm_certificate_status")

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_certificates (
    certificate_id uuid PRIMARY KEY,
    learner_id text NOT NULL,
    kind text NOT NULL,
    issued_on date NOT NULL,
    valid_from date NOT NULL,
    valid_until date NULL,
    hours numeric(12, 2) NOT NULL,
    basis jsonb NOT NULL,
    status_index integer NOT NULL UNIQUE,
    kid text NOT NULL,
    -- Both state the learner's name: NULL once the learner's personal data is erased.
    jws text NULL,
    credential jsonb NULL,
    issued_position bigint NOT NULL,
    event_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_certificates_learner ON rm_certificates (learner_id, issued_position);
CREATE TABLE IF NOT EXISTS rm_certificate_status (
    certificate_id uuid NOT NULL,
    position bigint NOT NULL,
    status text NOT NULL,
    since date NOT NULL,
    reason text NULL,
    cause jsonb NULL,
    event_id uuid NOT NULL,
    recorded_at timestamptz NULL,
    PRIMARY KEY (certificate_id, position)
);
"""

#: Every event of this module carries the learner it concerns.
LEARNER_TOPICS: Final = frozenset({ISSUED, *STATUS_TOPICS})

_STATUS_INSERT: Final = (
    "INSERT INTO rm_certificate_status (certificate_id, position, status, since, reason, cause, event_id,"
    " recorded_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)"
)


_ISSUED_FIELDS: Final = frozenset(
    {"learner_id", "kind", "issued_on", "valid_from", "hours", "basis", "status_index", "kid", "jws"}
)


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        f = e.fields
        if e.topic == ISSUED and not f.keys() >= _ISSUED_FIELDS:
            log.error("certificate event at position %s lacks fields; not projected", e.position)
        elif e.topic == ISSUED and e.known:
            await conn.execute(
                "INSERT INTO rm_certificates (certificate_id, learner_id, kind, issued_on, valid_from, valid_until,"
                " hours, basis, status_index, kid, jws, credential, issued_position, event_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12::jsonb, $13, $14)",
                e.originator_id,
                f["learner_id"],
                f["kind"],
                f["issued_on"],
                f["valid_from"],
                f.get("valid_until"),
                f["hours"],
                json.dumps(json_ready(f["basis"]), ensure_ascii=False),
                f["status_index"],
                f["kid"],
                f["jws"],
                None if f["jws"] is None else json.dumps(unverified(f["jws"]), ensure_ascii=False),
                e.position,
                e.event_id,
            )
            await conn.execute(
                _STATUS_INSERT,
                e.originator_id,
                e.position,
                "valid",
                f["valid_from"],
                None,
                None,
                e.event_id,
                e.recorded_at,
            )
        elif e.topic in STATUS_TOPICS and e.known and "reason" in f:
            since = f.get("since") or f.get("on")
            cause = f.get("cause")
            await conn.execute(
                _STATUS_INSERT,
                e.originator_id,
                e.position,
                STATUS_TOPICS[e.topic],
                since,
                f.get("reason"),
                json.dumps(json_ready(cause), ensure_ascii=False) if cause is not None else None,
                e.event_id,
                e.recorded_at,
            )


def _history(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "status": r["status"],
            "since": r["since"].isoformat(),
            "reason": r["reason"],
            "cause": json.loads(r["cause"]) if r["cause"] else None,
            "event_id": str(r["event_id"]),
            "position": int(r["position"]),
        }
        for r in rows
    ]


def _view(cert: Any, history: list[dict[str, Any]], today: date) -> dict[str, Any]:
    last = history[-1]
    status, since, reason = last["status"], last["since"], last["reason"]
    until = cert["valid_until"]
    if status == "valid" and until is not None and until < today:
        status, since, reason = "expired", (until + timedelta(days=1)).isoformat(), f"valid until {until}"
    return {
        "certificate_id": str(cert["certificate_id"]),
        "kind": cert["kind"],
        "issued_on": cert["issued_on"].isoformat(),
        "valid_from": cert["valid_from"].isoformat(),
        "valid_until": until.isoformat() if until else None,
        "status": status,
        "since": since,
        "reason": reason,
        "history": history,
        "issued_position": int(cert["issued_position"]),
        "event_id": str(cert["event_id"]),
        "kid": cert["kid"],
        "status_index": int(cert["status_index"]),
    }


async def certificate(
    conn: Any,
    certificate_id: UUID,
    today: date,
    at_position: int | None = None,
) -> tuple[dict[str, Any], Any] | None:
    """(the certificate's status view, its row) as known at the position; None if not issued by then."""
    cert = await conn.fetchrow(
        "SELECT * FROM rm_certificates WHERE certificate_id = $1 AND issued_position <= $2",
        certificate_id,
        bound(at_position),
    )
    if cert is None:
        return None
    rows = await conn.fetch(
        "SELECT * FROM rm_certificate_status WHERE certificate_id = $1 AND position <= $2 ORDER BY position",
        certificate_id,
        bound(at_position),
    )
    return _view(cert, _history(rows), today), cert


async def learner_certificates(
    conn: Any,
    learner_id: str,
    today: date,
    at_position: int | None = None,
) -> list[dict[str, Any]]:
    certs = await conn.fetch(
        "SELECT * FROM rm_certificates WHERE learner_id = $1 AND issued_position <= $2 ORDER BY issued_position",
        learner_id,
        bound(at_position),
    )
    if not certs:
        return []
    rows = await conn.fetch(
        "SELECT * FROM rm_certificate_status WHERE certificate_id = ANY($1) AND position <= $2 ORDER BY position",
        [c["certificate_id"] for c in certs],
        bound(at_position),
    )
    out = []
    for cert in certs:
        view = _view(cert, _history([r for r in rows if r["certificate_id"] == cert["certificate_id"]]), today)
        out.append({**view, "hours": cert["hours"], "basis": json.loads(cert["basis"]), "jws": cert["jws"]})
    return out


async def with_certificates(conn: Any, facts: list[Facts], at_position: int | None) -> list[Facts]:
    """``facts`` with each learner's certificates, one fact per span of validity."""
    if not facts:
        return facts
    rows = await conn.fetch(
        "SELECT c.learner_id, c.certificate_id, c.kind, c.valid_from, c.valid_until, c.event_id,"
        " c.issued_position, s.status, s.since FROM rm_certificates c"
        " JOIN rm_certificate_status s ON s.certificate_id = c.certificate_id AND s.position <= $2"
        " WHERE c.learner_id = ANY($1) AND c.issued_position <= $2 ORDER BY c.certificate_id, s.position",
        [f.learner_id for f in facts],
        bound(at_position),
    )
    by_learner = certificate_facts(rows)
    return [replace(f, certificates=tuple(by_learner.get(f.learner_id, ()))) for f in facts]


def certificate_facts(rows: Sequence[Any]) -> dict[str, list[CertificateFact]]:
    """Each learner's certificate facts from status rows in (certificate, position) order:
    ``learner_id, certificate_id, kind, valid_from, valid_until, event_id, issued_position,
    status, since`` (dates as dates)."""
    grouped: dict[UUID | str, list[Any]] = {}
    for r in rows:
        grouped.setdefault(r["certificate_id"], []).append(r)
    by_learner: dict[str, list[CertificateFact]] = {}
    for history in grouped.values():
        first = history[0]
        for start, end in valid_spans(
            first["valid_from"], first["valid_until"], [(r["status"], r["since"]) for r in history]
        ):
            by_learner.setdefault(first["learner_id"], []).append(
                CertificateFact(first["kind"], start, end, str(first["event_id"]), int(first["issued_position"]))
            )
    return by_learner


async def revoked_indexes(conn: Any, purpose: str, list_number: int, at_position: int | None = None) -> list[int]:
    """Indexes (within list ``list_number``) whose certificate is, at the position, revoked or suspended."""
    wanted = "revoked" if purpose == "revocation" else "suspended"
    low = (list_number - 1) * STATUS_LIST_SIZE
    rows = await conn.fetch(
        "SELECT c.status_index FROM rm_certificates c JOIN LATERAL (SELECT status FROM rm_certificate_status s"
        " WHERE s.certificate_id = c.certificate_id AND s.position <= $3 ORDER BY position DESC LIMIT 1) last"
        " ON true WHERE c.status_index >= $1 AND c.status_index < $2 AND last.status = $4 AND c.issued_position <= $3",
        low,
        low + STATUS_LIST_SIZE,
        bound(at_position),
        wanted,
    )
    return [int(r[0]) - low for r in rows]
