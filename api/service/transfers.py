"""Transfer endpoints: move a learner's account to another jurisdiction, reverse a move,
read the moves.

Invariants:
- the ledger decides on the writer thread, on what the event store records
  (``ledger.transfer_commands``): the carried completions and the learner's current
  jurisdiction; never on the read models; ``as_of`` and ``at_position`` are refused;
- HR may move only learners in its scope (the open account's jurisdiction, checked by the
  ledger); the destination is any jurisdiction.
"""

from __future__ import annotations

from aiohttp import web

from api.service import degree_credits
from api.service.certificate_schemas import write_query_schema
from api.service.context import services
from api.service.http import (
    answer,
    authorize_learner,
    load,
    load_body,
    load_query,
    read_json,
    resolve_position,
    run_in_writer,
    write_scope,
    written,
)
from api.service.schemas import (
    read_query_schema,
)
from api.service.transfer_schemas import reversal_schema, transfer_schema
from ledger.transfer_commands import reverse_transfer, transfer_account
from projections import transfers as transfer_reads


async def post_transfer(request: web.Request) -> web.Response:
    svc = services(request)
    query = load_query(request, write_query_schema)
    raw = await read_json(request)
    if isinstance(raw, dict) and raw.get("type") == "degree_credit":
        return await degree_credits.post_recognition(request, raw, query)
    data = load(transfer_schema, raw)
    async with svc.pool.acquire() as conn:
        # Only a wait for the caller's own earlier write; the ledger decides on the event store.
        position = await resolve_position(conn, request, query)
    scope = write_scope(request)
    result = await run_in_writer(
        request,
        lambda bank: transfer_account(
            bank, data["transfer_id"], data["learner_id"], data["destination"], data.get("on"), scope
        ),
    )
    return written(
        result.written.status,
        result.written.position,
        type="jurisdiction",
        transfer_id=data["transfer_id"],
        hours=result.hours,
        read_position=position,
    )


async def post_reversal(request: web.Request) -> web.Response:
    transfer_id = request.match_info["transfer_id"]
    query = load_query(request, write_query_schema)
    data = await load_body(request, reversal_schema)
    async with services(request).pool.acquire() as conn:
        await resolve_position(conn, request, query)
    if data["type"] == "degree_credit":
        return await degree_credits.post_recognition_reversal(request, data)
    scope = write_scope(request)
    result = await run_in_writer(
        request, lambda bank: reverse_transfer(bank, data["learner_id"], transfer_id, data["reason"], scope)
    )
    return written(result.status, result.position)


async def get_transfers(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        moves = await transfer_reads.learner_transfers(conn, learner_id, position)
    return answer({"learner_id": learner_id, "transfers": moves, "position": position})
