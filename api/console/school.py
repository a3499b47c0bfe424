"""The school's pages: this week's sessions, the attendance sheet as a tick list of its
teachers, its plan and its term inspection (期末专项检查), with the inspection as xlsx; a
session recorded and the plan filed (or replaced) from the page.

Invariants:
- only a ``school`` session opens them, and always for the token's own school (the API
  refuses any other); every figure is the API's inspection answer, read as this token;
- the term is the bank's day's term (``ledger.school_year``) unless ``?term=`` asks another;
- the tick list is the inspection's ``attendance.teachers`` (the school's registered teachers),
  ticked as the API's read of the session's sheet in force (present, absent with the reason),
  so a reload shows what was recorded; posting it is the API's attendance write (the ticked
  teachers present), and the page reads the inspection again at the write's ``position``, so
  the rates shown include it;
  an unticked teacher with a reason typed beside the name is posted as absent with it, and
  each teacher's line of the API's answer is shown in the page's language;
- a session or plan is the API's write with the form's fields as they were typed; a refusal
  shows the API's own title and detail (asked in the page's language) and each field path
  with its message, and the form is shown again as it was filled;
- rates are shown as the xlsx shows them (``50.0%``, ``school_exports.percent``), never as
  the fraction the JSON carries; the calendar shown (term dates, sessions a week, the
  attendance threshold) is the inspection's, so it is the jurisdiction's policy in force.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from api.console import labels
from api.console.bank_api import Reply
from api.console.web import Page, page
from api.service.context import SERVICES
from api.service.school_exports import percent
from ledger.school_year import DEFAULT_CALENDAR

SCHOOL: Final = frozenset({"school"})
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Each teacher's line of an attendance answer, in both languages.
LINE_STATUS: Final[dict[str, tuple[str, str]]] = {
    "credited": ("已出勤，已记学时", "present, hours credited"),
    "duplicate_content": ("已出勤（同一内容已记学时，不重复计）", "present (this content was credited already)"),
    "absent": ("缺席", "absent"),
    "present": ("已出勤", "present"),
    "withdrawn": ("更正后不再计为出勤", "no longer present after the correction"),
    "unchanged": ("与已记录的相同", "as recorded before"),
}


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


async def _home(
    current: Page,
    outcome: dict[str, Any] | None,
    position: int | None = None,
    forms: dict[str, Any] | None = None,
) -> web.StreamResponse:
    school_id, term = _school(current), _term(current)
    base = f"/v1/schools/{quote(school_id, safe='')}"
    found = await current.api.get(base, min_position=position)
    inspection = await current.api.get(base + "/inspection", term=term, min_position=position)
    if not inspection.ok:
        return current.error(inspection.status, labels.reason(_code(inspection.data), current.lang))
    sessions = inspection.data["sessions"]["list"]
    chosen = current.request.query.get("session") or (outcome or {}).get("session_id")
    sheet = next((s for s in sessions if s["session_id"] == chosen), None)
    return current.render(
        "school.html",
        school=found.data if found.ok else {"school_id": school_id},
        term=term,
        inspection=inspection.data,
        week=_week(current.request.app[SERVICES].today(), sessions),
        sheet=sheet,
        recorded=None if sheet is None else await _recorded(current, f"{base}/sessions", sheet, position),
        outcome=outcome,
        forms=forms or {},
        pct=_percent,
        line_status=lambda status: _line_status(status, current.lang),
    )


async def _recorded(current: Page, sessions: str, sheet: dict[str, Any], position: int | None) -> dict[str, Any]:
    """The session's sheet in force as the API reads it: the ticks and reasons to show again."""
    reply = await current.api.get(f"{sessions}/{quote(sheet['session_id'], safe='')}/attendance", min_position=position)
    data = reply.data if reply.ok else {}
    present = [t["learner_id"] for t in data.get("present", [])]
    absent = {t["learner_id"]: t["reason"] or "" for t in data.get("absent", [])}
    return {
        "sheets": len(data.get("sheets", [])),
        "present": present,
        "absent": absent,
        "lines": {learner: "present" for learner in present} | {learner: "absent" for learner in absent},
    }


def _percent(rate: object) -> str:
    """A rate of the JSON (a decimal string or number) as the xlsx shows it: ``50.0%``."""
    return percent(None if rate is None else Decimal(str(rate)))


def _line_status(status: object, lang: str) -> str:
    zh, en = LINE_STATUS.get(str(status), (str(status), str(status)))
    return en if lang == "en" else zh


def _refusal(reply: Reply, lang: str) -> dict[str, Any]:
    """What the page shows of a refused write: the API's title and detail (already in the
    page's language) and each field path with its messages."""
    data = reply.data if isinstance(reply.data, dict) else {}
    errors = data.get("errors") or {}
    return {
        "title": data.get("title") or labels.reason(data.get("code"), lang),
        "detail": data.get("detail", ""),
        "errors": [(path, "；".join(str(m) for m in messages)) for path, messages in sorted(errors.items())],
    }


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
    present = [str(v) for v in form.getall("present", [])]
    absent = [
        {"learner_id": key.removeprefix("absent-"), "reason": str(value).strip()}
        for key, value in form.items()
        if key.startswith("absent-") and str(value).strip() and key.removeprefix("absent-") not in present
    ]
    body: dict[str, Any] = {"present": present, "absent": absent}
    reason = str(form.get("reason", "")).strip()
    if reason:
        body["reason"] = reason
    path = f"/v1/schools/{quote(_school(current), safe='')}/sessions/{quote(session_id, safe='')}/attendance"
    reply = await current.api.post(path, body)
    outcome: dict[str, Any] = {
        "session_id": session_id,
        "status": reply.data.get("status") if reply.ok else None,
        "present": present,  # the sheet shown again as it was posted
        "absent": {a["learner_id"]: a["reason"] for a in absent},
        "lines": {r["learner_id"]: r["status"] for r in reply.data.get("results", [])} if reply.ok else {},
    }
    if not reply.ok:
        refusal = _refusal(reply, current.lang)
        outcome["reason"] = refusal["title"]
        outcome["detail"] = refusal["detail"]
    position = reply.data.get("position") if reply.ok else None
    return await _home(current, outcome, position if isinstance(position, int) else None)


def _field(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip()


@page(SCHOOL)
async def record_session(current: Page) -> web.StreamResponse:
    """Record a school-based session (the API checks the slot, the hours, the instructor)."""
    form = current.form()
    body = {
        "session_id": _field(form, "session_id"),
        "held_on": _field(form, "held_on"),
        "slot": _field(form, "slot"),
        "content_key": _field(form, "content_key"),
        "programme": {"code": _field(form, "programme_code"), "title": _field(form, "programme_title")},
        "hours": _field(form, "hours"),
        "instructor": _field(form, "instructor"),
    }
    return await _post_school_form(current, "sessions", "session", body, shown=("session_id",))


@page(SCHOOL)
async def file_plan(current: Page) -> web.StreamResponse:
    """File the school year's training plan (the API answers late or on time; a second, different
    plan for the year is refused)."""
    form = current.form()
    body = {
        "school_year": _field(form, "school_year"),
        "title": _field(form, "title"),
        "filed_on": _field(form, "filed_on"),
        "document_sha256": _field(form, "document_sha256").lower(),
    }
    return await _post_school_form(current, "plans", "plan", body, shown=("late",))


async def _post_school_form(
    current: Page, collection: str, name: str, body: dict[str, Any], *, shown: tuple[str, ...]
) -> web.StreamResponse:
    """Post one of the school's forms to ``/v1/schools/{id}/<collection>`` and show the page
    again: the API's refusal (in the page's language) beside the form as it was filled in, or
    what was recorded (its status and the ``shown`` fields, from the answer or else the body)."""
    form = current.form()
    reply = await current.api.post(f"/v1/schools/{quote(_school(current), safe='')}/{collection}", body)
    if not reply.ok:
        return await _home(current, None, forms={name: {**_refusal(reply, current.lang), "form": dict(form)}})
    position = reply.data.get("position")
    recorded = {name: {"status": reply.data.get("status"), **{k: reply.data.get(k, body.get(k)) for k in shown}}}
    return await _home(current, None, position if isinstance(position, int) else None, forms=recorded)


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
    web.post("/console/school/sessions", record_session),
    web.post("/console/school/plans", file_plan),
    web.get("/console/school/inspection.xlsx", inspection_xlsx),
]
