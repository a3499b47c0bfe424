"""HR pages: the cohort dashboard and its downloads, learner search, the learner page, the
service milestones and their download (the roster upload is ``api.console.roster``).

Invariants: every figure comes from the API as the session's token (cohort, profile,
balance, verdicts, plan, history); the search reads the learners' register but shows only
learners in the token's jurisdiction (``Principal.covers_jurisdiction``, the API's own rule),
and the learner page it links to is again the API's to allow or refuse.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from aiohttp import web

from api.console import evidence, labels
from api.console.web import Page, page, problem_words
from api.service.context import SERVICES
from projections.queries import find_learners

COHORT_READERS: Final = frozenset({"hr", "admin", "auditor"})
LEARNER_READERS: Final = frozenset({"hr", "admin", "auditor"})
DEFAULT_TARGET: Final = "teacher_annual"


def _jurisdiction(current: Page) -> str:
    asked = current.request.query.get("jurisdiction", "").strip()
    assert current.session is not None
    return asked or current.session.scope.get("jurisdiction") or "CN"


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


#: Learners short of the target shown per page of the dashboard (the API's cursor pages on).
SHORT_PAGE: Final = 100


@page(COHORT_READERS)
async def cohort(current: Page) -> web.StreamResponse:
    """Counts of the whole jurisdiction per school (one judging of every learner, by the API's
    totals) and one page of who is short, judged at the same position and day."""
    q = current.request.query
    target = q.get("target") or DEFAULT_TARGET
    jurisdiction = _jurisdiction(current)
    school = q.get("school") or None
    api = current.api
    targets, totals = await asyncio.gather(
        api.get("/v1/targets", jurisdiction=jurisdiction),
        api.get("/v1/eligibility", target=target, jurisdiction=jurisdiction, limit=1, totals="true"),
    )
    if not totals.ok:
        return current.render("error.html", status=totals.status, message=problem_words(totals, current.lang))
    on, position = totals.data["on"], totals.data["position"]
    short_page = await api.get(
        "/v1/eligibility",
        target=target,
        jurisdiction=jurisdiction,
        school=school,
        eligible="false",
        on=on,
        at_position=position,
        after=q.get("after", ""),
        limit=SHORT_PAGE,
        totals="false",
    )
    if not short_page.ok:
        return current.render("error.html", status=short_page.status, message=problem_words(short_page, current.lang))
    per_school: dict[str, dict[str, int]] = totals.data["counts_by_school"]
    found = per_school.get(school or "", {}) if school else totals.data["counts"]
    counts = {"yes": found.get("eligible", 0), "no": found.get("not_eligible", 0), "na": found.get("not_applicable", 0)}
    short = [{**r, "missing_text": _missing_text(r["missing"], current.lang)} for r in short_page.data["learners"]]
    chart = {
        "labels": list(per_school),
        "eligible": [c["eligible"] for c in per_school.values()],
        "not_eligible": [c["not_eligible"] for c in per_school.values()],
    }
    return current.render(
        "hr_cohort.html",
        target=target,
        targets=[t["target"] for t in targets.data.get("targets", [])] if targets.ok else [target],
        jurisdiction=jurisdiction,
        school=school or "",
        schools=[s for s in per_school if s],
        counts=counts,
        short=short,
        next_after=short_page.data.get("next_after"),
        chart=chart,
        on=on,
        position=position,
    )


@page(COHORT_READERS)
async def cohort_download(current: Page) -> web.StreamResponse:
    """The cohort as the API's own sheet (every learner in scope, streamed)."""
    q = current.request.query
    return await current.sheet(
        "/v1/eligibility",
        current.request.match_info["kind"],
        target=q.get("target") or DEFAULT_TARGET,
        jurisdiction=_jurisdiction(current),
        school=q.get("school") or None,
    )


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
    plan_target = current.request.query.get("plan_target") or DEFAULT_TARGET
    plan_on = current.request.query.get("on") or None
    # The plan and the verdicts are independent reads: one round of calls, not two.
    plan, *verdicts = await asyncio.gather(
        api.get(f"{base}/plan", target=plan_target, on=plan_on),
        *(api.get(f"{base}/eligibility", target=t) for t in names),
    )
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


#: The roles whose years of service the milestones page offers (the API takes any role code).
MILESTONE_ROLES: Final = ("teacher", "head_teacher", "principal")
DEFAULT_YEARS: Final = "25"


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
    """The milestones as the API's own sheet."""
    return await current.sheet("/v1/milestones", "xlsx", **_milestones_asked(current))


ROUTES = [
    web.get("/console/hr/milestones", milestones),
    web.get("/console/hr/milestones.xlsx", milestones_download),
    web.get("/console/hr", cohort),
    web.get("/console/hr/cohort.{kind}", cohort_download),
    web.get("/console/learners", search),
    web.get("/console/learners/{learner_id}", learner),
]
