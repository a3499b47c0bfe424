"""Policy and eligibility endpoints: publish and read policies, verdicts, cohorts, plans,
and the impact of a draft.

Invariants:
- a verdict names the ``position`` and the date ``on`` it answers for; the same request
  with the same ``at_position`` and ``as_of`` gives the same answer (``on`` defaults to the
  day the asked position was recorded, so it is no clock reading when a position is given);
- scope is checked before personal data is read; an hr token sees its jurisdiction only;
- a target no policy of the jurisdiction defines (its parent chain; for a cohort, also the
  jurisdictions under it) is refused with 422 ``unknown_target`` listing the known ones,
  never judged as "no requirement, so no one is short";
- a draft's impact is bounded (``MAX_IMPACT_RULES_X_TARGETS``) and publishes nothing: the
  draft is checked on the writer thread exactly as publishing would, then judged on the
  read side next to the rules in force;
- a cohort (page, CSV or a draft's impact) is judged in chunks of learners sized so that a
  chunk holds about ``COHORT_FACTS_BUDGET`` completions, whatever the length of the learners'
  histories: a chunk's facts are what a cohort read holds at once, and must not grow with
  the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Final

import asyncpg
from aiohttp import web

from api.service import spreadsheet
from api.service.context import principal, services
from api.service.http import (
    answer,
    check_jurisdiction_scope,
    check_learner_caller,
    check_learner_scope,
    load_query,
    read_json_object,
    resolve_position,
    run_in_writer,
    stream,
)
from api.service.policy_schemas import (
    cohort_query_schema,
    impact_query_schema,
    targets_query_schema,
    verdict_query_schema,
)
from api.service.problems import Problem
from api.service.schemas import read_query_schema
from api.service.time_travel import day_recorded, judged_on, question
from api.service.writes import answer_written
from ledger.credits import ratio_of, with_credits
from ledger.eligibility import Facts, evaluate, plan, policies_applied
from ledger.errors import LearnerNotFound
from ledger.facts import holds
from ledger.policy import PolicyVersion
from ledger.vocabulary import LABELS, Label, covers, parent_chain
from projections import fast_eligibility
from projections import policies as policy_reads

#: The most learners judged per chunk of a cohort.
CSV_CHUNK = 500
#: Learners in a cohort's first chunk, before their number of completions is known.
FIRST_CHUNK = 25
#: About how many completions the facts of one cohort chunk hold (~0.7 KB each with the JSON
#: text they are parsed from, so ~3.5 MB; a chunk is judged while its read holds a pooled
#: connection, so a process holds at most ``read_pool_size`` chunks). A fixed number of
#: learners held more and more as the log grew: 500 learners were 65 MB by the end of the
#: ten-minute soak, and every CSV export raised the server's resident size to a new high.
COHORT_FACTS_BUDGET = 5_000
#: A draft's impact judges every learner in scope twice per target; its rules × targets are
#: bounded so one request cannot hold the event loop for seconds (30 × 30 took 4 s on 1,000
#: learners). The shipped policies need at most a few dozen.
MAX_IMPACT_RULES_X_TARGETS = 200


async def post_policy(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    result = await run_in_writer(request, lambda bank: bank.publish_policy(data))
    return answer_written(result)


async def get_policy(request: web.Request) -> web.Response:
    policy_id = request.match_info["policy_id"]
    query = load_query(request, read_query_schema)
    async with services(request).reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        versions = await policy_reads.policy_versions(conn, policy_id, position)
    if not versions:
        raise Problem(404, "policy_not_found", "No such policy", f"no policy {policy_id} is published")
    return answer(
        {
            "policy_id": policy_id,
            "jurisdiction": versions[0]["jurisdiction"],
            "versions": versions,
            "position": position,
        }
    )


async def _when(conn: asyncpg.Connection, request: web.Request, query: dict[str, Any]) -> tuple[date, int]:
    """(the date judged, the position answered for)."""
    if "on" in query:
        return await judged_on(conn, request, query)
    position = await resolve_position(conn, request, query)
    if "as_of" in query:
        return query["as_of"], position
    if "at_position" in query:
        day = await day_recorded(conn, request, position)
        if day is not None:
            return day, position
    return services(request).today(), position


def _chains(facts: list[Facts]) -> list[str]:
    return sorted({j for f in facts for j in parent_chain(f.jurisdiction)})


async def _policies_for(conn: asyncpg.Connection, facts: list[Facts], on: date, position: int) -> list[PolicyVersion]:
    return await policy_reads.policies_in_force(conn, _chains(facts), on, position)


async def _known_target(
    conn: asyncpg.Connection, target: str, jurisdiction: str, position: int, *, below: bool
) -> None:
    """Refuse a target no policy for ``jurisdiction`` defines (see ``policy_reads.policies_known``):
    judged by no rule, it would read as "nobody is short"."""
    _refuse_unknown(target, jurisdiction, await policy_reads.policies_known(conn, jurisdiction, position, below=below))


def _refuse_unknown(target: str, jurisdiction: str, versions: list[PolicyVersion]) -> None:
    known = sorted({t for v in versions for t in v.targets()})
    if target not in known:
        raise Problem(
            422,
            "unknown_target",
            "No such target",
            f"no policy for {jurisdiction} defines the target {target}; known: {', '.join(known) or 'none'}",
            errors={"target": [f"must be one of: {', '.join(known) or '(none defined)'}"]},
            targets=known,
        )


async def _verdict(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the verdict, where it answers: ``position`` and the credit ``ratio`` in force).

    The fast path (``projections.fast_eligibility``): one round trip for the scope check and
    the facts, the policies from memory made to fit that round trip's snapshot. The plain
    queries (``authorize_learner``, ``policy_reads.learner_facts``, ``_policies_for``,
    ``_known_target``) give the same inputs (``tests/e2e/test_fast_eligibility.py``)."""
    learner_id = request.match_info["learner_id"]
    query = load_query(request, verdict_query_schema)
    cache = services(request).policies
    async with services(request).reads.acquire() as conn:
        # The wait first, so min_position holds for the scope check too.
        on, position = await _when(conn, request, query)
        check_learner_caller(request, learner_id)
        inputs = await fast_eligibility.verdict_inputs(conn, cache, learner_id, position)
    check_learner_scope(request, learner_id, inputs.scope)
    facts = inputs.facts
    if facts is None:
        raise LearnerNotFound(f"{learner_id} was not registered by then")
    policies = cache.in_force(_chains([facts]), on, position)
    if all(query["target"] not in version.targets() for version in policies):
        _refuse_unknown(query["target"], facts.jurisdiction, cache.known(facts.jurisdiction, position))
    return _judged(query, facts, policies, on, position)


def _judged(
    query: dict[str, Any], facts: Facts, policies: list[PolicyVersion], on: date, position: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    verdict = {**evaluate(query["target"], facts, policies, on, _asked(query)), **question(query, on, position)}
    return verdict, {"position": position, "at_position": position, "ratio": ratio_of(policies, facts.jurisdiction, on)}


def _asked(query: dict[str, Any]) -> dict[str, int]:
    """The question's parameters rule kinds read (``years`` of head_teacher_honour)."""
    return {"years": query["years"]} if "years" in query else {}


async def get_eligibility(request: web.Request) -> web.Response:
    verdict, where = await _verdict(request)
    return answer({**verdict, "position": where["position"]})


async def get_plan(request: web.Request) -> web.Response:
    verdict, where = await _verdict(request)
    remaining = plan(verdict)
    ratio = where.get("ratio")
    return answer(
        {
            "learner_id": verdict["learner_id"],
            "target": verdict["target"],
            "on": verdict["on"],
            "eligible": verdict["eligible"],
            "assumed": verdict["assumed"],
            "remaining": remaining if ratio is None else with_credits(remaining, ratio),
            **({} if ratio is None else {"credit_ratio": ratio.as_dict()}),
            "policies": verdict["policies"],
            "position": where["position"],
        }
    )


async def get_targets(request: web.Request) -> web.Response:
    """The targets in force in a jurisdiction on a day, each with the rules that define it."""
    svc = services(request)
    query = load_query(request, targets_query_schema)
    jurisdiction = query["jurisdiction"]
    async with svc.reads.acquire() as conn:
        position = await resolve_position(conn, request, query)
        versions = await policy_reads.policies_known(conn, jurisdiction, position)
    on = query.get("on") or svc.today()
    rules: dict[str, list[dict[str, Any]]] = {}
    for version in policies_applied(versions, jurisdiction, on):
        for rule in version.rules:
            for target in rule.targets:
                rules.setdefault(target, []).append(
                    {
                        "policy_id": version.policy_id,
                        "version": version.version,
                        "jurisdiction": version.jurisdiction,
                        "rule": rule.id,
                        "kind": rule.kind,
                        "source": {"document": rule.source.document, "article": rule.source.article},
                        "assumed": rule.assumed is not None,
                        "asks": sorted(rule.ASKS),
                    }
                )
    return answer(
        {
            "jurisdiction": jurisdiction,
            "on": on.isoformat(),
            "position": position,
            "targets": [
                {
                    "target": target,
                    "label": _label(target),
                    "asks": sorted({a for r in rules[target] for a in r["asks"]}),
                    "assumed": any(r["assumed"] for r in rules[target]),
                    "rules": rules[target],
                }
                for target in sorted(rules)
            ],
        }
    )


def _label(target: str) -> dict[str, str] | None:
    """A target's Chinese and English labels (``certificate.<kind>``: the certificate's)."""
    label = LABELS["target"].get(target)
    if label is None and target.startswith("certificate."):
        label = LABELS["certificate"].get(target.removeprefix("certificate."))
    return None if label is None else {"zh": label.zh, "en": label.en}


def _cohort_row(facts: Facts, verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "learner_id": facts.learner_id,
        "name": facts.name,
        "school": facts.school,
        "jurisdiction": facts.jurisdiction,
        "eligible": verdict["eligible"],
        "unmet": [f"{m['policy_id']}#{m['rule']}" for m in verdict["missing"]],
        "missing": verdict["missing"],
    }


async def _cohort_facts(
    conn: asyncpg.Connection,
    jurisdiction: str,
    school: str | None,
    on: date,
    position: int,
    after: str,
    first: int,
) -> AsyncIterator[tuple[Facts, list[PolicyVersion]]]:
    """(facts, policies that may be in force) of each learner in scope after ``after``, in id
    order, read in chunks: ``first`` learners, then as many as hold about
    ``COHORT_FACTS_BUDGET`` completions."""
    chunk = max(1, min(first, FIRST_CHUNK))
    while True:
        ids = await policy_reads.cohort(conn, jurisdiction, school, position, after=after, limit=chunk)
        if not ids:
            return
        facts = await policy_reads.learner_facts_many(conn, ids, position)
        policies = await _policies_for(conn, facts, on, position)
        # The next chunk is sized by the longest history in this one, so it stays near the
        # budget as histories grow (a learner is judged whole, however long its history).
        longest = max((len(f.completions) for f in facts), default=0)
        after, full = ids[-1], len(ids) == chunk
        for f in facts:
            yield f, policies
        if not full:
            return
        del ids, facts  # one chunk's facts at a time: not this one while the next is read
        chunk = max(1, min(CSV_CHUNK, COHORT_FACTS_BUDGET // max(longest, 1)))


async def _cohort_rows(
    conn: asyncpg.Connection, query: dict[str, Any], on: date, position: int, after: str, want: int | None
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(cursor, row) for learners in scope after ``after``, filtered by ``role`` (held on the
    day judged), ``applies`` (some rule of the target applies to the learner) and ``eligible``."""
    wanted, role, applies = query.get("eligible"), query.get("role"), query.get("applies")
    async for f, policies in _cohort_facts(
        conn, query["jurisdiction"], query.get("school"), on, position, after, want or CSV_CHUNK
    ):
        if role is not None and not holds(f, role, on):
            continue
        verdict = evaluate(query["target"], f, policies, on, _asked(query))
        if applies is not None and verdict["applies"] is not applies:
            continue
        if wanted is None or verdict["eligible"] is wanted:
            yield f.learner_id, _cohort_row(f, verdict)


#: How a verdict is counted in a cohort's totals.
_COUNTED: Final = {True: "eligible", False: "not_eligible", None: "not_applicable"}


def _no_counts() -> dict[str, int]:
    return {"eligible": 0, "not_eligible": 0, "not_applicable": 0}


async def get_cohort(request: web.Request) -> web.StreamResponse:
    query = load_query(request, cohort_query_schema)
    check_jurisdiction_scope(request, query["jurisdiction"])
    svc = services(request)
    sheet = spreadsheet.wanted_format(request.headers.get("Accept"))
    if sheet is not None:
        return await _cohort_sheet(request, query, sheet)
    async with svc.reads.acquire() as conn:
        on, position = await _when(conn, request, query)
        await _known_target(conn, query["target"], query["jurisdiction"], position, below=True)
        rows: list[dict[str, Any]] = []
        cursor = None
        # Totals are over the whole filtered cohort, not the page: every learner in scope is
        # judged, the page stops filling at ``limit`` and the rest is only counted. That costs a
        # CSV export, so by default only the first page carries them.
        totals = query.get("totals", query["after"] == "")
        counts = _no_counts()
        by_school: dict[str, dict[str, int]] = {}
        start = "" if totals else query["after"]
        async for learner_id, row in _cohort_rows(conn, query, on, position, start, query["limit"]):
            kind = _COUNTED[row["eligible"]]
            counts[kind] += 1
            by_school.setdefault(row["school"] or "", _no_counts())[kind] += 1
            if learner_id <= query["after"]:
                continue  # before the page: counted only
            if len(rows) < query["limit"]:
                rows.append(row)
            elif cursor is None:
                cursor = rows[-1]["learner_id"]
                if not totals:
                    break
            await asyncio.sleep(0)  # judging is CPU work: let other requests in between learners
    return answer(
        {
            "target": query["target"],
            "jurisdiction": query["jurisdiction"],
            "school": query.get("school"),
            "role": query.get("role"),
            "applies": query.get("applies"),
            "on": on.isoformat(),
            "position": position,
            "counts": counts if totals else None,
            "counts_by_school": dict(sorted(by_school.items())) if totals else None,
            "learners": rows,
            "next_after": cursor,
        }
    )


#: A cohort's spreadsheet, CSV or xlsx (``api.service.spreadsheet``).
COHORT_COLUMNS = (
    spreadsheet.Column("learner_id", "identifier"),
    spreadsheet.Column("name"),
    spreadsheet.Column("school"),
    spreadsheet.Column("jurisdiction", "identifier"),
    spreadsheet.Column("target"),
    spreadsheet.Column("on", "date"),
    spreadsheet.Column("eligible"),
    spreadsheet.Column("unmet"),
    spreadsheet.Column("missing_hours"),
    spreadsheet.Column("position", "count"),
)


def _missing_hours(row: dict[str, Any], language: spreadsheet.HeaderLanguage) -> str:
    if language == "zh":
        return "；".join(
            f"{LABELS['category'].get(cat, Label(cat, cat)).zh} {h} 学时（期限 {m.get('due') or '-'}）"
            for m in row["missing"]
            for cat, h in (m.get("hours") or {}).items()
        )
    return "; ".join(
        f"{cat} {h} h by {m.get('due') or '-'}" for m in row["missing"] for cat, h in (m.get("hours") or {}).items()
    )


async def _cohort_sheet(request: web.Request, query: dict[str, Any], kind: spreadsheet.SheetKind) -> web.StreamResponse:
    svc = services(request)
    language = spreadsheet.header_language(query.get("lang"), request.headers.get("Accept-Language"))
    name = f"eligibility-{query['target']}-{query['jurisdiction']}"
    response = web.StreamResponse(headers=spreadsheet.sheet_headers(kind, f"{name}.{kind}"))
    async with svc.reads.acquire() as conn:
        on, position = await _when(conn, request, query)
        await _known_target(conn, query["target"], query["jurisdiction"], position, below=True)

        async def rows() -> AsyncIterator[list[Any]]:
            async for _, row in _cohort_rows(conn, query, on, position, query["after"], None):
                yield [
                    row["learner_id"],
                    row["name"],
                    row["school"],
                    row["jurisdiction"],
                    spreadsheet.term("target", query["target"], language),
                    on,
                    spreadsheet.yes_no(row["eligible"], language),
                    " ".join(row["unmet"]),
                    _missing_hours(row, language),
                    position,
                ]

        chunks = spreadsheet.sheet_chunks(kind, query["target"], COHORT_COLUMNS, language, rows())
        return await stream(request, response, chunks)


async def post_impact(request: web.Request) -> web.Response:
    policy_id = request.match_info["policy_id"]
    query = load_query(request, impact_query_schema)
    data = await read_json_object(request)
    data.setdefault("policy_id", policy_id)
    if data["policy_id"] != policy_id:
        raise Problem(
            422,
            "validation_failed",
            "The request has invalid fields",
            "policy_id differs from the path",
            errors={"policy_id": [f"must be {policy_id}, as in the path"]},
        )
    draft: PolicyVersion = await run_in_writer(request, lambda bank: bank.check_policy(data))
    caller = principal(request)
    scope = draft.jurisdiction
    if caller.role == "hr":
        assert caller.jurisdiction is not None
        if covers(draft.jurisdiction, caller.jurisdiction):
            scope = caller.jurisdiction
        elif not covers(caller.jurisdiction, draft.jurisdiction):
            raise Problem(
                403,
                "forbidden",
                "Outside your scope",
                f"this token covers {caller.jurisdiction}; the draft is for {draft.jurisdiction}",
            )
    svc = services(request)
    on = query.get("on") or max(svc.today(), draft.effective_from)
    async with svc.pool.acquire() as conn:
        position = await resolve_position(conn, request, {})
        current_versions = await policy_reads.policy_versions(conn, draft.policy_id, position)
        targets = sorted(draft.targets() | {t for v in current_versions for r in v["rules"] for t in r["targets"]})
        if len(draft.rules) * len(targets) > MAX_IMPACT_RULES_X_TARGETS:
            raise Problem(
                422,
                "impact_too_large",
                "The draft is too large to judge at once",
                f"{len(draft.rules)} rules × {len(targets)} targets = {len(draft.rules) * len(targets)}; "
                f"an impact judges at most {MAX_IMPACT_RULES_X_TARGETS} (rules × targets, the targets of the draft "
                "and of the policy's published versions): split the draft",
                errors={"rules": [f"rules × targets must be at most {MAX_IMPACT_RULES_X_TARGETS}"]},
                limit=MAX_IMPACT_RULES_X_TARGETS,
            )
        flips: list[dict[str, Any]] = []
        counts = {"to_eligible": 0, "to_ineligible": 0, "other": 0}
        judged = 0
        async for f, before in _cohort_facts(conn, scope, None, on, position, "", CSV_CHUNK):
            judged += 1
            # Judging is CPU work on the event loop: let other requests in between learners.
            await asyncio.sleep(0)
            with_draft = [*before, draft]
            for target in targets:
                old, new = evaluate(target, f, before, on), evaluate(target, f, with_draft, on)
                if old["eligible"] == new["eligible"]:
                    continue
                direction = (
                    ("to_eligible" if new["eligible"] else "to_ineligible")
                    if (old["eligible"] is not None and new["eligible"] is not None)
                    else "other"
                )
                counts[direction] += 1
                if len(flips) < query["limit"]:
                    flips.append(
                        {
                            "learner_id": f.learner_id,
                            "name": f.name,
                            "school": f.school,
                            "target": target,
                            "from": old["eligible"],
                            "to": new["eligible"],
                            "direction": direction,
                            "why": _why(old, new),
                        }
                    )
    return answer(
        {
            "policy_id": draft.policy_id,
            "draft_version": draft.version,
            "jurisdiction": draft.jurisdiction,
            "scope": scope,
            "on": on.isoformat(),
            "position": position,
            "targets": targets,
            "learners_judged": judged,
            "flips_count": counts,
            "flips": flips,
            "published": False,
        }
    )


def _why(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The requirements whose outcome differs between the two verdicts."""

    def key(r: dict[str, Any]) -> tuple[str, str]:
        return r["policy_id"], r["rule"]

    before = {key(r): r for r in old["requirements"]}
    after = {key(r): r for r in new["requirements"]}
    out = []
    for k in sorted(before.keys() | after.keys()):
        b, a = before.get(k), after.get(k)
        if b is not None and a is not None and b["met"] == a["met"] and b.get("required") == a.get("required"):
            continue
        out.append(
            {
                "policy_id": k[0],
                "rule": k[1],
                "before": None
                if b is None
                else {"met": b["met"], "required": b.get("required"), "actual": b.get("actual")},
                "after": None
                if a is None
                else {"met": a["met"], "required": a.get("required"), "actual": a.get("actual"), "source": a["source"]},
            }
        )
    return out
