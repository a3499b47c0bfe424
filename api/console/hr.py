"""HR pages: the cohort dashboard and its downloads, learner search, the learner page, the
roster upload, the service milestones and their download.

Invariants: every figure comes from the API as the session's token (cohort, profile,
balance, verdicts, plan, history); the search reads the learners' register but shows only
learners in the token's jurisdiction (``Principal.covers_jurisdiction``, the API's own rule),
and the learner page it links to is again the API's to allow or refuse.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from api.console import evidence, labels, sheets
from api.console.bank_api import Api, Reply
from api.console.web import Page, page
from api.service import spreadsheet
from api.service.context import SERVICES
from projections.queries import find_learners

COHORT_READERS: Final = frozenset({"hr", "admin", "auditor"})
LEARNER_READERS: Final = frozenset({"hr", "admin", "auditor"})
ROSTER_WRITERS: Final = frozenset({"hr", "admin"})
DEFAULT_TARGET: Final = "teacher_annual"


def _jurisdiction(current: Page) -> str:
    asked = current.request.query.get("jurisdiction", "").strip()
    assert current.session is not None
    return asked or current.session.scope.get("jurisdiction") or "CN"


async def _cohort(api: Api, target: str, jurisdiction: str, school: str | None) -> Reply:
    """Every learner's verdict in scope, page after page (the API's cursor)."""
    rows: list[dict[str, Any]] = []
    after = ""
    while True:
        reply = await api.get(
            "/v1/eligibility", target=target, jurisdiction=jurisdiction, school=school, after=after, limit=1000
        )
        if not reply.ok:
            return reply
        rows.extend(reply.data["learners"])
        after = reply.data.get("next_after") or ""
        if not after:
            return Reply(200, {**reply.data, "learners": rows})


def _missing_text(missing: list[dict[str, Any]], lang: str) -> str:
    parts = []
    for m in missing:
        hours = m.get("hours") or {}
        due = m.get("due") or ""
        if hours:
            for cat, h in hours.items():
                parts.append(
                    f"{labels.label('category', cat, lang)} {h} {labels.word('hours', lang)}"
                    + (f" ({labels.word('by', lang)} {due})" if due else "")
                )
        else:
            parts.append(str(m.get("rule") or m.get("policy_id")))
    return "；".join(parts)


@page(COHORT_READERS)
async def cohort(current: Page) -> web.StreamResponse:
    q = current.request.query
    target = q.get("target") or DEFAULT_TARGET
    jurisdiction = _jurisdiction(current)
    school = q.get("school") or None
    api = current.api
    targets, reply = await asyncio.gather(
        api.get("/v1/targets", jurisdiction=jurisdiction), _cohort(api, target, jurisdiction, None)
    )
    if not reply.ok:
        return current.render("error.html", status=reply.status, message=problem_words(reply, current.lang))
    every = reply.data["learners"]
    schools = sorted({r["school"] or "" for r in every})
    rows = [r for r in every if school is None or r["school"] == school]
    counts = Counter("yes" if r["eligible"] else ("no" if r["eligible"] is False else "na") for r in rows)
    per_school: dict[str, Counter[str]] = {}
    for r in every:
        per_school.setdefault(r["school"] or "", Counter())[
            "yes" if r["eligible"] else "no" if r["eligible"] is False else "na"
        ] += 1
    short = [{**r, "missing_text": _missing_text(r["missing"], current.lang)} for r in rows if r["eligible"] is False]
    chart = {
        "labels": list(per_school),
        "eligible": [c["yes"] for c in per_school.values()],
        "not_eligible": [c["no"] for c in per_school.values()],
    }
    return current.render(
        "hr_cohort.html",
        target=target,
        targets=[t["target"] for t in targets.data.get("targets", [])] if targets.ok else [target],
        jurisdiction=jurisdiction,
        school=school or "",
        schools=schools,
        counts=counts,
        short=short,
        chart=chart,
        on=reply.data.get("on"),
        position=reply.data.get("position"),
    )


COHORT_HEADERS: Final = (
    "教师编号",
    "姓名",
    "学校",
    "行政区划",
    "考核目标",
    "判定日期",
    "是否达标",
    "缺少学时",
    "未满足的规则",
)


async def _cohort_sheet(current: Page) -> tuple[str, list[list[Any]]] | web.Response:
    q = current.request.query
    target = q.get("target") or DEFAULT_TARGET
    jurisdiction = _jurisdiction(current)
    reply = await _cohort(current.api, target, jurisdiction, q.get("school") or None)
    if not reply.ok:
        return current.render("error.html", status=reply.status, message=problem_words(reply, "zh"))
    rows = [
        [
            r["learner_id"],
            r["name"],
            r["school"],
            r["jurisdiction"],
            labels.label("target", target, "zh"),
            reply.data["on"],
            "" if r["eligible"] is None else ("达标" if r["eligible"] else "未达标"),
            _missing_text(r["missing"], "zh"),
            " ".join(r["unmet"]),
        ]
        for r in reply.data["learners"]
    ]
    return f"{target}-{jurisdiction}", rows


#: The downloads of the cohort: (media type, how the sheet is written).
DOWNLOADS: Final[dict[str, tuple[str, Callable[[list[list[Any]]], bytes]]]] = {
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda rows: sheets.xlsx("达标情况", COHORT_HEADERS, rows, identifiers={0, 3}),
    ),
    "csv": ("text/csv; charset=utf-8", lambda rows: sheets.csv_document(COHORT_HEADERS, rows, identifiers={0, 3})),
}


@page(COHORT_READERS)
async def cohort_download(current: Page) -> web.StreamResponse:
    kind = current.request.match_info["kind"]
    if kind not in DOWNLOADS:
        return current.error(404, labels.word("not_found", current.lang))
    made = await _cohort_sheet(current)
    if isinstance(made, web.Response):
        return made
    name, rows = made
    media_type, write = DOWNLOADS[kind]
    return web.Response(
        body=write(rows),
        headers={"Content-Type": media_type, "Content-Disposition": f'attachment; filename="cohort-{name}.{kind}"'},
    )


def problem_words(reply: Reply, lang: str) -> str:
    if isinstance(reply.data, dict):
        code = reply.data.get("code")
        if code == "forbidden":
            return labels.word("forbidden", lang)
        detail = reply.data.get("detail", "")
        return f"{labels.reason(code, lang)}: {detail}" if code in labels.REASONS else str(detail or code)
    return str(reply.status)


@page(LEARNER_READERS)
async def search(current: Page) -> web.StreamResponse:
    text = current.request.query.get("q", "").strip()[:64]
    found: list[dict[str, Any]] = []
    if text:
        assert current.session is not None
        svc = current.request.app[SERVICES]
        caller = await svc.tokens.verify(current.session.token)
        if caller is None:
            return current.error(401, labels.word("bad_token", current.lang))
        async with svc.pool.acquire() as conn:
            candidates = await find_learners(conn, text)
        found = [r for r in candidates if caller.covers_jurisdiction(r["jurisdiction"])]
    return current.render("learner_search.html", q=text, found=found)


async def learner_view(current: Page, learner_id: str) -> dict[str, Any] | web.Response:
    """Everything the learner page shows, each part as the API answers it for this token."""
    api = current.api
    base = f"/v1/learners/{learner_id}"
    profile, balance, history = await asyncio.gather(
        api.get(base), api.get(f"{base}/balance"), api.get(f"{base}/history")
    )
    if not profile.ok:
        return current.render("error.html", status=profile.status, message=problem_words(profile, current.lang))
    jurisdiction = profile.data.get("jurisdiction") or "CN"
    targets = await api.get("/v1/targets", jurisdiction=jurisdiction)
    names = [t["target"] for t in targets.data.get("targets", [])] if targets.ok else [DEFAULT_TARGET]
    verdicts = await asyncio.gather(*(api.get(f"{base}/eligibility", target=t) for t in names))
    plan_target = current.request.query.get("plan_target") or DEFAULT_TARGET
    plan_on = current.request.query.get("on") or None
    plan = await api.get(f"{base}/plan", target=plan_target, on=plan_on)
    judged = [v.data for v in verdicts if v.ok and v.data.get("applies", True) is not False]
    events = history.data.get("events", []) if history.ok else None
    # Who may not read the history (HR) follows a figure to the records the answers name.
    cited = evidence.index(judged, profile.data, current.lang) if events is None else []
    by_category = balance.data.get("by_category", {}) if balance.ok else {}
    chart = {
        "labels": [labels.label("category", c, current.lang) for c in by_category],
        "hours": [float(v["hours"]) for v in by_category.values()],
    }
    return {
        "learner_id": learner_id,
        "profile": profile.data,
        "balance": balance.data if balance.ok else None,
        "verdicts": judged,
        "plan": plan.data if plan.ok else None,
        "plan_target": plan_target,
        "plan_on": plan_on or "",
        "targets": names,
        "events": events,
        "evidence": cited,
        "evidence_ids": {e["event_id"] for e in cited},
        "chart": chart,
    }


@page(LEARNER_READERS)
async def learner(current: Page) -> web.StreamResponse:
    view = await learner_view(current, current.request.match_info["learner_id"])
    if isinstance(view, web.Response):
        return view
    return current.render("learner.html", **view)


ROSTER_COLUMNS: Final = {
    "learner_id": ("教师编号", "teacher number"),
    "name": ("姓名", "name"),
    "school": ("学校", "school"),
    "hired_on": ("入职日期", "hired on"),
    "role": ("岗位", "role"),
    "since": ("任职起始", "since"),
    "jurisdiction": ("行政区划", "jurisdiction"),
}


def _roster_item(headers: list[str], row: list[str], default_jurisdiction: str) -> dict[str, Any]:
    at = {h: i for i, h in enumerate(headers)}

    def cell(field: str) -> str:
        for name in ROSTER_COLUMNS[field]:
            if name in at:
                return row[at[name]].strip()
        return ""

    item: dict[str, Any] = {
        "learner_id": cell("learner_id"),
        "name": cell("name"),
        "jurisdiction": cell("jurisdiction") or default_jurisdiction,
        "school": cell("school") or None,
        "hired_on": cell("hired_on") or None,
        "roles": [],
    }
    role = cell("role")
    if role:
        item["roles"] = [{"role": labels.code_of_label("role", role), "since": cell("since") or cell("hired_on")}]
    return item


@page(ROSTER_WRITERS)
async def roster_form(current: Page) -> web.StreamResponse:
    return current.render("roster.html", results=None, columns=ROSTER_COLUMNS, failure=None)


@page(ROSTER_WRITERS)
async def roster_post(current: Page) -> web.StreamResponse:
    upload = current.form().get("file")
    if not isinstance(upload, web.FileField):
        return current.render("roster.html", status=422, results=None, columns=ROSTER_COLUMNS, failure="file")
    try:
        headers, rows = sheets.read_table(upload.file.read(), upload.filename)
    except sheets.SheetUnreadable as error:
        return current.render("roster.html", status=422, results=None, columns=ROSTER_COLUMNS, failure=str(error))
    assert current.session is not None
    default = current.session.scope.get("jurisdiction") or ""
    items = [_roster_item(headers, row, default) for row in rows]
    reply = await current.api.post("/v1/learners", {"learners": items})
    if reply.status != 207:
        return current.render(
            "roster.html",
            status=reply.status,
            results=None,
            columns=ROSTER_COLUMNS,
            failure=problem_words(reply, current.lang),
        )
    results = [{**r, "row": i + 2} for i, r in enumerate(reply.data["results"])]
    return current.render("roster.html", results=results, summary=reply.data, columns=ROSTER_COLUMNS, failure=None)


#: The roles whose years of service the milestones page offers (the API takes any role code).
MILESTONE_ROLES: Final = ("teacher", "head_teacher", "principal")
DEFAULT_YEARS: Final = "25"
#: The milestones' xlsx, written by the bank's one spreadsheet writer.
MILESTONE_COLUMNS: Final = (
    spreadsheet.Column("learner_id", "identifier"),
    spreadsheet.Column("name"),
    spreadsheet.Column("school"),
    spreadsheet.Column("jurisdiction", "identifier"),
    spreadsheet.Column("role"),
    spreadsheet.Column("years", "count"),
    spreadsheet.Column("reached_on", "date"),
    spreadsheet.Column("school_year"),
)


def _milestones_asked(current: Page) -> dict[str, str]:
    q = current.request.query
    return {
        "jurisdiction": _jurisdiction(current),
        "role": q.get("role") or "teacher",
        "years": q.get("years") or DEFAULT_YEARS,
        "school_year": q.get("school_year", ""),
        "school": q.get("school", ""),
    }


async def _milestones_found(current: Page) -> tuple[dict[str, str], dict[str, Any] | web.Response]:
    """The question the page asks and the API's answer to it (or the page of its refusal)."""
    asked = _milestones_asked(current)
    reply = await current.api.get("/v1/milestones", **asked)
    if not reply.ok:
        return asked, current.render("error.html", status=reply.status, message=problem_words(reply, current.lang))
    return asked, reply.data


@page(COHORT_READERS)
async def milestones(current: Page) -> web.StreamResponse:
    """Who reaches N years of service this school year, as ``GET /v1/milestones`` answers the token."""
    asked, found = await _milestones_found(current)
    if isinstance(found, web.Response):
        return found
    return current.render("hr_milestones.html", asked=asked, roles=MILESTONE_ROLES, found=found)


@page(COHORT_READERS)
async def milestones_download(current: Page) -> web.StreamResponse:
    _, found = await _milestones_found(current)
    if isinstance(found, web.Response):
        return found
    language: spreadsheet.HeaderLanguage = "en" if current.lang == "en" else "zh"
    sheet = spreadsheet.XlsxSheet(f"milestones {found['school_year']}", MILESTONE_COLUMNS, language)
    role = labels.label("role", found["role"], current.lang)
    for r in found["learners"]:
        sheet.append(
            [
                r["learner_id"],
                r["name"],
                r["school"],
                r["jurisdiction"],
                role,
                r["years"],
                r["reached_on"],
                found["school_year"],
            ]
        )
    name = f"milestones-{found['role']}-{found['jurisdiction']}-{found['school_year']}.xlsx"
    response = web.StreamResponse(
        headers={"Content-Type": spreadsheet.XLSX_TYPE, "Content-Disposition": spreadsheet.disposition(name)}
    )
    await response.prepare(current.request)
    async for chunk in sheet.chunks():
        await response.write(chunk)
    await response.write_eof()
    return response


ROUTES = [
    web.get("/console/hr/milestones", milestones),
    web.get("/console/hr/milestones.xlsx", milestones_download),
    web.get("/console/hr", cohort),
    web.get("/console/hr/cohort.{kind}", cohort_download),
    web.get("/console/learners", search),
    web.get("/console/learners/{learner_id}", learner),
    web.get("/console/hr/roster", roster_form),
    web.post("/console/hr/roster", roster_post),
]
