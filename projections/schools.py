"""The schools read model: schools, their plans, sessions and attendance sheets, and the
term-end inspection (期末专项检查) computed from them.

Invariants:
- rows are derived from the ``School`` events alone; a sheet's rows are those of the sheet
  in force (a correction replaces the session's rows and keeps the correction's position
  and reason in ``rm_school_sheets``); nothing is deleted but a corrected sheet's rows;
- an absence reason (personal free text) reaches these tables only as the log holds it,
  sealed under the absent learner's key, and is opened when read (``sheet``); learners are
  named here only by pseudonym (``subject``) and joined to ``rm_learners`` when read, so an
  erasure (which destroys the key) leaves nothing to scrub;
- the inspection counts a teacher's attendance as the distinct content keys they were
  present for over the distinct content keys the school held in the term (the Tuesday and
  the Thursday run of one content are one), against the jurisdiction's threshold
  (``ledger.school.school_terms_for``); every read is for one position (``bound``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from ledger.hours import format_hours
from ledger.school import School, school_provider_id, school_terms_for
from ledger.school_year import Term
from ledger.vault import tombstone
from projections.eventlog import bound, topic
from projections.events import Decoded
from projections.personal import open_sealed
from projections.policies import calendar_in_force

REGISTERED: Final = topic(School, "Registered")
PLAN_FILED: Final = topic(School, "PlanFiled")
SESSION_HELD: Final = topic(School, "SessionHeld")
ATTENDANCE_MARKED: Final = topic(School, "AttendanceMarked")
ATTENDANCE_CORRECTED: Final = topic(School, "AttendanceCorrected")
TOPICS: Final = frozenset({REGISTERED, PLAN_FILED, SESSION_HELD, ATTENDANCE_MARKED, ATTENDANCE_CORRECTED})
TABLES: Final = ("rm_schools", "rm_school_plans", "rm_school_sessions", "rm_school_sheets", "rm_school_attendance")

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_schools (
    school_id text PRIMARY KEY,
    school_uuid uuid NOT NULL UNIQUE,
    name text NOT NULL,
    jurisdiction text NOT NULL,
    kind text NOT NULL,
    teachers integer NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_schools_jurisdiction ON rm_schools (jurisdiction);

CREATE TABLE IF NOT EXISTS rm_school_plans (
    school_id text NOT NULL,
    school_year text NOT NULL,
    title text NOT NULL,
    filed_on date NOT NULL,
    document_sha256 text NOT NULL,
    deadline date NOT NULL,
    late boolean NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (school_id, school_year)
);

CREATE TABLE IF NOT EXISTS rm_school_sessions (
    school_id text NOT NULL,
    session_id text NOT NULL,
    held_on date NOT NULL,
    slot text NOT NULL,
    term text NOT NULL,
    content_key text NOT NULL,
    programme_code text NOT NULL,
    programme_title text NOT NULL,
    hours numeric(12, 2) NOT NULL,
    -- The instructor's pseudonym.
    instructor text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (school_id, session_id)
);
CREATE INDEX IF NOT EXISTS rm_school_sessions_term ON rm_school_sessions (school_id, term);

-- Each sheet recorded for a session: the first, then each correction with its reason.
CREATE TABLE IF NOT EXISTS rm_school_sheets (
    school_id text NOT NULL,
    session_id text NOT NULL,
    position bigint NOT NULL,
    correction_reason text NULL,
    present integer NOT NULL,
    absent integer NOT NULL,
    PRIMARY KEY (school_id, session_id, position)
);

-- The sheet in force: one row per learner on it (pseudonym), present or absent; an
-- absent learner's reason as the log holds it, sealed under their key.
CREATE TABLE IF NOT EXISTS rm_school_attendance (
    school_id text NOT NULL,
    session_id text NOT NULL,
    subject text NOT NULL,
    present boolean NOT NULL,
    position bigint NOT NULL,
    sealed_reason text NULL,
    PRIMARY KEY (school_id, session_id, subject)
);
-- Tables made before reasons were kept: the column comes last, as in a new table, so the
-- digests agree; their rows have no reason until ``creditbank projections rebuild``.
ALTER TABLE rm_school_attendance ADD COLUMN IF NOT EXISTS sealed_reason text NULL;
"""


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        if not e.known or e.topic not in TOPICS:
            continue
        f = e.fields
        school_id = f["school_id"]
        if e.topic == REGISTERED:
            await conn.execute(
                "INSERT INTO rm_schools (school_id, school_uuid, name, jurisdiction, kind, teachers, position)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                school_id,
                e.originator_id,
                f["name"],
                f["jurisdiction"],
                f["kind"],
                f["teachers"],
                e.position,
            )
        elif e.topic == PLAN_FILED:
            await conn.execute(
                "INSERT INTO rm_school_plans (school_id, school_year, title, filed_on, document_sha256, deadline,"
                " late, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                school_id,
                f["school_year"],
                f["title"],
                f["filed_on"],
                f["document_sha256"],
                f["deadline"],
                f["late"],
                e.position,
            )
        elif e.topic == SESSION_HELD:
            await conn.execute(
                "INSERT INTO rm_school_sessions (school_id, session_id, held_on, slot, term, content_key,"
                " programme_code, programme_title, hours, instructor, position)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                school_id,
                f["session_id"],
                f["held_on"],
                f["slot"],
                f["term"],
                f["content_key"],
                f["programme_code"],
                f["programme_title"],
                f["hours"],
                f["instructor"],
                e.position,
            )
        else:
            await _apply_sheet(conn, school_id, e)


async def _apply_sheet(conn: Any, school_id: str, e: Decoded) -> None:
    f = e.fields
    await conn.execute(
        "DELETE FROM rm_school_attendance WHERE school_id = $1 AND session_id = $2", school_id, f["session_id"]
    )
    rows = [(school_id, f["session_id"], s, True, e.position, None) for s in f["present"]]
    rows += [(school_id, f["session_id"], a["learner_id"], False, e.position, a["reason"]) for a in f["absent"]]
    if rows:
        await conn.executemany(
            "INSERT INTO rm_school_attendance (school_id, session_id, subject, present, position, sealed_reason)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )
    await conn.execute(
        "INSERT INTO rm_school_sheets (school_id, session_id, position, correction_reason, present, absent)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        school_id,
        f["session_id"],
        e.position,
        f.get("reason"),
        len(f["present"]),
        len(f["absent"]),
    )


# -- reads ----------------------------------------------------------------------------

_SCHOOL_COLUMNS: Final = "school_id, name, jurisdiction, kind, teachers, position"


def provider_of(e: Decoded) -> str | None:
    """The provider an event of a school concerns (the school's own), for the event index."""
    school_id = e.fields.get("school_id") if e.topic in TOPICS else None
    return school_provider_id(str(school_id)) if school_id is not None else None


def _school(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in ("school_id", "name", "jurisdiction", "kind", "teachers")} | {
        "registered_position": int(row["position"])
    }


async def school(conn: Any, school_id: str, at_position: int | None = None) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_SCHOOL_COLUMNS} FROM rm_schools WHERE school_id = $1 AND position <= $2",
        school_id,
        bound(at_position),
    )
    return None if row is None else _school(row)


async def schools_in(conn: Any, jurisdiction: str, at_position: int | None = None) -> list[dict[str, Any]]:
    """The schools of ``jurisdiction`` and every jurisdiction under it, by id."""
    rows = await conn.fetch(
        f"SELECT {_SCHOOL_COLUMNS} FROM rm_schools WHERE position <= $2 AND ($1 = 'CN' OR jurisdiction = $1"
        " OR (right($1, 2) = '00' AND left(jurisdiction, 4) = left($1, 4))"
        " OR (right($1, 4) = '0000' AND left(jurisdiction, 2) = left($1, 2))) ORDER BY school_id",
        jurisdiction,
        bound(at_position),
    )
    return [_school(r) for r in rows]


async def sheet(conn: Any, school_id: str, session_id: str, at_position: int | None = None) -> dict[str, Any] | None:
    """A session of the school and its sheet in force: who was present, who was absent and
    why (the reason opened now: ``None`` once the learner is erased), and each sheet
    recorded (the first, then the corrections with their reasons); ``None`` if no session."""
    upper = bound(at_position)
    session = await conn.fetchrow(
        "SELECT session_id, held_on, slot, content_key, programme_code, programme_title, hours, position"
        " FROM rm_school_sessions WHERE school_id = $1 AND session_id = $2 AND position <= $3",
        school_id,
        session_id,
        upper,
    )
    if session is None:
        return None
    recorded = await conn.fetch(
        "SELECT position, correction_reason, present, absent FROM rm_school_sheets"
        " WHERE school_id = $1 AND session_id = $2 AND position <= $3 ORDER BY position",
        school_id,
        session_id,
        upper,
    )
    lines = await conn.fetch(
        "SELECT a.subject, a.present, a.sealed_reason, l.learner_id, l.name FROM rm_school_attendance a"
        " LEFT JOIN rm_learners l ON l.subject = a.subject"
        " WHERE a.school_id = $1 AND a.session_id = $2 AND a.position <= $3 ORDER BY l.learner_id, a.subject",
        school_id,
        session_id,
        upper,
    )
    reasons = await open_sealed(conn, {r["subject"]: r["sealed_reason"] for r in lines if not r["present"]}, "reason")

    def teacher(r: Any) -> dict[str, Any]:
        return {"learner_id": r["learner_id"] or tombstone(r["subject"]), "name": r["name"]}

    return {
        "school_id": school_id,
        "session_id": session["session_id"],
        "held_on": session["held_on"],
        "slot": session["slot"],
        "content_key": session["content_key"],
        "programme": {"code": session["programme_code"], "title": session["programme_title"]},
        "hours": format_hours(session["hours"]),
        "session_position": int(session["position"]),
        "sheets": [
            {
                "position": int(r["position"]),
                "correction_reason": r["correction_reason"],
                "present": r["present"],
                "absent": r["absent"],
            }
            for r in recorded
        ],
        "present": [teacher(r) for r in lines if r["present"]],
        "absent": [teacher(r) | {"reason": reasons.get(r["subject"])} for r in lines if not r["present"]],
    }


def _rate(attended: int, held: int) -> Decimal | None:
    if held == 0:
        return None
    return (Decimal(attended) / Decimal(held)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


async def inspection(
    conn: Any, found: dict[str, Any], term: Term, today: date, at_position: int | None = None
) -> dict[str, Any]:
    """The term-end inspection of one school (``found``, as ``school`` answers it)."""
    upper = bound(at_position)
    school_id = found["school_id"]
    rules = school_terms_for(await calendar_in_force(conn, found["jurisdiction"], today, at_position))
    first, last = rules.calendar.term_span(term)
    plan = await conn.fetchrow(
        "SELECT school_year, title, filed_on, document_sha256, deadline, late, position FROM rm_school_plans"
        " WHERE school_id = $1 AND school_year = $2 AND position <= $3",
        school_id,
        str(term.school_year),
        upper,
    )
    sessions = await conn.fetch(
        "SELECT s.session_id, s.held_on, s.slot, s.content_key, s.programme_code, s.programme_title, s.hours,"
        " l.learner_id AS instructor, l.name AS instructor_name,"
        " EXISTS (SELECT 1 FROM rm_learner_roles r WHERE r.learner_id = l.learner_id AND r.role = 'principal'"
        "   AND r.since <= s.held_on AND (r.until IS NULL OR r.until >= s.held_on)) AS by_principal"
        " FROM rm_school_sessions s LEFT JOIN rm_learners l ON l.subject = s.instructor"
        " WHERE s.school_id = $1 AND s.term = $2 AND s.position <= $3 ORDER BY s.held_on, s.slot, s.session_id",
        school_id,
        str(term),
        upper,
    )
    present = await conn.fetch(
        "SELECT DISTINCT l.learner_id, s.content_key FROM rm_school_attendance a"
        " JOIN rm_school_sessions s ON s.school_id = a.school_id AND s.session_id = a.session_id"
        " JOIN rm_learners l ON l.subject = a.subject"
        " WHERE a.school_id = $1 AND s.term = $2 AND a.present AND a.position <= $3",
        school_id,
        str(term),
        upper,
    )
    teachers = await conn.fetch(
        "SELECT learner_id, name FROM rm_learners WHERE school = $1 AND registered_position <= $2"
        " AND subject IS NOT NULL ORDER BY learner_id",
        school_id,
        upper,
    )
    contents = sorted({r["content_key"] for r in sessions})
    attended: dict[str, set[str]] = {}
    for r in present:
        attended.setdefault(r["learner_id"], set()).add(r["content_key"])
    names = {r["learner_id"]: r["name"] for r in teachers}
    rows: list[dict[str, Any]] = []
    for learner_id in sorted(names.keys() | attended.keys()):
        count = len(attended.get(learner_id, set()) & set(contents))
        rate = _rate(count, len(contents))
        rows.append(
            {
                "learner_id": learner_id,
                "name": names.get(learner_id),
                "attended": count,
                "held": len(contents),
                "rate": rate,
                "below_threshold": rate is not None and rate < rules.attendance_threshold,
            }
        )
    rates = [r["rate"] for r in rows if isinstance(r["rate"], Decimal)]
    average = (sum(rates, Decimal(0)) / len(rates)).quantize(Decimal("0.0001"), ROUND_HALF_UP) if rates else None
    weeks = _weeks(first, min(last, today), [r["held_on"] for r in sessions], rules.sessions_per_week)
    instructors: dict[str, dict[str, Any]] = {}
    for r in sessions:
        key = r["instructor"] or "unknown"
        entry = instructors.setdefault(
            key, {"learner_id": r["instructor"], "name": r["instructor_name"], "sessions": 0, "principal": False}
        )
        entry["sessions"] += 1
        entry["principal"] = entry["principal"] or bool(r["by_principal"])
    return {
        "school_id": school_id,
        "name": found["name"],
        "jurisdiction": found["jurisdiction"],
        "kind": found["kind"],
        "term": str(term),
        "term_span": {"from": first, "to": last},
        "plan": None
        if plan is None
        else {
            "school_year": plan["school_year"],
            "title": plan["title"],
            "filed_on": plan["filed_on"],
            "deadline": plan["deadline"],
            "on_time": not plan["late"],
            "document_sha256": plan["document_sha256"],
            "position": int(plan["position"]),
        },
        "sessions": {
            "held": len(sessions),
            "contents": len(contents),
            "required_per_week": rules.sessions_per_week,
            "weeks": len(weeks),
            "weeks_meeting_frequency": sum(1 for w in weeks if w["sessions"] >= rules.sessions_per_week),
            "by_week": weeks,
            "list": [
                {
                    "session_id": r["session_id"],
                    "held_on": r["held_on"],
                    "slot": r["slot"],
                    "content_key": r["content_key"],
                    "programme": {"code": r["programme_code"], "title": r["programme_title"]},
                    "hours": r["hours"],
                    "instructor": r["instructor"],
                    "by_principal": bool(r["by_principal"]),
                }
                for r in sessions
            ],
        },
        "attendance": {
            "threshold": rules.attendance_threshold,
            "average_rate": average,
            "teachers": rows,
            "below_threshold": [r["learner_id"] for r in rows if r["below_threshold"]],
        },
        "instructors": sorted(instructors.values(), key=lambda i: (-i["sessions"], i["learner_id"] or "")),
        "principal_lectured": any(i["principal"] for i in instructors.values()),
    }


def _weeks(first: date, last: date, days: list[date], required: int) -> list[dict[str, Any]]:
    """Each week (from its Monday) of the term up to ``last``, with its number of sessions."""
    counts: dict[date, int] = {}
    for day in days:
        monday = day - timedelta(days=day.weekday())
        counts[monday] = counts.get(monday, 0) + 1
    weeks = []
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        held = counts.get(monday, 0)
        weeks.append({"week_of": monday, "sessions": held, "meets_frequency": held >= required})
        monday += timedelta(days=7)
    return weeks


def ranked(inspections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Schools side by side, best first: by average attendance rate, then the share of weeks
    meeting the frequency, then a plan filed on time, then id (for a stable order)."""

    def key(i: dict[str, Any]) -> tuple[Any, ...]:
        weeks = i["sessions"]["weeks"] or 1
        share = Decimal(i["sessions"]["weeks_meeting_frequency"]) / weeks
        on_time = i["plan"] is not None and i["plan"]["on_time"]
        return (-(i["attendance"]["average_rate"] or Decimal(0)), -share, not on_time, i["school_id"])

    rows = []
    for rank, i in enumerate(sorted(inspections, key=key), start=1):
        rows.append(
            {
                "rank": rank,
                "school_id": i["school_id"],
                "name": i["name"],
                "kind": i["kind"],
                "plan_filed": i["plan"] is not None,
                "plan_on_time": i["plan"] is not None and i["plan"]["on_time"],
                "sessions_held": i["sessions"]["held"],
                "weeks": i["sessions"]["weeks"],
                "weeks_meeting_frequency": i["sessions"]["weeks_meeting_frequency"],
                "average_rate": i["attendance"]["average_rate"],
                "teachers": len(i["attendance"]["teachers"]),
                "below_threshold": i["attendance"]["below_threshold"],
                "principal_lectured": i["principal_lectured"],
            }
        )
    return rows
