"""A provider's own postings: ``GET /v1/providers/{provider_id}/completions``.

Invariants:
- an institution token reads only its own provider (403 before anything is read); admin and
  auditor read any; nobody else (the routes table);
- what is answered is what the institution posted, nothing more of the learner
  (``projections.provider_completions``);
- JSON is paged (``after``/``limit``, ``next_after``); a spreadsheet (``Accept: text/csv`` or
  the xlsx type) holds the whole date range, streamed as it is read and written by
  ``api.service.spreadsheet``.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from api.service import spreadsheet
from api.service.context import principal, services
from api.service.http import answer, load_query, resolve_position, stream
from api.service.problems import Problem
from api.service.provider_completion_schemas import provider_completions_query_schema
from projections import provider_completions, queries

COLUMNS: Final = (
    spreadsheet.Column("record_id", "identifier"),
    spreadsheet.Column("learner_id", "identifier"),
    spreadsheet.Column("programme_code", "identifier"),
    spreadsheet.Column("programme_title"),
    spreadsheet.Column("category"),
    spreadsheet.Column("level"),
    spreadsheet.Column("hours", "hours"),
    spreadsheet.Column("assessment"),
    spreadsheet.Column("completed_on", "date"),
    spreadsheet.Column("status"),
    spreadsheet.Column("detail"),
    spreadsheet.Column("position", "count"),
)


def _cells(row: dict[str, Any], language: spreadsheet.HeaderLanguage) -> list[Any]:
    p = row["programme"]
    return [
        row["record_id"],
        row["learner_id"],
        p["code"],
        p["title"],
        spreadsheet.term("category", p["category"], language),
        spreadsheet.term("level", p["level"], language),
        row["hours"],
        spreadsheet.term("assessment", row["assessment"], language),
        row["completed_on"],
        spreadsheet.term("posting_status", row["status"], language),
        row["revocation_reason"],
        row["position"],
    ]


async def _sheet(
    request: web.Request,
    conn: Any,
    provider_id: str,
    query: dict[str, Any],
    position: int,
    kind: spreadsheet.SheetKind,
) -> web.StreamResponse:
    """The whole date range as a sheet, streamed from the read models as it is written."""
    language = spreadsheet.header_language(query.get("lang"), request.headers.get("Accept-Language"))
    response = web.StreamResponse(headers=spreadsheet.sheet_headers(kind, f"completions-{provider_id}.{kind}"))
    rows = (
        _cells(r, language)
        async for r in provider_completions.all_provider_completions(
            conn, provider_id, start=query.get("start"), end=query.get("end"), at_position=position
        )
    )
    return await stream(request, response, spreadsheet.sheet_chunks(kind, provider_id, COLUMNS, language, rows))


async def get_provider_completions(request: web.Request) -> web.StreamResponse:
    provider_id = request.match_info["provider_id"]
    caller = principal(request)
    if caller.role == "institution" and caller.provider_id != provider_id:
        raise Problem(403, "forbidden", "Outside your scope", "an institution reads only its own completions")
    query = load_query(request, provider_completions_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        if await queries.provider_view(conn, provider_id) is None:
            raise Problem(404, "provider_not_found", "No such training institution", f"no provider {provider_id}")
        kind = spreadsheet.wanted_format(request.headers.get("Accept"))
        if kind is not None:
            return await _sheet(request, conn, provider_id, query, position, kind)
        found = await provider_completions.provider_completions(
            conn,
            provider_id,
            start=query.get("start"),
            end=query.get("end"),
            before=query.get("after"),
            limit=query["limit"] + 1,
            at_position=position,
        )
    page = found[: query["limit"]]
    return answer(
        {
            "provider_id": provider_id,
            "completions": page,
            "next_after": page[-1]["position"] if len(found) > len(page) else None,
            "from": query["start"].isoformat() if "start" in query else None,
            "to": query["end"].isoformat() if "end" in query else None,
            "position": position,
        }
    )
