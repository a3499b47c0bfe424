"""The school's pages: this week's sessions, the attendance sheet as a tick list of its
teachers, its plan and its term inspection (期末专项检查), with the inspection as xlsx.

Invariants:
- only a ``school`` session opens them, and always for the token's own school (the API
  refuses any other); every figure is the API's inspection answer, read as this token;
- the term is the bank's day's term (``ledger.school_year``) unless ``?term=`` asks another;
- the tick list is the inspection's ``attendance.teachers`` (the school's registered teachers);
  posting it is the API's attendance write (the ticked teachers present), and the page
  reads the inspection again at the write's ``position``, so the rates shown include it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from api.console import labels
from api.console.web import Page, page
from api.service.context import SERVICES
from ledger.school_year import DEFAULT_CALENDAR

SCHOOL: Final = frozenset({"school"})
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _school(current: Page) -> str:
    assert current.session is not None
    school_id = current.session.scope.get("school_id")
    assert school_id is not None
    return school_id


def _term(current: Page) -> str:
    asked = current.request.query.get("term", "")
    return asked or str(DEFAULT_CALENDAR.term_of(current.request.app[SERVICES].today()))


def _week(today: date, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    monday = today - timedelta(days=today.weekday())
    days = {str(monday + timedelta(days=n)) for n in range(7)}
    return [s for s in sessions if str(s["held_on"]) in days]


async def _home(current: Page, outcome: dict[str, Any] | None, position: int | None = None) -> web.StreamResponse:
    school_id, term = _school(current), _term(current)
    base = f"/v1/schools/{quote(school_id, safe='')}"
    found = await current.api.get(base, min_position=position)
    inspection = await current.api.get(base + "/inspection", term=term, min_position=position)
    if not inspection.ok:
        return current.error(inspection.status, labels.reason(_code(inspection.data), current.lang))
    sessions = inspection.data["sessions"]["list"]
    chosen = current.request.query.get("session") or (outcome or {}).get("session_id")
    return current.render(
        "school.html",
        school=found.data if found.ok else {"school_id": school_id},
        term=term,
        inspection=inspection.data,
        week=_week(current.request.app[SERVICES].today(), sessions),
        sheet=next((s for s in sessions if s["session_id"] == chosen), None),
        outcome=outcome,
    )


def _code(data: Any) -> str | None:
    return data.get("code") if isinstance(data, dict) else None


@page(SCHOOL)
async def home(current: Page) -> web.StreamResponse:
    return await _home(current, None)


@page(SCHOOL)
async def attendance(current: Page) -> web.StreamResponse:
    """Post the session's sheet: the ticked teachers present (the API checks each is the school's)."""
    form = current.form()
    session_id = str(form.get("session_id", "")).strip()
    # An unticked teacher is simply not present: an absence with its reason is the API's to take.
    body: dict[str, Any] = {"present": [str(v) for v in form.getall("present", [])]}
    reason = str(form.get("reason", "")).strip()
    if reason:
        body["reason"] = reason
    path = f"/v1/schools/{quote(_school(current), safe='')}/sessions/{quote(session_id, safe='')}/attendance"
    reply = await current.api.post(path, body)
    outcome: dict[str, Any] = {
        "session_id": session_id,
        "status": reply.data.get("status") if reply.ok else None,
        "present": body["present"],  # the sheet shown again as it was posted
    }
    if not reply.ok:
        outcome["reason"] = labels.reason(_code(reply.data), current.lang)
        outcome["detail"] = reply.data.get("detail") if isinstance(reply.data, dict) else ""
    position = reply.data.get("position") if reply.ok else None
    return await _home(current, outcome, position if isinstance(position, int) else None)


@page(SCHOOL)
async def inspection_xlsx(current: Page) -> web.StreamResponse:
    school_id, term = _school(current), _term(current)
    status, body = await current.api.download(f"/v1/schools/{quote(school_id, safe='')}/inspection", XLSX, term=term)
    if status != 200:
        return current.error(status, labels.word("not_found", current.lang))
    return web.Response(
        body=body,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="inspection-{school_id}-{term}.xlsx"'},
    )


ROUTES = [
    web.get("/console/school", home),
    web.post("/console/school/attendance", attendance),
    web.get("/console/school/inspection.xlsx", inspection_xlsx),
]
