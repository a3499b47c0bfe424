"""Evaluation endpoints: a learner's pending evaluations and anonymous evaluation, a
provider's evaluations and reviews, the providers ranked for HR.

Invariants:
- the ledger decides on the writer thread, on what the event store holds
  (``ledger.evaluation_commands``): the completion, the mark, the ballot box; the handler
  never tells the ledger anything a read model says;
- a learner evaluates only as themself: the learner is the token's, never the body's, and
  the pending list is the token's learner's only;
- the answer to an evaluation is its status and position, nothing else; no log line or
  problem names the mark or the ballot;
- the evaluation secret is read from the key directory (``ledger.evaluation_secret``) and
  handed to the ledger's commands; it is never answered or logged.
"""

from __future__ import annotations

from aiohttp import web

from api.service.certificate_schemas import min_position_schema, write_query_schema
from api.service.context import principal, services
from api.service.evaluation_schemas import (
    evaluation_schema,
    provider_evaluations_query_schema,
    ranking_query_schema,
    review_schema,
)
from api.service.http import (
    answer,
    authorize_learner,
    check_jurisdiction_scope,
    load_body,
    load_query,
    resolve_position,
    run_in_writer,
    written,
)
from api.service.problems import Problem
from ledger.evaluation import TALLY_SIZE, Ballot, ReviewFacts
from ledger.evaluation_commands import evaluate_completion, evaluation_marks, record_review
from ledger.evaluation_secret import evaluation_secret
from projections import evaluations, queries


def _secret(request: web.Request) -> bytes:
    return evaluation_secret(services(request).settings.keys_path)


async def get_pending(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    if principal(request).learner_id != learner_id:
        raise Problem(403, "forbidden", "Outside your scope", "a learner sees only their own pending evaluations")
    query = load_query(request, min_position_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        await authorize_learner(conn, request, learner_id)
        completions = await evaluations.evaluable_completions(conn, learner_id)
    secret = _secret(request)
    ids = [c["completion_id"] for c in completions]
    marks = await run_in_writer(request, lambda bank: evaluation_marks(bank, secret, learner_id, ids))
    async with services(request).reads.acquire() as conn:
        made = await evaluations.marks_made(conn, list(marks.values()))
    pending = [
        {k: v for k, v in c.items() if k != "completion_id"}
        for c in completions
        if marks[c["completion_id"]] not in made
    ]
    return answer({"learner_id": learner_id, "pending": pending, "position": position})


async def post_evaluation(request: web.Request) -> web.Response:
    learner_id = principal(request).learner_id
    assert learner_id is not None  # a learner token always names its learner
    query = load_query(request, write_query_schema)
    data = await load_body(request, evaluation_schema)
    async with services(request).pool.acquire() as conn:
        await resolve_position(conn, request, query)
    scores = data["scores"]
    ballot = Ballot(scores["content"], scores["teaching"], scores["organisation"], data.get("comment"))
    secret = _secret(request)
    result = await run_in_writer(
        request,
        lambda bank: evaluate_completion(bank, secret, learner_id, data["provider_id"], data["record_id"], ballot),
    )
    return written(result.status, result.position)


def _check_provider_reader(request: web.Request, provider_id: str) -> None:
    caller = principal(request)
    if caller.role == "institution" and caller.provider_id != provider_id:
        raise Problem(403, "forbidden", "Outside your scope", "an institution reads only its own evaluations")


async def get_provider_evaluations(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    _check_provider_reader(request, provider_id)
    query = load_query(request, provider_evaluations_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        if await queries.provider_view(conn, provider_id) is None:
            raise Problem(404, "provider_not_found", "No such training institution", f"no provider {provider_id}")
        programmes = await evaluations.programme_evaluations(conn, provider_id, query.get("programme"), position)
        reviews = await evaluations.provider_reviews(conn, provider_id, position)
    return answer(
        {
            "provider_id": provider_id,
            "minimum": TALLY_SIZE,
            "programmes": programmes,
            "reviews": reviews,
            "position": position,
        }
    )


async def post_review(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    query = load_query(request, write_query_schema)
    data = await load_body(request, review_schema)
    async with services(request).pool.acquire() as conn:
        await resolve_position(conn, request, query)
    facts = ReviewFacts(provider_id, data["kind"], data["on"], data["findings"], data["rating"])
    result = await run_in_writer(request, lambda bank: record_review(bank, facts))
    return written(result.status, result.position)


async def get_ranking(request: web.Request) -> web.Response:
    query = load_query(request, ranking_query_schema)
    jurisdiction = query["jurisdiction"]
    check_jurisdiction_scope(request, jurisdiction)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        ranked = await evaluations.ranking(conn, jurisdiction, position)
    return answer({"jurisdiction": jurisdiction, "minimum": TALLY_SIZE, "providers": ranked, "position": position})
