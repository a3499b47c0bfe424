"""Read endpoints: scope check, position, one query into the read models.

Invariants:
- every answer names the ``position`` it reflects; the same request at the same
  position gives the same answer;
- personal data is read only after the caller's scope has been checked (the balance,
  hours and event ids only, is read in the same statement as the learner's scope and
  answered only once the scope is checked: ``projections.fast_balance``, which serves the
  answer the projection keeps ready, ``projections.balance_answer``, where it holds).
"""

from __future__ import annotations

from aiohttp import web

from api.service.context import principal, services
from api.service.http import (
    answer,
    answer_encoded,
    authorize_learner,
    check_learner_caller,
    check_learner_scope,
    load_query,
    resolve_position,
)
from api.service.problems import Problem
from api.service.schemas import events_query_schema, history_query_schema, read_query_schema
from ledger.errors import LearnerNotFound
from projections import certificates, eventlog, queries, service_record
from projections.fast_balance import BalanceReader

#: The balance read's fast path (``projections.fast_balance``): one statement per read, its
#: answer stored by the projection.
_BALANCES = BalanceReader()


def _timeline(query: dict[str, object], position: int) -> dict[str, object]:
    """Say which question was answered: as known at a position, at the end of a day, or now."""
    if "as_of" in query:
        return {"position": position, "as_of": query["as_of"], "timeline": "as_known_on"}
    if "at_position" in query:
        return {"position": position, "timeline": "at_position"}
    return {"position": position, "timeline": "current"}


async def get_learner(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        profile = await queries.learner_profile(conn, learner_id, at_position=position)
        held = await certificates.learner_certificates(
            conn, learner_id, query.get("as_of") or services(request).today(), position
        )
        record = await service_record.learner_service_record(conn, learner_id, position)
    if profile is None:
        raise LearnerNotFound(f"{learner_id} was not registered by then")
    # Certificates issued on paper before the bank are listed too, marked attested (not signed).
    profile["certificates"] = [{**c, "attested": False} for c in held] + [
        {**c, "attested": True} for c in record["prior_certificates"]
    ]
    profile["service_record"] = record
    return answer({**profile, **_timeline(query, position)})


async def get_balance(request: web.Request) -> web.Response:
    svc = services(request)
    learner_id = request.match_info["learner_id"]
    query = load_query(request, read_query_schema)
    # A learner token for someone else learns nothing, not even whether they exist.
    check_learner_caller(request, learner_id)
    async with svc.reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        found = await _BALANCES.balance(
            conn,
            learner_id,
            at_position=position,
            today=query.get("as_of") or svc.today(),
            cycle_anchor_year=svc.settings.cycle_anchor_year,
            cycle_years=svc.settings.cycle_years,
        )
    # The scope is checked, on what the same statement read, before any of it is answered.
    if found is None:
        raise LearnerNotFound(f"no learner {learner_id} is known")
    check_learner_scope(request, learner_id, (found.jurisdiction, found.school))
    return answer_encoded(found.body, _timeline(query, position))


async def get_history(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, history_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        events = await queries.learner_history(
            conn, learner_id, at_position=position, after=query["after"], limit=query["limit"]
        )
    return answer({"learner_id": learner_id, "events": events, **_timeline(query, position)})


async def get_events(request: web.Request) -> web.Response:
    query = load_query(request, events_query_schema)
    async with services(request).reads.acquire() as conn:
        events = await queries.event_stream(conn, after=query["after"], limit=query["limit"])
    last = events[-1]["position"] if events else query["after"]
    return answer({"events": events, "after": query["after"], "next_after": last})


async def get_provider(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    caller = principal(request)
    if caller.role == "institution" and caller.provider_id != provider_id:
        raise Problem(403, "forbidden", "Outside your scope", "an institution reads only itself")
    async with services(request).reads.acquire() as conn:
        view = await queries.provider_view(conn, provider_id)
        position = await eventlog.applied_position(conn)
    if view is None:
        raise Problem(404, "provider_not_found", "No such training institution", f"no provider {provider_id}")
    return answer({**view, "position": position})
