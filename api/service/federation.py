"""Moves between provincial banks over HTTP: the origin's departure, the destination's arrival.

Invariants:
- the ledger decides (``ledger.federation``) on the writer thread, on what the event store
  records; this module only signs the origin's answer with the bank's current key and verifies
  a presented record against the keys configured for its origin (``Settings.peer_keys``);
- HR departs or receives only learners in its scope (the open account's jurisdiction at the
  origin, the arrival's jurisdiction at the destination), checked by the ledger;
- a retried departure answers the same signed record, a retried arrival ``duplicate``: the
  move is safe to run again whole after a crash between its halves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.service.context import services
from api.service.federation_schemas import arrival_schema, departure_schema
from api.service.http import (
    answer,
    authorize_learner,
    check_jurisdiction_scope,
    load_body,
    load_query,
    resolve_position,
    run_in_writer,
    write_scope,
    written,
)
from api.service.schemas import read_query_schema
from api.service.writes import registration_of
from ledger.federation import arrive_learner, depart_learner, sign_record, verify_record
from ledger.keys import KeyRing, public_key_from_jwk
from projections.moves import learner_moves


def trusted_keys(peers: Any) -> dict[str, dict[str, Ed25519PublicKey]]:
    """The configured peers' key sets as public keys by bank id and key id."""
    return {
        bank: {str(jwk["kid"]): public_key_from_jwk(jwk) for jwk in jwks.get("keys", [])}
        for bank, jwks in peers.items()
    }


async def post_departure(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    data = await load_body(request, departure_schema)
    settings = services(request).settings
    scope = write_scope(request)
    moved = await run_in_writer(
        request,
        lambda bank: depart_learner(bank, learner_id, data["destination"], settings.bank_id, data.get("on"), scope),
    )
    key = await asyncio.to_thread(KeyRing(settings.keys_path).current)
    signed = sign_record(key, moved.record)
    return written(moved.written.status, moved.written.position, record=moved.record, signed=signed)


async def post_arrival(request: web.Request) -> web.Response:
    data = await load_body(request, arrival_schema)
    # Before the record is read: an HR caller receives only into its own jurisdiction.
    check_jurisdiction_scope(request, data["learner"]["jurisdiction"])
    settings = services(request).settings
    record = verify_record(data["departure"], trusted_keys(settings.peer_keys))
    registration = registration_of(data["learner"])
    scope = write_scope(request)
    moved = await run_in_writer(
        request, lambda bank: arrive_learner(bank, record, registration, settings.bank_id, scope)
    )
    return written(moved.written.status, moved.written.position, **moved.record)


async def get_moves(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        moves = await learner_moves(conn, learner_id, position)
    departed = bool(moves) and moves[-1]["direction"] == "departed"
    return answer({"learner_id": learner_id, "departed": departed, "moves": moves, "position": position})
