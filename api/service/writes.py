"""Write endpoints: thin adapters from HTTP to the ledger's commands.

Invariants:
- every command runs on the bank's writer thread (never on the event loop);
- an institution posts and revokes only as itself: the provider comes from its token;
- a batch answers one result per item, in order; bad items are rejected alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from marshmallow import ValidationError

from api.service.audit import keep_rejections
from api.service.context import principal, services
from api.service.fast_completion_items import batch_envelope_is_valid, fast_load_item, load_completion_item
from api.service.http import (
    answer,
    check_jurisdiction_scope,
    load,
    load_body,
    load_query,
    read_json,
    run_in_writer,
    with_context,
    write_scope,
    written,
)
from api.service.problem_labels import item_in_chinese, preferred_language
from api.service.problems import Problem, domain_error_body, flatten_messages
from api.service.records import recorded_by
from api.service.schemas import revocation_schema
from api.service.write_schemas import (
    completion_batch_schema,
    completion_schema,
    correction_schema,
    dry_run_query_schema,
    learner_batch_schema,
    learner_schema,
    provider_schema,
    role_change_schema,
    suspension_schema,
)
from ledger.application import (
    Accreditation,
    CompletionOutcome,
    CreditBank,
    LearnerCorrection,
    LearnerRegistration,
    RegistrationOutcome,
    Written,
)
from ledger.completion import CompletionFacts
from ledger.errors import DomainError, PostingAsAnotherProvider
from ledger.fast_completion import facts_of
from ledger.ids import completion_uuid


def answer_written(result: Written, status_new: int = 201) -> web.Response:
    return written(result.status, result.position, status_new=status_new)


# -- providers -------------------------------------------------------------------


async def post_provider(request: web.Request) -> web.Response:
    data = await load_body(request, provider_schema)
    acc = data["accreditation"]
    accreditation = Accreditation(
        provider_id=data["provider_id"],
        name=data["name"],
        jurisdiction=data["jurisdiction"],
        categories=tuple(acc["categories"]),
        levels=tuple(acc["levels"]),
        valid_from=acc["valid_from"],
        valid_to=acc["valid_to"],
    )
    result = await run_in_writer(request, lambda bank: bank.accredit_provider(accreditation))
    return answer_written(result)


async def post_suspension(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    data = await load_body(request, suspension_schema)
    result = await run_in_writer(request, lambda bank: bank.suspend_provider(provider_id, data["reason"]))
    return answer_written(result)


async def delete_suspension(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    result = await run_in_writer(request, lambda bank: bank.reinstate_provider(provider_id))
    return answer_written(result, 200)


# -- learners --------------------------------------------------------------------


def registration_of(data: dict[str, Any]) -> LearnerRegistration:
    return LearnerRegistration(
        learner_id=data["learner_id"],
        name=data["name"],
        jurisdiction=data["jurisdiction"],
        school=data["school"],
        hired_on=data["hired_on"],
        roles=tuple((r["role"], r["since"]) for r in data["roles"]),
    )


async def post_learner(request: web.Request) -> web.Response:
    dry_run: bool = load_query(request, dry_run_query_schema)["dry_run"]
    body = await read_json(request)
    if isinstance(body, dict) and "learners" in body:
        return await _post_roster(request, body, dry_run)
    data = load(learner_schema, body)
    check_jurisdiction_scope(request, data["jurisdiction"])
    registration = registration_of(data)
    if dry_run:
        (outcome,) = await run_in_writer(request, lambda bank: bank.judge_learners([registration]))
        if outcome.error is not None:
            # Refused as the post would be: the same problem, nothing recorded.
            raise outcome.error
        return answer({"status": outcome.status, "position": outcome.position, "dry_run": True})
    result = await run_in_writer(request, lambda bank: bank.register_learner(registration))
    return answer_written(result)


def _roster_result(index: int, outcome: RegistrationOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {"learner_id": outcome.learner_id, "status": outcome.status}
    if outcome.error is None:
        result["position"] = outcome.position
        return result
    body = domain_error_body(outcome.error)
    body["errors"] = {f"learners[{index}].{path}": messages for path, messages in body["errors"].items()}
    result.update(body)
    return result


async def _post_roster(request: web.Request, body: dict[str, Any], dry_run: bool) -> web.Response:
    load(learner_batch_schema, body)
    items = batch_items(request, body, "learners")
    results: list[dict[str, Any] | None] = [None] * len(items)
    registrations: list[LearnerRegistration] = []
    slots: list[int] = []
    for index, item in enumerate(items):
        try:
            registrations.append(registration_of(learner_schema.load(item)))
        except ValidationError as error:
            given = item.get("learner_id") if isinstance(item, dict) else None
            results[index] = {
                "learner_id": given if isinstance(given, str) else None,
                "status": "rejected",
                "code": "validation_failed",
                "errors": {f"learners[{index}].{k}": v for k, v in flatten_messages(error.messages).items()},
            }
            continue
        slots.append(index)
    scope = write_scope(request)

    def command(bank: CreditBank) -> list[RegistrationOutcome]:
        if dry_run:
            return bank.judge_learners(registrations, scope=scope)
        return bank.register_learners(registrations, scope=scope)

    outcomes = await run_in_writer(request, command)
    for index, outcome in zip(slots, outcomes, strict=True):
        results[index] = _roster_result(index, outcome)
    final = batch_answer([r for r in results if r is not None], request)
    return answer({**final, "dry_run": True} if dry_run else final, 207)


def batch_items(request: web.Request, body: dict[str, Any], name: str) -> list[Any]:
    """The items of a batch whose envelope was loaded; 413 beyond the configured maximum."""
    items: list[Any] = body[name]
    most = services(request).settings.max_batch
    if len(items) > most:
        raise Problem(
            413, "batch_too_large", "The batch is too large", f"{len(items)} {name}; at most {most} per request"
        )
    return items


def batch_answer(final: list[dict[str, Any]], request: web.Request | None = None) -> dict[str, Any]:
    """The 207 body of a batch: the results in order, their counts and the last position;
    rejected items in Chinese when the request prefers it (``api.service.problem_labels``)."""
    if request is not None and preferred_language(request.headers.get("Accept-Language")) == "zh":
        final = [item_in_chinese(r) for r in final]
    counts = {s: sum(1 for r in final if r["status"] == s) for s in ("recorded", "duplicate", "rejected")}
    positions = [r["position"] for r in final if r.get("position") is not None]
    return {
        "results": final,
        "recorded": counts["recorded"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "position": max(positions) if positions else None,
    }


async def patch_learner(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    data = await load_body(request, correction_schema)
    correction = LearnerCorrection({k: v for k, v in data.items() if k != "reason"}, data["reason"])
    scope = write_scope(request)
    return answer_written(
        await run_in_writer(request, lambda bank: bank.correct_learner(learner_id, correction, scope=scope))
    )


async def post_role(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    data = await load_body(request, role_change_schema)
    scope = write_scope(request)

    override = data.get("override")
    by = recorded_by(request)

    def command(bank: CreditBank) -> Written:
        # The scope is checked by the ledger against the learner's current jurisdiction (the
        # open account's after a transfer), so it holds before the read models see either;
        # an appointment to principal or head teacher is judged there too (ledger.appointments).
        if data["since"] is not None:
            return bank.start_role(
                learner_id,
                data["role"],
                data["since"],
                scope=scope,
                override_reason=override["reason"] if override else None,
                recorded_by=by,
            )
        return bank.end_role(learner_id, data["role"], data["until"], scope=scope)

    # A refused appointment answers with its verdict (requirements, missing).
    result: Written = await with_context(lambda: run_in_writer(request, command))
    return written(result.status, result.position, **dict(result.detail or {}))


# -- completions -----------------------------------------------------------------


def completion_facts(provider_id: str, data: dict[str, Any]) -> CompletionFacts:
    """The ledger's facts for one completion item loaded by ``completion_schema``."""
    programme = data["programme"]
    return facts_of(
        provider_id=provider_id,
        record_id=data["record_id"],
        learner_id=data["learner_id"],
        programme_code=programme["code"],
        programme_title=programme["title"],
        category=programme["category"],
        level=programme["level"],
        hours=data["hours"],
        assessment=data["assessment"],
        completed_on=data["completed_on"],
        started_on=data["started_on"],
        topics=tuple(data["topics"]),
    )


def _provider_of(request: web.Request, data: dict[str, Any]) -> str:
    caller = principal(request)
    assert caller.provider_id is not None
    claimed = data.get("provider_id")
    if claimed is not None and claimed != caller.provider_id:
        raise PostingAsAnotherProvider(
            f"this token posts as {caller.provider_id}, not as {claimed}", field="provider_id"
        )
    return caller.provider_id


def _item_result(outcome: CompletionOutcome, provider_id: str) -> dict[str, Any]:
    result: dict[str, Any] = {"record_id": outcome.record_id, "status": outcome.status}
    if outcome.error is not None:
        result.update(domain_error_body(outcome.error))
    else:
        result["position"] = outcome.position
        # The ledger computed the id once already; uuid5 again per item was measurable.
        completion_id = outcome.completion_id or completion_uuid(provider_id, outcome.record_id)
        result["completion_id"] = str(completion_id)
    return result


async def _outcomes(request: web.Request, facts: list[CompletionFacts], dry_run: bool) -> list[CompletionOutcome]:
    """The ledger's outcomes: recorded (grouped with other requests' posts), or judged alone on
    the writer thread and not saved (a dry run is never merged into another request's group)."""
    if not facts:
        return []
    if dry_run:
        outcomes: list[CompletionOutcome] = await run_in_writer(request, lambda bank: bank.judge_completions(facts))
        return outcomes
    await services(request).hear_erasures()
    return await asyncio.wrap_future(services(request).committer.record_completions(facts))


async def post_completions(request: web.Request) -> web.Response:
    dry_run: bool = load_query(request, dry_run_query_schema)["dry_run"]
    body = await read_json(request)
    if isinstance(body, dict) and "completions" in body:
        return await _post_batch(request, body, dry_run)
    # The compiled loader accepts what the schema accepts; anything else is worded by the schema.
    data = fast_load_item(body)
    if data is None:
        data = load(completion_schema, body)
    provider_id = _provider_of(request, data)
    (outcome,) = await _outcomes(request, [completion_facts(provider_id, data)], dry_run)
    if not dry_run:
        services(request).metrics.completions[outcome.status] += 1
    if outcome.error is not None:
        error = outcome.error
        # A missing learner or provider is a bad reference in the body, not a missing URL.
        status = 422 if error.status == 404 else error.status
        if not dry_run:
            await keep_rejections(request, provider_id, [data], [domain_error_body(error)])
        raise Problem(
            status,
            error.code,
            error.title,
            error.detail,
            errors={error.field or "body": [error.detail]},
            record_id=outcome.record_id,
        )
    if dry_run:
        return answer({**_item_result(outcome, provider_id), "dry_run": True})
    return answer(_item_result(outcome, provider_id), 201 if outcome.status == "recorded" else 200)


async def _post_batch(request: web.Request, body: dict[str, Any], dry_run: bool) -> web.Response:
    svc = services(request)
    if not batch_envelope_is_valid(body):
        load(completion_batch_schema, body)
    items = batch_items(request, body, "completions")
    results: list[dict[str, Any] | None] = [None] * len(items)
    facts: list[CompletionFacts] = []
    slots: list[int] = []
    first_index: dict[str, int] = {}
    provider_id = principal(request).provider_id or ""
    for index, item in enumerate(items):
        given = item.get("record_id") if isinstance(item, dict) else None
        record_id = given if isinstance(given, str) else None  # echoed only if it is one
        try:
            # Same values and errors as completion_schema.load (api/service/fast_completion_items.py).
            data = load_completion_item(item)
            provider_id = _provider_of(request, data)
        except ValidationError as error:
            results[index] = {
                "record_id": record_id,
                "status": "rejected",
                "code": "validation_failed",
                "errors": flatten_messages(error.messages),
            }
            continue
        except DomainError as error:
            results[index] = {"record_id": record_id, "status": "rejected", **domain_error_body(error)}
            continue
        seen = first_index.setdefault(data["record_id"], index)
        if seen != index:
            results[index] = {
                "record_id": record_id,
                "status": "rejected",
                "code": "repeated_in_batch",
                "errors": {"record_id": [f"repeats the record at index {seen} of this batch"]},
            }
            continue
        facts.append(completion_facts(provider_id, data))
        slots.append(index)
    outcomes = await _outcomes(request, facts, dry_run)
    for index, outcome in zip(slots, outcomes, strict=True):
        results[index] = _item_result(outcome, provider_id)
    final = [r for r in results if r is not None]
    if dry_run:
        # A dry run is no post: no metrics, no refusals kept for the institution audit.
        return answer({**batch_answer(final), "dry_run": True}, 207)
    counts = {s: sum(1 for r in final if r["status"] == s) for s in ("recorded", "duplicate", "rejected")}
    for status, count in counts.items():
        svc.metrics.completions[status] += count
    await keep_rejections(request, provider_id, items, final)
    return answer(batch_answer(final, request), 207)


async def post_revocation(request: web.Request) -> web.Response:
    provider_id = request.match_info["provider_id"]
    record_id = request.match_info["record_id"]
    data = await load_body(request, revocation_schema)
    caller = principal(request)
    by_provider = None if caller.role == "admin" else caller.provider_id
    result = await run_in_writer(
        request,
        lambda bank: bank.revoke_completion(provider_id, record_id, data["reason"], by_provider=by_provider),
    )
    return answer_written(result)
