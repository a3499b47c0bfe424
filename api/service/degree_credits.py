"""Degree-credit endpoints (学分互认): publish and read mappings, recognise completions'
hours as degree credits (``POST /v1/transfers`` with ``type: "degree_credit"``), reverse a
recognition, and read what a learner's completions are worth toward a programme.

Invariants:
- the ledger decides on the writer thread from what is recorded
  (``ledger.degree_commands``); nothing here decides whether hours are recognisable;
- HR may recognise only for learners in its scope (their current jurisdiction, checked by
  the ledger inside the command); reads follow the learner-reader rules;
- a programme is named by its mapping id (a UUID) or as ``university:programme``;
- a refusal carries the ledger's context (for example in which programme the hours were
  recognised already) next to the problem fields.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from api.service.context import services
from api.service.degree_credit_schemas import degree_credits_query_schema, mapping_schema, recognition_schema
from api.service.http import (
    answer,
    authorize_learner,
    load,
    load_body,
    load_query,
    resolve_position,
    run_in_writer,
    with_context,
    write_scope,
    written,
)
from api.service.problems import Problem
from api.service.schemas import (
    ReadQuerySchema,
)
from ledger.degree import degree_mapping_uuid
from ledger.degree_commands import (
    RecognitionItem,
    RecognitionRequest,
    publish_mapping,
    recognise_hours,
    reverse_recognition,
)
from ledger.errors import MappingNotFound
from projections import degree_credits as degree_credit_reads


def mapping_uuid(name: str) -> UUID:
    """A programme named by its mapping UUID or as ``university:programme``."""
    try:
        return UUID(name)
    except ValueError:
        pass
    university, sep, programme = name.partition(":")
    if not sep or not university or not programme:
        raise Problem(
            422,
            "validation_failed",
            "The request has invalid fields",
            "name the programme by its mapping id or as university:programme",
            errors={"programme": ["a UUID or university:programme"]},
        )
    return degree_mapping_uuid(university, programme)


# -- mappings ---------------------------------------------------------------------------


async def post_mapping(request: web.Request) -> web.Response:
    data = await load_body(request, mapping_schema)
    published = await with_context(lambda: run_in_writer(request, lambda bank: publish_mapping(bank, data)))
    return written(
        published.written.status,
        published.written.position,
        mapping_id=str(published.mapping_id),
        version=published.version,
    )


async def get_mapping(request: web.Request) -> web.Response:
    mapping_id = mapping_uuid(request.match_info["mapping_id"])
    query = load_query(request, ReadQuerySchema())
    async with services(request).pool.acquire() as conn:
        position = await resolve_position(conn, request, query)
        view = await degree_credit_reads.mapping_view(conn, mapping_id, position)
    if view is None:
        raise MappingNotFound(f"no degree mapping {mapping_id} is published")
    return answer({**view, "position": position})


# -- recognitions -------------------------------------------------------------------------


async def post_recognition(request: web.Request, raw: Any, query: dict[str, Any]) -> web.Response:
    """``POST /v1/transfers`` with ``type: "degree_credit"`` (dispatched by ``api.transfers``,
    which has loaded the query)."""
    data = load(recognition_schema, raw)
    async with services(request).pool.acquire() as conn:
        await resolve_position(conn, request, query)
    scope = write_scope(request)
    req = RecognitionRequest(
        recognition_id=data["transfer_id"],
        learner_id=data["learner_id"],
        mapping_id=mapping_uuid(data["mapping_id"]),
        items=tuple(RecognitionItem(i["provider_id"], i["record_id"], i.get("hours")) for i in data["completions"]),
        mapping_version=data.get("mapping_version"),
        on=data.get("on"),
    )
    result = await with_context(lambda: run_in_writer(request, lambda bank: recognise_hours(bank, req, scope)))
    record = result.record
    return written(
        result.written.status,
        result.written.position,
        type="degree_credit",
        transfer_id=record["recognition_id"],
        learner_id=data["learner_id"],
        mapping_id=record["mapping_id"],
        university=record["university"],
        programme=record["programme"],
        mapping_version=record["mapping_version"],
        on=record["on"],
        hours=record["hours"],
        credits=record["credits"],
        completions=[
            {k: line[k] for k in ("provider_id", "record_id", "event_id", "category", "hours", "credits")}
            for line in record["lines"]
        ],
    )


async def post_recognition_reversal(request: web.Request, data: dict[str, Any]) -> web.Response:
    """``POST /v1/transfers/{id}/reversal`` with ``type: "degree_credit"`` (dispatched by
    ``api.transfers``, which has waited for ``min_position``)."""
    recognition_id = request.match_info["transfer_id"]
    scope = write_scope(request)
    reversed_ = await with_context(
        lambda: run_in_writer(
            request,
            lambda bank: reverse_recognition(bank, data["learner_id"], recognition_id, data["reason"], scope=scope),
        )
    )
    return written(reversed_.status, reversed_.position, type="degree_credit", transfer_id=recognition_id)


# -- the learner's view -------------------------------------------------------------------


async def get_degree_credits(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, degree_credits_query_schema)
    mapping_id = mapping_uuid(query["programme"])
    async with services(request).pool.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        view = await degree_credit_reads.learner_degree_credits(conn, learner_id, mapping_id, position)
    if view is None:
        raise MappingNotFound(f"no degree mapping {mapping_id} is published", field="programme")
    return answer({**view, "position": position})
