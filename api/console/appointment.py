"""HR's appointment check (持证上岗): may this teacher be appointed to a role from a day?

Invariants: the verdict is the API's dry run of the appointment
(``GET /v1/learners/{id}/appointment-check``, the ledger's own rule on the records the write
would judge), asked as the session's token; the page writes nothing and offers no write;
every refusal (unknown teacher, outside the token's scope, role held already) is shown in
the API's words.
"""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import quote

from aiohttp import web

from api.console import evidence
from api.console.web import Page, page, problem_words
from ledger.appointments import TARGETS

#: Who may ask: those who may appoint (``POST /v1/learners/{id}/roles``).
APPOINTERS: Final = frozenset({"hr", "admin"})
#: The roles whose appointment the ledger judges, the first one asked by default.
ROLES: Final = tuple(TARGETS)


@page(APPOINTERS)
async def check(current: Page) -> web.StreamResponse:
    q = current.request.query
    learner_id = q.get("learner_id", "").strip()[:64]
    role = q.get("role") or ROLES[0]
    on = q.get("on", "").strip()
    asked = {"learner_id": learner_id, "role": role, "on": on}
    if not learner_id:
        return current.render("appointment.html", asked=asked, roles=ROLES, result=None, profile=None, failure=None)
    base = f"/v1/learners/{quote(learner_id, safe='')}"
    reply, profile = await asyncio.gather(
        current.api.get(f"{base}/appointment-check", role=role, on=on), current.api.get(base)
    )
    failure = None if reply.ok else problem_words(reply, current.lang)
    verdict = reply.data.get("verdict") if reply.ok else None
    return current.render(
        "appointment.html",
        status=200 if reply.ok else reply.status,
        asked=asked,
        roles=ROLES,
        result=reply.data if reply.ok else None,
        profile=profile.data if profile.ok else None,
        failure=failure,
        # Each number's records are on the teacher's page (its history, or its evidence index).
        events=None,
        evidence_ids={e["event_id"] for e in evidence.index([verdict] if verdict else [], {}, current.lang)},
    )


ROUTES = [web.get("/console/hr/appointment", check)]
