"""Service-record endpoints: record a refusal, an appraisal, a teaching qualification or an
attested prior certificate on a learner's record.

Invariants:
- the ledger decides on the writer thread from what is recorded
  (``ledger.record_commands``); an HR caller's scope is checked there, on the learner's
  current jurisdiction;
- each fact names who recorded it (``recorded_by``: the token's role, id and jurisdiction);
- free text (reasons, numbers) reaches the ledger unsealed and is sealed there.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema

from api.service.context import principal
from api.service.http import load_body, run_in_writer, write_scope, written
from api.service.record_schemas import (
    appraisal_schema,
    prior_certificate_schema,
    qualification_schema,
    refusal_schema,
)
from ledger.record_commands import ServiceFact, record_fact
from ledger.service_record import APPRAISAL, PLAIN, PRIOR_CERTIFICATE, QUALIFICATION, REFUSAL, SEALED


def recorded_by(request: web.Request) -> dict[str, Any]:
    """Who records a fact: the calling token (its role, id and, for HR, jurisdiction)."""
    caller = principal(request)
    return {"role": caller.role, "token_id": caller.token_id, "jurisdiction": caller.jurisdiction}


async def _record(request: web.Request, schema: Schema, event: str) -> web.Response:
    learner_id = request.match_info["learner_id"]
    data = await load_body(request, schema)
    fact = ServiceFact(
        event,
        {k: data.get(k) for k in PLAIN[event]},
        {k: data.get(k) for k in SEALED[event]},
    )
    by, scope = recorded_by(request), write_scope(request)
    result = await run_in_writer(request, lambda bank: record_fact(bank, learner_id, fact, recorded_by=by, scope=scope))
    return written(result.status, result.position)


async def post_refusal(request: web.Request) -> web.Response:
    return await _record(request, refusal_schema, REFUSAL)


async def post_appraisal(request: web.Request) -> web.Response:
    return await _record(request, appraisal_schema, APPRAISAL)


async def post_qualification(request: web.Request) -> web.Response:
    return await _record(request, qualification_schema, QUALIFICATION)


async def post_prior_certificate(request: web.Request) -> web.Response:
    return await _record(request, prior_certificate_schema, PRIOR_CERTIFICATE)
