"""School endpoints: register schools, file plans, record sessions and attendance, and the
term-end inspection as JSON, CSV or xlsx.

Invariants:
- a school token acts for and reads its own school only (403 otherwise), checked from the
  token before anything is loaded; an HR token's jurisdiction is checked by the ledger's
  command on a write and against the school's jurisdiction on a read;
- every write answers ``position``; every read takes ``min_position``; an inspection also
  takes ``as_of``/``at_position`` and is judged on that day (``judged_on``);
- the exports state identifiers (school, teacher numbers) as text, never as numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from api.service import school_exports
from api.service.context import principal, services
from api.service.http import (
    answer,
    check_jurisdiction_scope,
    load_body,
    load_query,
    resolve_position,
    run_in_writer,
    write_scope,
)
from api.service.problems import Problem
from api.service.school_schemas import (
    attendance_schema,
    inspection_query_schema,
    inspections_query_schema,
    plan_schema,
    school_read_query_schema,
    school_schema,
    schools_query_schema,
    session_schema,
)
from api.service.time_travel import day_judged
from ledger import school_commands
from ledger.errors import SchoolNotFound, SessionNotFound
from ledger.school import SCHOOL_KINDS, PlanFiling, SchoolRegistration, SessionFacts, school_terms_for
from ledger.school_commands import Absence, AttendanceSheet
from ledger.school_year import parse_school_year, parse_term
from projections import schools
from projections.policies import calendar_in_force


def _check_own_school(request: web.Request, school_id: str) -> None:
    caller = principal(request)
    if caller.role == "school" and caller.school_id != school_id:
        raise Problem(403, "forbidden", "Outside your scope", "a school token acts for its own school only")


def _check_jurisdiction(request: web.Request, jurisdiction: str) -> None:
    """HR within its jurisdiction; a school's own reads are checked by ``_check_own_school``."""
    if principal(request).role == "hr":
        check_jurisdiction_scope(request, jurisdiction)


# -- writes -------------------------------------------------------------------------


async def post_school(request: web.Request) -> web.Response:
    data = await load_body(request, school_schema)
    registration = SchoolRegistration(**data)
    scope = write_scope(request)
    result = await run_in_writer(request, lambda bank: school_commands.register_school(bank, registration, scope=scope))
    return answer({"status": result.status, "position": result.position}, 201 if result.status == "recorded" else 200)


async def post_plan(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    _check_own_school(request, school_id)
    data = await load_body(request, plan_schema)
    try:
        year = parse_school_year(data["school_year"])
    except ValueError as error:
        raise Problem(
            422, "validation_failed", "The request has invalid fields", str(error), errors={"school_year": [str(error)]}
        ) from None
    plan = PlanFiling(year, data["title"], data["filed_on"], data["document_sha256"])
    scope = write_scope(request)

    def command(bank: Any) -> dict[str, Any]:
        result = school_commands.file_plan(bank, school_id, plan, scope=scope)
        found = school_commands.school(bank, school_id)
        filed = found.plans[str(year)]
        return {
            "status": result.status,
            "position": result.position,
            "late": filed["late"],
            "deadline": filed["deadline"],
        }

    body = await run_in_writer(request, command)
    return answer(body, 201 if body["status"] == "recorded" else 200)


async def post_session(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    _check_own_school(request, school_id)
    data = await load_body(request, session_schema)
    session = SessionFacts(
        session_id=data["session_id"],
        held_on=data["held_on"],
        slot=data["slot"],
        content_key=data["content_key"],
        programme_code=data["programme"]["code"],
        programme_title=data["programme"]["title"],
        hours=data["hours"],
        instructor=data["instructor"],
    )
    result = await run_in_writer(request, lambda bank: school_commands.hold_session(bank, school_id, session))
    return answer({"status": result.status, "position": result.position}, 201 if result.status == "recorded" else 200)


async def post_attendance(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    session_id = request.match_info["session_id"]
    _check_own_school(request, school_id)
    data = await load_body(request, attendance_schema)
    sheet = AttendanceSheet(
        tuple(data["present"]),
        tuple(Absence(a["learner_id"], a["reason"]) for a in data["absent"]),
        data.get("reason"),
    )
    outcome = await run_in_writer(
        request, lambda bank: school_commands.mark_attendance(bank, school_id, session_id, sheet)
    )
    body = {
        "status": outcome.status,
        "position": outcome.position,
        "results": [{"learner_id": line.learner_id, "status": line.status} for line in outcome.lines],
    }
    return answer(body, 201 if outcome.status == "recorded" else 200)


# -- reads --------------------------------------------------------------------------


async def _school_in_scope(conn: Any, request: web.Request, school_id: str, position: int) -> dict[str, Any]:
    _check_own_school(request, school_id)
    found = await schools.school(conn, school_id, position)
    if found is None:
        raise SchoolNotFound(f"no school {school_id} is registered", field="school_id")
    _check_jurisdiction(request, found["jurisdiction"])
    return found


async def get_school(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    query = load_query(request, school_read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        found = await _school_in_scope(conn, request, school_id, position)
    return answer({**found, "kind_label": SCHOOL_KINDS.get(found["kind"], found["kind"]), "position": position})


async def get_schools(request: web.Request) -> web.Response:
    query = load_query(request, schools_query_schema)
    caller = principal(request)
    _check_jurisdiction(request, query["jurisdiction"])
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        found = await schools.schools_in(conn, query["jurisdiction"], position)
    if caller.role == "school":
        found = [s for s in found if s["school_id"] == caller.school_id]
    return answer({"jurisdiction": query["jurisdiction"], "schools": found, "position": position})


async def get_attendance(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    session_id = request.match_info["session_id"]
    query = load_query(request, school_read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await _school_in_scope(conn, request, school_id, position)
        found = await schools.sheet(conn, school_id, session_id, position)
    if found is None:
        raise SessionNotFound(f"no session {session_id} is recorded at school {school_id}", field="session_id")
    return answer({**found, "position": position})


def _term(value: str) -> Any:
    try:
        return parse_term(value)
    except ValueError as error:
        raise Problem(
            422, "validation_failed", "The request has invalid fields", str(error), errors={"term": [str(error)]}
        ) from None


async def get_inspection(request: web.Request) -> web.Response:
    school_id = request.match_info["school_id"]
    query = load_query(request, inspection_query_schema)
    term = _term(query["term"])
    svc = services(request)
    async with svc.reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        found = await _school_in_scope(conn, request, school_id, position)
        on = await day_judged(conn, request, query, position)
        report = await schools.inspection(conn, found, term, on, position)
    report["position"] = position
    report["judged_on"] = on.isoformat()
    exports = (school_exports.inspection_xlsx, school_exports.teacher_csv)
    return _in_kind(request, report, f"inspection-{school_id}-{term}", *exports)


async def get_inspections(request: web.Request) -> web.Response:
    query = load_query(request, inspections_query_schema)
    term = _term(query["term"])
    _check_jurisdiction(request, query["jurisdiction"])
    svc = services(request)
    async with svc.reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        on = await day_judged(conn, request, query, position)
        reports = [
            await schools.inspection(conn, s, term, on, position)
            for s in await schools.schools_in(conn, query["jurisdiction"], position)
        ]
        calendar = await calendar_in_force(conn, query["jurisdiction"], on, position)
    body = {
        "jurisdiction": query["jurisdiction"],
        "term": str(term),
        "threshold": school_terms_for(calendar).attendance_threshold,
        "schools": schools.ranked(reports),
        "position": position,
        "judged_on": on.isoformat(),
    }
    exports = (school_exports.inspections_xlsx, school_exports.ranking_csv)
    return _in_kind(request, body, f"inspections-{query['jurisdiction']}-{term}", *exports)


def _in_kind(
    request: web.Request,
    data: dict[str, Any],
    filename: str,
    xlsx: Callable[[dict[str, Any]], bytes],
    csv: Callable[[dict[str, Any]], bytes],
) -> web.Response:
    """``data`` as the ``Accept`` header asks: xlsx, CSV, else JSON."""
    accept = request.headers.get("Accept", "")
    if school_exports.XLSX in accept:
        return _download(xlsx(data), school_exports.XLSX, f"{filename}.xlsx")
    if "text/csv" in accept:
        return _download(csv(data), "text/csv; charset=utf-8", f"{filename}.csv")
    return answer(data)


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(
        body=body,
        headers={"Content-Type": content_type, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
