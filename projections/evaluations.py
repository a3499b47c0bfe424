"""The evaluations read model: marks, ballot boxes, published ballots, reviews; and its reads.

Invariants:
- ``rm_evaluation_marks`` holds each mark's id only (the keyed tag of ``ledger.evaluation``):
  the pending list asks it whether a mark it computed exists; nothing here can say whose;
- ``rm_ballot_receipts`` holds one row per ``BallotBox.Received`` (box, day, position: what
  the event index shows of it anyway), ``rm_evaluation_ballots`` one row per ballot of a
  ``Tallied`` event, with the tally's position: the ballots as published, five or more at a
  time, never linked to a receipt or a mark;
- a programme shows only its count of ballots until ``TALLY_SIZE`` are published; from then
  on the averages and counts per score of the published ballots, and their comments sorted
  by text (an order of their own, not of arrival);
- reads take a position bound (``at_position``, ``as_of``) like every read of the bank;
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from uuid import UUID

from ledger.evaluation import CRITERIA, SCORES, TALLY_SIZE, BallotBox, EvaluationMark, Review
from ledger.vocabulary import covers
from projections.core import EARNING_ASSESSMENTS, earns_hours_sql
from projections.eventlog import bound, topic
from projections.events import Decoded

MARK_MADE: Final = topic(EvaluationMark, "Made")
BOX_OPENED: Final = topic(BallotBox, "Opened")
RECEIVED: Final = topic(BallotBox, "Received")
TALLIED: Final = topic(BallotBox, "Tallied")
REVIEWED: Final = topic(Review, "Recorded")
TOPICS: Final = frozenset({MARK_MADE, BOX_OPENED, RECEIVED, TALLIED, REVIEWED})
TABLES: Final = (
    "rm_evaluation_marks",
    "rm_ballot_boxes",
    "rm_ballot_receipts",
    "rm_evaluation_ballots",
    "rm_provider_reviews",
)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_evaluation_marks (mark_id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS rm_ballot_boxes (
    box_id uuid PRIMARY KEY,
    provider_id text NOT NULL,
    programme text NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_ballot_boxes_provider ON rm_ballot_boxes (provider_id, programme);
CREATE TABLE IF NOT EXISTS rm_ballot_receipts (
    box_id uuid NOT NULL,
    on_day date NOT NULL,
    position bigint PRIMARY KEY
);
CREATE INDEX IF NOT EXISTS rm_ballot_receipts_box ON rm_ballot_receipts (box_id, position);
CREATE TABLE IF NOT EXISTS rm_evaluation_ballots (
    box_id uuid NOT NULL,
    tally_position bigint NOT NULL,
    content smallint NOT NULL,
    teaching smallint NOT NULL,
    organisation smallint NOT NULL,
    comment text NULL
);
CREATE INDEX IF NOT EXISTS rm_evaluation_ballots_box ON rm_evaluation_ballots (box_id, tally_position);
CREATE TABLE IF NOT EXISTS rm_provider_reviews (
    provider_id text NOT NULL,
    kind text NOT NULL,
    on_day date NOT NULL,
    findings text NOT NULL,
    rating smallint NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (provider_id, kind, on_day)
);
"""

_TWO_PLACES: Final = Decimal("0.01")


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        if e.topic not in TOPICS or not e.known:
            continue
        f = e.fields
        if e.topic == MARK_MADE:
            await conn.execute("INSERT INTO rm_evaluation_marks (mark_id) VALUES ($1)", e.originator_id)
        elif e.topic == BOX_OPENED:
            await conn.execute(
                "INSERT INTO rm_ballot_boxes (box_id, provider_id, programme) VALUES ($1, $2, $3)",
                e.originator_id,
                f["provider_id"],
                f["programme"],
            )
        elif e.topic == RECEIVED:
            await conn.execute(
                "INSERT INTO rm_ballot_receipts (box_id, on_day, position) VALUES ($1, $2, $3)",
                e.originator_id,
                f["on"],
                e.position,
            )
        elif e.topic == TALLIED:
            await conn.executemany(
                "INSERT INTO rm_evaluation_ballots (box_id, tally_position, content, teaching, organisation, comment)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    (e.originator_id, e.position, b["content"], b["teaching"], b["organisation"], b.get("comment"))
                    for b in f["ballots"]
                ],
            )
        elif e.topic == REVIEWED:
            await conn.execute(
                "INSERT INTO rm_provider_reviews (provider_id, kind, on_day, findings, rating, position, event_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                f["provider_id"],
                f["kind"],
                f["on"],
                f["findings"],
                f["rating"],
                e.position,
                e.event_id,
            )


# -- reads ---------------------------------------------------------------------------


async def marks_made(conn: Any, mark_ids: Sequence[UUID]) -> set[UUID]:
    """Which of these marks exist (at the read models' position)."""
    rows = await conn.fetch("SELECT mark_id FROM rm_evaluation_marks WHERE mark_id = ANY($1::uuid[])", list(mark_ids))
    return {UUID(str(r["mark_id"])) for r in rows}


async def evaluable_completions(conn: Any, learner_id: str) -> list[dict[str, Any]]:
    """The learner's passed, unrevoked completions, oldest first, with their ids."""
    rows = await conn.fetch(
        "SELECT c.completion_id, c.provider_id, c.record_id, c.programme_code, c.programme_title, c.completed_on"
        " FROM rm_completions c WHERE c.learner_id = $1 AND "
        + earns_hours_sql("c", position="$2", assessments="$3")
        + " ORDER BY c.completed_on, c.recorded_position",
        learner_id,
        bound(None),
        EARNING_ASSESSMENTS,
    )
    return [
        {
            "completion_id": UUID(str(r["completion_id"])),
            "provider_id": r["provider_id"],
            "record_id": r["record_id"],
            "programme": {"code": r["programme_code"], "title": r["programme_title"]},
            "completed_on": r["completed_on"].isoformat(),
        }
        for r in rows
    ]


def _average(total: int, count: int) -> str:
    return str((Decimal(total) / Decimal(count)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP))


async def programme_evaluations(
    conn: Any, provider_id: str, programme: str | None, at_position: int | None
) -> list[dict[str, Any]]:
    """Per programme of the provider (or only ``programme``): the count of ballots and,
    from ``TALLY_SIZE`` published on, their averages, counts per score and comments."""
    upper = bound(at_position)
    boxes = await conn.fetch(
        "SELECT b.box_id, b.programme,"
        " (SELECT count(*) FROM rm_ballot_receipts r WHERE r.box_id = b.box_id AND r.position <= $3) AS received"
        " FROM rm_ballot_boxes b WHERE b.provider_id = $1 AND ($2::text IS NULL OR b.programme = $2)"
        " ORDER BY b.programme",
        provider_id,
        programme,
        upper,
    )
    out = []
    for box in boxes:
        if box["received"] == 0:
            continue
        ballots = await conn.fetch(
            "SELECT content, teaching, organisation, comment FROM rm_evaluation_ballots"
            " WHERE box_id = $1 AND tally_position <= $2",
            box["box_id"],
            upper,
        )
        out.append(_programme(box["programme"], int(box["received"]), ballots))
    if programme is not None and not out:
        out.append(_programme(programme, 0, []))
    return out


def _programme(code: str, received: int, ballots: Sequence[Any]) -> dict[str, Any]:
    published = len(ballots)
    shown = published >= TALLY_SIZE
    scores = None
    comments = None
    if shown:
        scores = {
            criterion: {
                "average": _average(sum(b[criterion] for b in ballots), published),
                "counts": {str(s): sum(1 for b in ballots if b[criterion] == s) for s in SCORES},
            }
            for criterion in CRITERIA
        }
        comments = sorted(b["comment"] for b in ballots if b["comment"] is not None)
    return {
        "programme": code,
        "count": received,
        "published": published,
        "minimum": TALLY_SIZE,
        "scores": scores,
        "comments": comments,
    }


async def provider_reviews(conn: Any, provider_id: str, at_position: int | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT kind, on_day, findings, rating, position, event_id FROM rm_provider_reviews"
        " WHERE provider_id = $1 AND position <= $2 ORDER BY on_day, kind",
        provider_id,
        bound(at_position),
    )
    return [
        {
            "kind": r["kind"],
            "on": r["on_day"].isoformat(),
            "findings": r["findings"],
            "rating": r["rating"],
            "position": int(r["position"]),
            "event_id": str(r["event_id"]),
        }
        for r in rows
    ]


async def ranking(conn: Any, jurisdiction: str, at_position: int | None) -> list[dict[str, Any]]:
    """The providers serving ``jurisdiction`` (accredited in it, under it or above it), ranked
    by the mean of every score of their published ballots (programmes with ``TALLY_SIZE`` or
    more only), then by how many; those with none published follow, unranked."""
    upper = bound(at_position)
    providers = await conn.fetch("SELECT provider_id, name, jurisdiction FROM rm_providers ORDER BY provider_id")
    serving = [
        p for p in providers if covers(jurisdiction, p["jurisdiction"]) or covers(p["jurisdiction"], jurisdiction)
    ]
    ids = [p["provider_id"] for p in serving]
    ballots = await conn.fetch(
        "SELECT b.provider_id, count(*) AS n, sum(v.content + v.teaching + v.organisation) AS total,"
        " sum(v.content) AS content, sum(v.teaching) AS teaching, sum(v.organisation) AS organisation"
        " FROM rm_evaluation_ballots v JOIN rm_ballot_boxes b ON b.box_id = v.box_id"
        " WHERE b.provider_id = ANY($1::text[]) AND v.tally_position <= $2 GROUP BY b.provider_id",
        ids,
        upper,
    )
    reviews = await conn.fetch(
        "SELECT provider_id, count(*) AS n, sum(rating) AS total FROM rm_provider_reviews"
        " WHERE provider_id = ANY($1::text[]) AND position <= $2 GROUP BY provider_id",
        ids,
        upper,
    )
    by_provider = {r["provider_id"]: r for r in ballots}
    reviewed = {r["provider_id"]: r for r in reviews}
    entries = []
    for p in serving:
        b = by_provider.get(p["provider_id"])
        r = reviewed.get(p["provider_id"])
        n = int(b["n"]) if b is not None else 0
        entries.append(
            {
                "provider_id": p["provider_id"],
                "name": p["name"],
                "jurisdiction": p["jurisdiction"],
                "evaluations": n,
                "average": _average(int(b["total"]), 3 * n) if b is not None else None,
                "averages": {c: _average(int(b[c]), n) for c in CRITERIA} if b is not None else None,
                "reviews": int(r["n"]) if r is not None else 0,
                "review_rating": _average(int(r["total"]), int(r["n"])) if r is not None else None,
            }
        )
    rated = sorted(
        (e for e in entries if e["average"] is not None),
        key=lambda e: (-Decimal(e["average"]), -e["evaluations"], e["provider_id"]),
    )
    for rank, entry in enumerate(rated, start=1):
        entry["rank"] = rank
    unrated = [dict(e, rank=None) for e in entries if e["average"] is None]
    return rated + unrated
