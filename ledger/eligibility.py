"""Eligibility verdicts: pure evaluation of policy rules over one learner's facts.

Invariants:
- ``evaluate`` is a pure function of (target, facts, policies, on): no clock, no I/O;
- a learner is judged by every policy version in force on ``on`` for every jurisdiction
  in ``parent_chain(facts.jurisdiction)``; rules of lower levels add to the higher ones,
  and a rule that ``replaces`` a higher one takes its place, visibly (``replaces``,
  ``loosens`` in the requirement);
- targets are names in the data: nothing here branches on a target;
- only passed, unrevoked completions are facts, and only those completed on or before
  ``on`` count; the verdict does not depend on the order the facts come in (evidence is
  sorted by date and event id, never by arrival);
- every requirement names the events behind its ``actual`` (``evidence``);
- each rule kind judges itself (``Rule.judge``, ``ledger.rules``): nothing here branches on a kind;
- school years and terms are those of the calendar in force (``calendar_of``): the one the
  nearest jurisdiction of the chain states in a policy in force, else the contract's;
- a verdict is ``eligible`` None when no policy defines the target or none of its rules
  applies to the learner (``applies_to``): never eligible by default; a bar (a refusal) alone
  does not make a target with defining rules apply, a credit ratio never does;
- a requirement whose rule rests on an assumption says ``assumed`` (and the assumption),
  and so does the verdict when any requirement does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.facts import CertificateFact, CompletionFact, Facts, Requirement, RoleFact, holds
from ledger.hours import format_hours
from ledger.policy import PolicyVersion, in_force
from ledger.rule_parts import add_months, years_served
from ledger.rules import Rule
from ledger.school_year import DEFAULT_CALENDAR, Calendar
from ledger.vocabulary import parent_chain

#: What a caller judges with (the facts live in ``ledger.facts``; each rule kind judges itself,
#: ``ledger.rules``).
__all__ = [
    "CertificateFact",
    "CompletionFact",
    "Facts",
    "RoleFact",
    "as_appointed",
    "calendar_of",
    "evaluate",
    "plan",
    "policies_applied",
]


def _applies(rule: Rule, facts: Facts, on: date) -> str | None:
    """Why the rule does not apply to this learner on ``on`` (None: it applies)."""
    scope = rule.applies_to
    if scope.roles and not any(holds(facts, role, on) for role in scope.roles):
        return f"applies to {', '.join(sorted(scope.roles))}; the learner holds none of these roles on {on}"
    if scope.hired_within_months is not None and (
        facts.hired_on is None or on >= add_months(facts.hired_on, scope.hired_within_months)
    ):
        return f"applies to learners hired within {scope.hired_within_months} months"
    if scope.years_in_role is not None:
        role, at_least = scope.years_in_role.role, scope.years_in_role.at_least
        spells = [(r.since, r.until) for r in facts.roles if r.role == role and r.since <= on]
        if not holds(facts, role, on) or years_served(spells, on) < at_least:
            return f"applies to learners serving as {role} for {at_least} years or more on {on}"
    if scope.hired_on_or_after is not None and (facts.hired_on is None or facts.hired_on < scope.hired_on_or_after):
        return f"applies to learners hired on or after {scope.hired_on_or_after}"
    if scope.hired_before is not None and (facts.hired_on is None or facts.hired_on >= scope.hired_before):
        return f"applies to learners hired before {scope.hired_before}"
    return None


def as_appointed(facts: Facts, role: str, since: date) -> Facts:
    """``facts`` with ``role`` held from ``since``: how a candidate is judged for an
    appointment, so rules ``applies_to`` that role (principal_appointment's) are for them
    rather than not applying to someone who does not hold it yet."""
    if holds(facts, role, since):
        return facts
    return replace(facts, roles=(*facts.roles, RoleFact(role, since)))


def calendar_of(policies: Sequence[PolicyVersion], jurisdiction: str, on: date) -> Calendar:
    """The school calendar in force in ``jurisdiction`` on ``on``: the one stated by a policy
    in force of the nearest jurisdiction of its chain (a district's before its city's), else
    the contract's (``DEFAULT_CALENDAR``)."""
    chain = parent_chain(jurisdiction)
    stated = [v for v in policies_applied(policies, jurisdiction, on) if v.calendar is not None]
    if not stated:
        return DEFAULT_CALENDAR
    nearest = min(stated, key=lambda v: (chain.index(v.jurisdiction), v.policy_id))
    assert nearest.calendar is not None
    return nearest.calendar


def policies_applied(policies: Sequence[PolicyVersion], jurisdiction: str, on: date) -> list[PolicyVersion]:
    """The version in force on ``on`` of each policy of ``jurisdiction``'s chain, national first."""
    chain = parent_chain(jurisdiction)
    by_id: dict[str, list[PolicyVersion]] = {}
    for version in policies:
        if version.jurisdiction in chain:
            by_id.setdefault(version.policy_id, []).append(version)
    applied = [v for vs in by_id.values() if (v := in_force(sorted(vs, key=lambda x: x.version or 0), on))]
    return sorted(applied, key=lambda v: (-chain.index(v.jurisdiction), v.policy_id))


def evaluate(
    target: str,
    facts: Facts,
    policies: Sequence[PolicyVersion],
    on: date,
    asked: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The verdict for ``target`` (see the module invariants), as plain JSON-ready data;
    ``asked`` holds the question's parameters some kinds read (``years`` of an honour)."""
    facts = replace(facts, calendar=calendar_of(policies, facts.jurisdiction, on))
    applied = [
        v for v in policies_applied(policies, facts.jurisdiction, on) if any(target in r.targets for r in v.rules)
    ]
    pairs = [(v, r) for v in applied for r in v.rules if target in r.targets]
    replaced = {(r.replaces.policy_id, r.replaces.rule) for _, r in pairs if r.replaces is not None}
    requirements: list[Requirement] = []
    for version, rule in pairs:
        if (version.policy_id, rule.id) in replaced:
            continue
        base = Requirement(
            rule=rule.id,
            policy_id=version.policy_id,
            version=version.version or 0,
            kind=rule.kind,
            source={"document": rule.source.document, "article": rule.source.article},
            required=None,
            actual=None,
            met=False,
            unit="",
            scope=rule.SCOPE,
            assumed=rule.assumed is not None,
            assumption=rule.assumed,
        )
        if rule.replaces is not None:
            base.replaces = {"policy_id": rule.replaces.policy_id, "rule": rule.replaces.rule}
            base.loosens = rule.loosens
        why_not = _applies(rule, facts, on)
        if why_not is not None:
            base.applies, base.met, base.note = False, True, why_not
            requirements.append(base)
            continue
        requirements.append(rule.judge_asked(facts, on, base, asked or {}))
    unmet = [r for r in requirements if not r.met]
    # Whom the target is for: the learners its defining rules apply to; where it has only bars
    # (appraisal_excellent), those the bars apply to; a credit ratio never decides it.
    scoping = [r for r in requirements if r.scope == "defines"] or [r for r in requirements if r.scope == "bars"]
    applies = any(r.applies for r in scoping)
    note = None
    if not requirements:
        note = f"no policy in force on {on} for {', '.join(parent_chain(facts.jurisdiction))} defines {target}"
    elif not applies:
        # Fail closed: a target none of whose rules is for this learner is not met by
        # default (a certificate is not issued, a cohort does not count them eligible).
        note = f"{target} is for none of this learner's roles or service on {on}: no rule of it applies"
    return {
        "learner_id": facts.learner_id,
        "target": target,
        "on": on.isoformat(),
        "eligible": None if not applies else not unmet,
        "applies": applies,
        "note": note,
        "policies": [
            {
                "policy_id": v.policy_id,
                "version": v.version,
                "jurisdiction": v.jurisdiction,
                "effective_from": v.effective_from.isoformat(),
                "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                "title": v.title,
            }
            for v in applied
        ],
        "assumed": any(r.assumed and r.applies for r in requirements),
        "requirements": [r.as_dict() for r in requirements],
        "missing": [{"rule": r.rule, "policy_id": r.policy_id, **(r.missing or {})} for r in unmet],
    }


def plan(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    """What remains, by category and due date: the largest shortfall of each (category,
    due) pair, since rules over the same hours overlap rather than add up."""
    hours: dict[tuple[str, str | None], tuple[Decimal, list[str]]] = {}
    other: list[dict[str, Any]] = []
    for item in verdict["missing"]:
        due = item.get("due")
        for category, amount in (item.get("hours") or {}).items():
            key = (category, due)
            best, rules = hours.get(key, (Decimal(0), []))
            hours[key] = (max(best, Decimal(amount)), [*rules, f"{item['policy_id']}#{item['rule']}"])
        if not item.get("hours"):
            other.append(item)
    remaining: list[dict[str, Any]] = [
        {"category": category, "hours": format_hours(amount), "due": due, "rules": rules}
        for (category, due), (amount, rules) in sorted(hours.items(), key=lambda kv: (kv[0][1] or "9999", kv[0][0]))
    ]
    return remaining + other
