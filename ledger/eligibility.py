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
- every requirement names the events behind its ``actual`` (``evidence``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.hours import format_hours
from ledger.policy import PolicyVersion, in_force
from ledger.rules import (
    CategoryPresent,
    CertificateHeld,
    CreditRatio,
    MinHours,
    MinHoursEachYear,
    NotRefusedHeadTeacherPost,
    RoleHeldYears,
    Rule,
    add_months,
)
from ledger.vocabulary import parent_chain


@dataclass(frozen=True)
class CompletionFact:
    event_id: str
    position: int
    category: str
    level: str
    hours: Decimal
    completed_on: date


@dataclass(frozen=True)
class RoleFact:
    role: str
    since: date
    until: date | None = None
    event_id: str | None = None
    position: int | None = None


@dataclass(frozen=True)
class CertificateFact:
    kind: str
    valid_from: date
    valid_to: date | None
    event_id: str
    position: int


@dataclass(frozen=True)
class RefusalFact:
    """A head-teacher post refused without good reason (no such events exist yet)."""

    year: int
    event_id: str
    position: int


@dataclass(frozen=True)
class Facts:
    learner_id: str
    jurisdiction: str
    hired_on: date | None = None
    roles: tuple[RoleFact, ...] = ()
    #: Passed, unrevoked completions only.
    completions: tuple[CompletionFact, ...] = ()
    certificates: tuple[CertificateFact, ...] = ()
    refusals: tuple[RefusalFact, ...] = ()
    name: str | None = None
    school: str | None = None


@dataclass
class Requirement:
    rule: str
    policy_id: str
    version: int
    kind: str
    source: dict[str, str]
    required: Any
    actual: Any
    met: bool
    unit: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    missing: dict[str, Any] | None = None
    note: str | None = None
    applies: bool = True
    replaces: dict[str, Any] | None = None
    loosens: bool = False
    window: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["loosens"] = self.loosens
        return out


def _evidence(items: Iterable[CompletionFact]) -> list[dict[str, Any]]:
    ordered = sorted(items, key=lambda c: (c.completed_on, c.event_id))
    return [{"event_id": c.event_id, "position": c.position, "hours": format_hours(c.hours),
             "category": c.category, "completed_on": c.completed_on.isoformat()} for c in ordered]


def _category_key(categories: frozenset[str] | None) -> str:
    return "any" if categories is None else "|".join(sorted(categories))


def _counts(c: CompletionFact, categories: frozenset[str] | None, levels: frozenset[str] | None) -> bool:
    return (categories is None or c.category in categories) and (levels is None or c.level in levels)


def _holds(facts: Facts, role: str, on: date) -> bool:
    return any(r.role == role and r.since <= on and (r.until is None or on <= r.until) for r in facts.roles)


def _applies(rule: Rule, facts: Facts, on: date) -> str | None:
    """Why the rule does not apply to this learner on ``on`` (None: it applies)."""
    scope = rule.applies_to
    if scope.roles and not any(_holds(facts, role, on) for role in scope.roles):
        return f"applies to {', '.join(sorted(scope.roles))}; the learner holds none of these roles on {on}"
    if scope.hired_within_months is not None and (
        facts.hired_on is None or on >= add_months(facts.hired_on, scope.hired_within_months)
    ):
        return f"applies to learners hired within {scope.hired_within_months} months"
    return None


def _judge(rule: Rule, facts: Facts, on: date, base: Requirement) -> Requirement:
    done = [c for c in facts.completions if c.completed_on <= on]
    if isinstance(rule, MinHours):
        span = rule.window.span(on, facts.hired_on)
        base.unit, base.required = "hours", format_hours(rule.hours)
        if span is None:
            base.actual, base.met = "0", False
            base.missing = {"hours": {_category_key(rule.categories): format_hours(rule.hours)}, "due": None}
            base.note = "no hired_on is recorded, so the window after hire cannot be placed"
            return base
        first, last = span
        base.window = {"to": last.isoformat()} if first == date.min else {
            "from": first.isoformat(), "to": last.isoformat()}
        counted = [c for c in done if first <= c.completed_on <= last and _counts(c, rule.categories, rule.levels)]
        total = sum((c.hours for c in counted), Decimal(0))
        base.actual, base.met, base.evidence = format_hours(total), total >= rule.hours, _evidence(counted)
        if not base.met:
            due = last if last >= on else None
            base.missing = {"hours": {_category_key(rule.categories): format_hours(rule.hours - total)},
                            "due": due.isoformat() if due else None}
            if due is None:
                base.note = f"the window closed on {last}; the hours can no longer be made up in it"
        return base
    if isinstance(rule, CategoryPresent):
        span = rule.window.span(on, facts.hired_on)
        assert span is not None or rule.window.kind == "after_hire"
        first, last = span if span is not None else (date.max, date.min)
        if first != date.min:
            base.window = {"from": first.isoformat(), "to": last.isoformat()}
        counted = [c for c in done if first <= c.completed_on <= last and c.category in rule.categories]
        base.unit, base.required, base.actual = "completions", rule.count, len(counted)
        base.met, base.evidence = len(counted) >= rule.count, _evidence(counted)
        if not base.met:
            due = last if last >= on else None
            base.missing = {"completions": {_category_key(rule.categories): rule.count - len(counted)},
                            "due": due.isoformat() if due else None}
        return base
    if isinstance(rule, MinHoursEachYear):
        last_year = on.year if rule.include_current else on.year - 1
        years = range(last_year - rule.years + 1, last_year + 1)
        per_year = {y: [c for c in done if c.completed_on.year == y and _counts(c, rule.categories, rule.levels)]
                    for y in years}
        totals = {y: sum((c.hours for c in cs), Decimal(0)) for y, cs in per_year.items()}
        short = {y: rule.hours - t for y, t in totals.items() if t < rule.hours}
        base.unit, base.required = "hours each year", format_hours(rule.hours)
        base.actual = {str(y): format_hours(t) for y, t in totals.items()}
        base.met = not short
        base.evidence = _evidence(c for cs in per_year.values() for c in cs)
        base.window = {"from": date(years[0], 1, 1).isoformat(), "to": date(last_year, 12, 31).isoformat()}
        if short:
            key = _category_key(rule.categories)
            base.missing = {"hours": {key: format_hours(sum(short.values(), Decimal(0)))},
                            "by_year": {str(y): format_hours(h) for y, h in short.items()},
                            "due": date(on.year, 12, 31).isoformat() if on.year in short else None}
            if on.year not in short:
                base.note = "the short years are over; their hours can no longer be made up"
        return base
    if isinstance(rule, RoleHeldYears):
        spells = [r for r in facts.roles if r.role == rule.role and r.since <= on]
        days = sum(((min(r.until or on, on) - r.since).days + 1 for r in spells), 0)
        needed = int(rule.years * 365)  # whole years of 365 days: a leap day never decides
        base.unit, base.required, base.actual = "years", format_hours(rule.years), format_hours(
            (Decimal(days) / 365).quantize(Decimal("0.01")))
        base.met = days >= needed
        base.evidence = [{"event_id": r.event_id, "position": r.position, "role": r.role,
                          "since": r.since.isoformat(), "until": r.until.isoformat() if r.until else None}
                         for r in sorted(spells, key=lambda r: (r.since, r.event_id or ""))]
        if not base.met:
            holding = _holds(facts, rule.role, on)
            due = on + timedelta(days=needed - days) if holding else None
            base.missing = {"days": needed - days, "due": due.isoformat() if due else None}
            if not holding:
                base.note = f"the learner does not hold the role {rule.role} on {on}"
        return base
    if isinstance(rule, CertificateHeld):
        valid = [c for c in facts.certificates if c.kind == rule.certificate
                 and c.valid_from <= on and (c.valid_to is None or on <= c.valid_to)]
        base.unit, base.required = "certificate", rule.certificate
        base.actual = valid[0].kind if valid else None
        base.met = bool(valid)
        base.evidence = [{"event_id": c.event_id, "position": c.position} for c in valid]
        if not valid:
            base.missing = {"certificate": rule.certificate, "due": on.isoformat()}
            if not facts.certificates:
                base.note = "no certificate record"
        return base
    if isinstance(rule, NotRefusedHeadTeacherPost):
        refused = [r for r in facts.refusals if r.year == on.year]
        base.unit, base.required, base.actual = "refusals", 0, len(refused)
        base.met = not refused
        base.evidence = [{"event_id": r.event_id, "position": r.position} for r in refused]
        if not facts.refusals:
            base.note = "no refusal of a head-teacher post is recorded"
        return base
    assert isinstance(rule, CreditRatio)
    total = sum((c.hours for c in done), Decimal(0))
    base.unit, base.required, base.met = "hours per credit", format_hours(rule.hours_per_credit), True
    base.actual = format_hours((total / rule.hours_per_credit).quantize(Decimal("0.01")))
    base.note = (f"informational: {format_hours(rule.hours_per_credit)} h make one credit; "
                 f"actual is the learner's credits from {format_hours(total)} h")
    return base


def policies_applied(policies: Sequence[PolicyVersion], jurisdiction: str, on: date) -> list[PolicyVersion]:
    """The version in force on ``on`` of each policy of ``jurisdiction``'s chain, national first."""
    chain = parent_chain(jurisdiction)
    by_id: dict[str, list[PolicyVersion]] = {}
    for version in policies:
        if version.jurisdiction in chain:
            by_id.setdefault(version.policy_id, []).append(version)
    applied = [v for vs in by_id.values() if (v := in_force(sorted(vs, key=lambda x: x.version or 0), on))]
    return sorted(applied, key=lambda v: (-chain.index(v.jurisdiction), v.policy_id))


def evaluate(target: str, facts: Facts, policies: Sequence[PolicyVersion], on: date) -> dict[str, Any]:
    """The verdict for ``target`` (see the module invariants), as plain JSON-ready data."""
    applied = [v for v in policies_applied(policies, facts.jurisdiction, on)
               if any(target in r.targets for r in v.rules)]
    pairs = [(v, r) for v in applied for r in v.rules if target in r.targets]
    replaced = {(r.replaces.policy_id, r.replaces.rule) for _, r in pairs if r.replaces is not None}
    requirements: list[Requirement] = []
    for version, rule in pairs:
        if (version.policy_id, rule.id) in replaced:
            continue
        base = Requirement(
            rule=rule.id, policy_id=version.policy_id, version=version.version or 0, kind=rule.kind,
            source={"document": rule.source.document, "article": rule.source.article},
            required=None, actual=None, met=False, unit="",
        )
        if rule.replaces is not None:
            base.replaces = {"policy_id": rule.replaces.policy_id, "rule": rule.replaces.rule}
            base.loosens = rule.loosens
        why_not = _applies(rule, facts, on)
        if why_not is not None:
            base.applies, base.met, base.note = False, True, why_not
            requirements.append(base)
            continue
        requirements.append(_judge(rule, facts, on, base))
    unmet = [r for r in requirements if not r.met]
    return {
        "learner_id": facts.learner_id,
        "target": target,
        "on": on.isoformat(),
        "eligible": None if not requirements else not unmet,
        "note": None if requirements else (
            f"no policy in force on {on} for {', '.join(parent_chain(facts.jurisdiction))} defines {target}"),
        "policies": [{"policy_id": v.policy_id, "version": v.version, "jurisdiction": v.jurisdiction,
                      "effective_from": v.effective_from.isoformat(),
                      "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                      "title": v.title} for v in applied],
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
