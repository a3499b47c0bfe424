"""Service milestones (seed 001 二(五)12): who reaches each number of years of service in a
role during a school year, and on which day; JSON, or a spreadsheet by ``Accept: text/csv`` or
the xlsx type (``api.service.spreadsheet``: headers and the role in the sheet's language).

Invariants:
- scope is checked before personal data is read: an hr token sees its jurisdiction only;
- the school year is the jurisdiction's (its calendar in force,
  ``projections.policies.calendar_in_force``); the roles counted are those of the
  ``service_milestone`` rule in force there for the role (so intern service counts where the
  policy says so), else the role alone, and the answer names the rule it used;
- the answer names its ``position``; the same question at the same position is the same list.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from aiohttp import web

from api.service import spreadsheet
from api.service.context import services
from api.service.http import answer, check_jurisdiction_scope, load_query, resolve_position, stream
from api.service.milestone_schemas import milestones_query_schema
from ledger.eligibility import policies_applied
from ledger.rules import ServiceMilestone
from ledger.vocabulary import parent_chain
from projections import milestones as milestone_reads
from projections import policies as policy_reads

#: The milestones' sheet (CSV and xlsx).
COLUMNS: Final = (
    spreadsheet.Column("learner_id", "identifier"),
    spreadsheet.Column("name"),
    spreadsheet.Column("school"),
    spreadsheet.Column("jurisdiction", "identifier"),
    spreadsheet.Column("role"),
    spreadsheet.Column("years", "count"),
    spreadsheet.Column("reached_on", "date"),
    spreadsheet.Column("school_year"),
)


async def get_milestones(request: web.Request) -> web.StreamResponse:
    query = load_query(request, milestones_query_schema)
    jurisdiction, role = query["jurisdiction"], query["role"]
    check_jurisdiction_scope(request, jurisdiction)
    svc = services(request)
    async with svc.reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        today = svc.today()
        calendar = await policy_reads.calendar_in_force(conn, jurisdiction, today, position)
        year = query.get("school_year") or calendar.school_year_of(today)
        first, last = calendar.span(year)
        counted, rule = await _counted_roles(conn, jurisdiction, role, first, position)
        rows = await milestone_reads.reaching(
            conn, jurisdiction, counted, query["years"], (first, last), school=query.get("school"), at_position=position
        )
    kind = spreadsheet.wanted_format(request.headers.get("Accept"))
    if kind is not None:
        return await _sheet(request, query, kind, str(year), rows)
    return answer(
        {
            "jurisdiction": jurisdiction,
            "role": role,
            "years": query["years"],
            "school_year": str(year),
            "from": first.isoformat(),
            "to": last.isoformat(),
            "counted_roles": sorted(counted),
            "rule": rule,
            "counting": "calendar anniversaries of the first start; spells summed, gaps push the day back",
            "position": position,
            "counts": {str(n): sum(1 for r in rows if r["years"] == n) for n in query["years"]},
            "learners": rows,
        }
    )


async def _sheet(
    request: web.Request, query: dict[str, Any], kind: spreadsheet.SheetKind, year: str, rows: list[dict[str, Any]]
) -> web.StreamResponse:
    language = spreadsheet.header_language(query.get("lang"), request.headers.get("Accept-Language"))
    role = query["role"]
    role_cell = spreadsheet.term("role", role, language)
    cells = (
        [r["learner_id"], r["name"], r["school"], r["jurisdiction"], role_cell, r["years"], r["reached_on"], year]
        for r in rows
    )
    name = f"milestones-{role}-{query['jurisdiction']}-{year}.{kind}"
    response = web.StreamResponse(headers=spreadsheet.sheet_headers(kind, name))
    return await stream(
        request, response, spreadsheet.sheet_chunks(kind, f"milestones {year}", COLUMNS, language, cells)
    )


async def _counted_roles(
    conn: Any, jurisdiction: str, role: str, on: date, position: int
) -> tuple[set[str], dict[str, Any] | None]:
    """The roles whose service counts towards ``role``'s years, and the rule that says so."""
    versions = await policy_reads.policies_in_force(conn, parent_chain(jurisdiction), on, position)
    chain = parent_chain(jurisdiction)
    found = sorted(
        (
            (chain.index(v.jurisdiction), v.policy_id, r)
            for v in policies_applied(versions, jurisdiction, on)
            for r in v.rules
            if isinstance(r, ServiceMilestone) and r.role == role
        ),
        key=lambda f: (f[0], f[1]),
    )
    if not found:
        return {role}, None
    _, policy_id, rule = found[0]
    return set(rule.counting), {"policy_id": policy_id, "rule": rule.id, "assumed": rule.assumed is not None}
