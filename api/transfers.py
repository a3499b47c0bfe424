"""Transfer endpoints: move a learner's account to another jurisdiction, reverse a move,
read the moves.

Invariants:
- the carried completions are read at one position of the read side and named in the
  event; the ledger decides on the writer thread (``ledger.transfer_commands``);
- HR may move only learners in its scope (the origin); the destination is any jurisdiction.
"""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web
from marshmallow import fields, validate

from api import degree_credits
from api.context import services
from api.http import (
    answer,
    authorize_learner,
    load,
    load_body,
    load_query,
    read_json,
    resolve_position,
    run_in_writer,
    written,
)
from api.problems import Problem
from api.schemas import JURISDICTION_PATTERN, Day, Strict, Text, WrittenSchema, read_query_schema
from ledger.transfer import Carried
from ledger.transfer_commands import reverse_transfer, transfer_account
from projections import transfers as rm
from projections.policies import learner_facts

_ID = validate.Length(min=1, max=64)


_jurisdiction = validate.Regexp(JURISDICTION_PATTERN, error="CN or a six-digit division code")


class TransferSchema(Strict):
    transfer_id = Text(required=True, validate=_ID)
    learner_id = Text(required=True, validate=_ID)
    #: ``jurisdiction``: move the account; ``degree_credit`` bodies go to ``api.degree_credits``.
    type = fields.String(load_default="jurisdiction", validate=validate.OneOf(["jurisdiction"]))
    destination = fields.String(required=True, validate=_jurisdiction)
    on = Day()


class ReversalSchema(Strict):
    learner_id = Text(required=True, validate=_ID)
    #: ``degree_credit``: reverse a degree-credit recognition of that id instead of a move.
    type = fields.String(load_default="jurisdiction", validate=validate.OneOf(["jurisdiction", "degree_credit"]))
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class TransferredSchema(WrittenSchema):
    """The answer to a move (``type`` tells it from a degree-credit recognition's answer)."""

    type = fields.String(required=True, metadata={"enum": ["jurisdiction"]})
    transfer_id = fields.String(required=True)
    hours = fields.String(metadata={"description": "the hours carried to the destination"})


transfer_schema = TransferSchema()
reversal_schema = ReversalSchema()


async def post_transfer(request: web.Request) -> web.Response:
    svc = services(request)
    query = load_query(request, read_query_schema)
    raw = await read_json(request)
    if isinstance(raw, dict) and raw.get("type") == "degree_credit":
        return await degree_credits.post_recognition(request, raw)
    data = load(transfer_schema, raw)
    async with svc.pool.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, data["learner_id"])
        facts = await learner_facts(conn, data["learner_id"], position)
    if facts is None:
        raise Problem(404, "learner_not_found", "No such learner", f"{data['learner_id']} is not registered")
    carried = [Carried(c.event_id, c.hours, c.category, c.completed_on) for c in facts.completions]
    result = await run_in_writer(request, lambda bank: transfer_account(
        bank, data["transfer_id"], data["learner_id"], data["destination"], carried, data.get("on")))
    return written(result.status, result.position, type="jurisdiction", transfer_id=data["transfer_id"],
                    hours=sum((c.hours for c in carried), Decimal(0)), read_position=position)


async def post_reversal(request: web.Request) -> web.Response:
    transfer_id = request.match_info["transfer_id"]
    data = await load_body(request, reversal_schema)
    if data["type"] == "degree_credit":
        return await degree_credits.post_recognition_reversal(request, data)
    async with services(request).pool.acquire() as conn:
        await authorize_learner(conn, request, data["learner_id"])
    result = await run_in_writer(
        request, lambda bank: reverse_transfer(bank, data["learner_id"], transfer_id, data["reason"]))
    return written(result.status, result.position)


async def get_transfers(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, read_query_schema)
    async with services(request).pool.acquire() as conn:
        await authorize_learner(conn, request, learner_id)
        position = await resolve_position(conn, request, query)
        moves = await rm.learner_transfers(conn, learner_id, position)
    return answer({"learner_id": learner_id, "transfers": moves, "position": position})
