"""The degree-credit read models: published mappings, recognitions and what each
completion of a learner is worth toward a programme.

Invariants:
- ``rm_degree_mappings`` holds one row per ``DegreeMapping.Published`` event (the version's
  plain data, amounts as exact strings); ``rm_degree_recognitions`` one row per
  ``Recognitions.Recognised`` event, marked reversed (with the reversal's position and event
  id) by the compensating ``Recognitions.Reversed``; ``rm_degree_recognition_lines`` one row
  per completion a recognition consumed. Rows are never deleted;
- ``at_position=P`` sees the versions published by P, the recognitions recorded by P, a
  reversal only if recorded by P, the completions recorded by P and a revocation only if
  recorded by P;
- the view (``explain``) is a pure function of those rows: what a completion is worth
  under the mapping, what is recognised (in this programme and in others), what is still
  recognisable after the caps, each number with the ids of the events behind it. A
  completion revoked after its hours were recognised is flagged and its credits are shown
  apart (``on_revoked_completions``), never silently counted as standing;
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from ledger.completion import earns_hours
from ledger.degree import ZERO, DegreeMapping, Recognitions, credits_for
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready

PUBLISHED: Final = topic(DegreeMapping, "Published")
STARTED: Final = topic(Recognitions, "Started")
RECOGNISED: Final = topic(Recognitions, "Recognised")
REVERSED: Final = topic(Recognitions, "Reversed")
LEARNER_TOPICS: Final = frozenset({STARTED, RECOGNISED, REVERSED})
TABLES: Final = ("rm_degree_mappings", "rm_degree_recognitions", "rm_degree_recognition_lines")

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_degree_mappings (
    mapping_id uuid NOT NULL,
    version integer NOT NULL,
    university text NOT NULL,
    programme text NOT NULL,
    title text NOT NULL,
    effective_from date NOT NULL,
    data jsonb NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (mapping_id, version)
);

CREATE TABLE IF NOT EXISTS rm_degree_recognitions (
    learner_id text NOT NULL,
    recognition_id text NOT NULL,
    mapping_id uuid NOT NULL,
    mapping_version integer NOT NULL,
    university text NOT NULL,
    programme text NOT NULL,
    on_day date NOT NULL,
    hours numeric(12, 2) NOT NULL,
    credits numeric(12, 2) NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    reversed_position bigint NULL,
    reversed_event_id uuid NULL,
    reversal_reason text NULL,
    PRIMARY KEY (learner_id, recognition_id)
);

CREATE TABLE IF NOT EXISTS rm_degree_recognition_lines (
    learner_id text NOT NULL,
    recognition_id text NOT NULL,
    completion_id uuid NOT NULL,
    completion_event_id uuid NOT NULL,
    category text NOT NULL,
    hours numeric(12, 2) NOT NULL,
    credits numeric(12, 2) NOT NULL,
    PRIMARY KEY (learner_id, recognition_id, completion_id)
);
"""


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        f = e.fields
        if not e.known:
            continue
        if e.topic == PUBLISHED:
            data = json_ready({k: v for k, v in f.items()})
            await conn.execute(
                "INSERT INTO rm_degree_mappings (mapping_id, version, university, programme, title, effective_from,"
                " data, position, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
                e.originator_id,
                f["version"],
                f["university"],
                f["programme"],
                f["title"],
                f["effective_from"],
                json.dumps(data, ensure_ascii=False),
                e.position,
                e.event_id,
            )
        elif e.topic == RECOGNISED:
            await conn.execute(
                "INSERT INTO rm_degree_recognitions (learner_id, recognition_id, mapping_id, mapping_version,"
                " university, programme, on_day, hours, credits, position, event_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                f["learner_id"],
                f["recognition_id"],
                UUID(f["mapping_id"]),
                f["mapping_version"],
                f["university"],
                f["programme"],
                f["on"],
                f["hours"],
                f["credits"],
                e.position,
                e.event_id,
            )
            await conn.executemany(
                "INSERT INTO rm_degree_recognition_lines (learner_id, recognition_id, completion_id,"
                " completion_event_id, category, hours, credits) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [
                    (
                        f["learner_id"],
                        f["recognition_id"],
                        UUID(line["completion_id"]),
                        UUID(line["event_id"]),
                        line["category"],
                        line["hours"],
                        line["credits"],
                    )
                    for line in f["lines"]
                ],
            )
        elif e.topic == REVERSED:
            await conn.execute(
                "UPDATE rm_degree_recognitions SET reversed_position = $3, reversed_event_id = $4,"
                " reversal_reason = $5 WHERE learner_id = $1 AND recognition_id = $2",
                f["learner_id"],
                f["recognition_id"],
                e.position,
                e.event_id,
                f.get("reason"),
            )


# -- mappings ---------------------------------------------------------------------------


async def mapping_versions(conn: Any, mapping_id: UUID, at_position: int | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT data, position, event_id FROM rm_degree_mappings WHERE mapping_id = $1 AND position <= $2"
        " ORDER BY version",
        mapping_id,
        bound(at_position),
    )
    return [
        {
            **json.loads(r["data"]),
            "mapping_id": str(mapping_id),
            "position": int(r["position"]),
            "event_id": str(r["event_id"]),
        }
        for r in rows
    ]


async def mapping_view(conn: Any, mapping_id: UUID, at_position: int | None = None) -> dict[str, Any] | None:
    versions = await mapping_versions(conn, mapping_id, at_position)
    if not versions:
        return None
    latest = versions[-1]
    return {
        "mapping_id": str(mapping_id),
        "university": latest["university"],
        "programme": latest["programme"],
        "title": latest["title"],
        "current_version": latest["version"],
        "versions": versions,
    }


# -- one learner under one programme ----------------------------------------------------

_COMPLETIONS_SQL: Final = """
SELECT completion_id, provider_id, record_id, programme_code, programme_title, category, level, hours,
       assessment, completed_on, event_id, recorded_position,
       CASE WHEN revoked_position <= $2 THEN revoked_position END AS revoked_position,
       CASE WHEN revoked_position <= $2 THEN revoked_event_id END AS revoked_event_id,
       CASE WHEN revoked_position <= $2 THEN revocation_reason END AS revocation_reason
FROM rm_completions WHERE learner_id = $1 AND recorded_position <= $2
ORDER BY completed_on, recorded_position
"""

_LINES_SQL: Final = """
SELECT l.recognition_id, l.completion_id, l.category, l.hours, l.credits, r.mapping_id, r.mapping_version,
       r.university, r.programme, r.on_day, r.position, r.event_id,
       CASE WHEN r.reversed_position <= $2 THEN r.reversed_position END AS reversed_position,
       CASE WHEN r.reversed_position <= $2 THEN r.reversed_event_id END AS reversed_event_id,
       CASE WHEN r.reversed_position <= $2 THEN r.reversal_reason END AS reversal_reason
FROM rm_degree_recognition_lines l
JOIN rm_degree_recognitions r ON r.learner_id = l.learner_id AND r.recognition_id = l.recognition_id
WHERE l.learner_id = $1 AND r.position <= $2
ORDER BY r.position, l.completion_id
"""


async def learner_degree_credits(
    conn: Any,
    learner_id: str,
    mapping_id: UUID,
    at_position: int | None = None,
) -> dict[str, Any] | None:
    """The view for one learner and programme, or None when the mapping is not published."""
    upper = bound(at_position)
    versions = await mapping_versions(conn, mapping_id, upper)
    if not versions:
        return None
    completions = [dict(r) for r in await conn.fetch(_COMPLETIONS_SQL, learner_id, upper)]
    lines = [dict(r) for r in await conn.fetch(_LINES_SQL, learner_id, upper)]
    return explain(learner_id, versions[-1], completions, lines)


def _ids(values: Iterable[Any]) -> list[str]:
    return sorted({str(v) for v in values if v is not None})


def _cap(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def explain(
    learner_id: str, mapping: dict[str, Any], completions: Sequence[dict[str, Any]], lines: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The degree-credit view (see the module invariants). ``mapping`` is the version's plain
    data; ``completions`` and ``lines`` are rows as the queries above return them."""
    mapping_id = str(mapping["mapping_id"])
    hpc = Decimal(mapping["hours_per_credit"])
    caps = {c["category"]: _cap(c.get("cap")) for c in mapping["categories"]}
    levels = set(mapping["levels"])
    overall_cap = Decimal(mapping["overall_cap"])
    by_completion: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_completion.setdefault(str(line["completion_id"]), []).append(line)

    items: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    cats: dict[str, dict[str, Any]] = {
        c: {
            "cap": cap,
            "recognised": ZERO,
            "recognised_events": set(),
            "on_revoked": ZERO,
            "recognisable": ZERO,
            "recognisable_events": set(),
        }
        for c, cap in caps.items()
    }
    elsewhere_hours = ZERO
    for c in completions:
        cid = str(c["completion_id"])
        hours = Decimal(c["hours"])
        revoked = c["revoked_position"] is not None
        status = "counted" if earns_hours(c["assessment"], revoked=revoked) else "revoked" if revoked else "failed"
        reason = None if c["category"] in caps else f"category {c['category']} does not count"
        if reason is None and c["level"] not in levels:
            reason = f"level {c['level']} does not count"
        recognised = []
        live_hours = ZERO
        for line in by_completion.get(cid, []):
            reversed_ = line["reversed_position"] is not None
            here = str(line["mapping_id"]) == mapping_id
            recognised.append(
                {
                    "recognition_id": line["recognition_id"],
                    "mapping_id": str(line["mapping_id"]),
                    "university": line["university"],
                    "programme": line["programme"],
                    "mapping_version": line["mapping_version"],
                    "this_programme": here,
                    "on": line["on_day"].isoformat(),
                    "hours": Decimal(line["hours"]),
                    "credits": Decimal(line["credits"]),
                    "event_id": str(line["event_id"]),
                    "position": int(line["position"]),
                    "reversed": reversed_,
                    "reversal_event_id": str(line["reversed_event_id"]) if reversed_ else None,
                    "reversal_reason": line["reversal_reason"],
                }
            )
            if reversed_:
                continue
            live_hours += Decimal(line["hours"])
            if not here:
                elsewhere_hours += Decimal(line["hours"])
            elif line["category"] in cats:
                cat = cats[line["category"]]
                cat["recognised"] += Decimal(line["credits"])
                cat["recognised_events"].add(line["event_id"])
                if revoked:
                    cat["on_revoked"] += Decimal(line["credits"])
        counts = reason is None and status == "counted"
        remaining = max(hours - live_hours, ZERO) if counts else ZERO
        worth = credits_for(remaining, hpc)
        if counts and worth > 0:
            cats[c["category"]]["recognisable"] += worth
            cats[c["category"]]["recognisable_events"].add(c["event_id"])
        live_here = [r for r in recognised if not r["reversed"]]
        if revoked and live_here:
            warnings.append(
                {
                    "code": "recognised_completion_revoked",
                    "detail": f"{c['provider_id']}/{c['record_id']} was revoked after its hours were recognised; "
                    "reverse the recognitions that rest on it",
                    "completion_event_id": str(c["event_id"]),
                    "revocation_event_id": str(c["revoked_event_id"]),
                    "recognitions": sorted({r["recognition_id"] for r in live_here}),
                }
            )
        items.append(
            {
                "completion_id": cid,
                "event_id": str(c["event_id"]),
                "position": int(c["recorded_position"]),
                "provider_id": c["provider_id"],
                "record_id": c["record_id"],
                "programme": {"code": c["programme_code"], "title": c["programme_title"]},
                "category": c["category"],
                "level": c["level"],
                "hours": hours,
                "assessment": c["assessment"],
                "completed_on": c["completed_on"].isoformat(),
                "status": status,
                "revocation": None
                if not revoked
                else {
                    "event_id": str(c["revoked_event_id"]),
                    "position": int(c["revoked_position"]),
                    "reason": c["revocation_reason"],
                },
                "counts": reason is None,
                "not_counted_reason": reason,
                "worth_credits": credits_for(hours, hpc) if reason is None else ZERO,
                "recognised": recognised,
                "recognised_hours": live_hours,
                "revoked_after_recognition": revoked and bool(live_here),
                "recognisable_hours": remaining,
                "recognisable_credits": worth,
            }
        )

    by_category: dict[str, Any] = {}
    recognised_total = on_revoked_total = capped_sum = ZERO
    recognised_events: set[str] = set()
    recognisable_events: set[str] = set()
    for code, cat in sorted(cats.items()):
        cap = cat["cap"]
        room = None if cap is None else max(cap - cat["recognised"], ZERO)
        recognisable = cat["recognisable"] if room is None else min(cat["recognisable"], room)
        capped_sum += recognisable
        recognised_total += cat["recognised"]
        on_revoked_total += cat["on_revoked"]
        recognised_events |= {str(e) for e in cat["recognised_events"]}
        recognisable_events |= {str(e) for e in cat["recognisable_events"]}
        by_category[code] = {
            "cap": cap,
            "recognised_credits": cat["recognised"],
            "recognised_events": _ids(cat["recognised_events"]),
            "on_revoked_completions": cat["on_revoked"],
            "cap_remaining": room,
            "recognisable_credits": recognisable,
            "recognisable_before_caps": cat["recognisable"],
            "recognisable_events": _ids(cat["recognisable_events"]),
        }
    overall_room = max(overall_cap - recognised_total, ZERO)
    return {
        "learner_id": learner_id,
        "mapping": {
            k: mapping[k]
            for k in (
                "mapping_id",
                "university",
                "programme",
                "title",
                "version",
                "programme_credits",
                "hours_per_credit",
                "overall_cap",
                "overall_cap_fraction",
                "categories",
                "levels",
                "effective_from",
                "event_id",
                "position",
            )
        },
        "completions": items,
        "totals": {
            "recognised_credits": recognised_total,
            "standing_credits": recognised_total - on_revoked_total,
            "on_revoked_completions": on_revoked_total,
            "recognised_events": sorted(recognised_events),
            "overall_cap": overall_cap,
            "cap_remaining": overall_room,
            "recognisable_credits": min(capped_sum, overall_room),
            "recognisable_events": sorted(recognisable_events),
            "hours_recognised_in_other_programmes": elsewhere_hours,
            "by_category": by_category,
        },
        "warnings": warnings,
    }
