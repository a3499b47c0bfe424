"""Typed policy rules, parsed from plain data and turned back into it, and judged.

Each rule kind is one class here, registered under its name with ``@kind``: its parameters
(fields and ``PARAMS``), its parsing (``read``), its judgement over a learner's facts
(``judge``) and its strictness against an earlier version of itself (``at_least_as_strict``).
A new kind is one new class; ``KINDS`` (and the HTTP schema's enum) follow from it.

Invariants:
- ``parse_rule(data, path)`` either returns a rule or raises a ``DomainError`` naming the
  field path (``rules[2].hours``); a rule never holds an unknown kind, category, level,
  role or certificate code, nor hours that are not an exact decimal above 0;
- ``rule.as_data()`` is plain data (str, int, bool, ``Decimal``, ``date``, lists, dicts)
  and ``parse_rule(rule.as_data())`` gives the same rule back, so a rule stored in an
  event or a read model is the rule that was published;
- ``at_least_as_strict(new, old)`` is True only when every learner who meets ``new``
  also meets ``old``; anything it cannot prove is treated as a loosening;
- ``rule.judge(facts, on, base)`` is a pure function of its arguments (no clock, no I/O),
  counts only completions on or before ``on``, and names the events behind its ``actual``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeVar

from ledger.degree import credits_for
from ledger.errors import RuleInvalid, RuleKindUnknown
from ledger.facts import CompletionFact, Facts, Requirement, RoleFact, category_key, counts, evidence, holds
from ledger.grammar import NAME, check_text
from ledger.hours import format_hours
from ledger.rule_parts import (
    AppliesTo,
    FieldReader,
    RuleRef,
    Source,
    Window,
    YearsInRole,
    read_window,
    service_reached,
    years_served,
)
from ledger.school_year import SchoolYear
from ledger.vocabulary import CERTIFICATES, LEVELS, ROLES
from ledger.vocabulary_document import OPEN_CATEGORIES

_NAME = NAME
#: A policy id: the grammar of identifiers (``ledger.grammar``).
POLICY_ID_LENGTH: Final = 64

_COMMON: Final = frozenset({"id", "kind", "targets", "source", "applies_to", "note", "replaces", "loosens", "assumed"})
_SOURCE: Final = frozenset({"document", "article"})
_APPLIES_TO: Final = frozenset({"roles", "hired_within_months", "years_in_role", "hired_on_or_after", "hired_before"})
_YEARS_IN_ROLE: Final = frozenset({"role", "at_least"})
#: The most words a rule's ``topics`` names, and the longest word.
MAX_TOPICS: Final = 20
_REPLACES: Final = frozenset({"policy_id", "rule"})


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    targets: tuple[str, ...]
    source: Source
    applies_to: AppliesTo = field(default_factory=AppliesTo)
    note: str | None = None
    replaces: RuleRef | None = None
    loosens: bool = False
    #: What the rule assumes where no seed gives the figure ("1 month = 160 h"); None: the
    #: rule is the seed's own. A verdict resting on it says ``assumed``.
    assumed: str | None = None

    #: The fields a rule of this kind takes beyond the common ones (``_COMMON``).
    PARAMS: ClassVar[frozenset[str]] = frozenset()
    #: The parameters of a verdict's question this kind reads (``years`` of an honour).
    ASKS: ClassVar[frozenset[str]] = frozenset()
    #: How a rule of this kind scopes its target: ``defines`` (the target applies to whom the
    #: rule applies), ``bars`` (a bar, such as a refusal: it scopes a target only where no
    #: defining rule does) or ``informs`` (a credit ratio: always met, it never scopes).
    SCOPE: ClassVar[str] = "defines"

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        """A rule of this kind from its reader (``common``: the fields every rule has)."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {}

    def at_least_as_strict(self, old: Any) -> bool:
        """Whether whoever meets this rule also meets ``old``, a rule of the same kind."""
        raise NotImplementedError

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        """``base`` filled in with this rule's verdict for ``facts`` on ``on``."""
        raise NotImplementedError

    def judge_asked(self, facts: Facts, on: date, base: Requirement, asked: Mapping[str, int]) -> Requirement:
        """``judge``, for a question with parameters (``asked``, of ``ASKS``): most kinds read none."""
        return self.judge(facts, on, base)

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "targets": list(self.targets),
            "source": {"document": self.source.document, "article": self.source.article},
        }
        applies = self.applies_to.as_data()
        if applies:
            data["applies_to"] = applies
        data.update(self.params())
        if self.note:
            data["note"] = self.note
        if self.assumed:
            data["assumed"] = self.assumed
        if self.replaces is not None:
            data["replaces"] = {"policy_id": self.replaces.policy_id, "rule": self.replaces.rule}
            data["loosens"] = self.loosens
        return data


#: Rule kind name -> its class, in the order the kinds were added.
KINDS: Final[dict[str, type[Rule]]] = {}

_R = TypeVar("_R", bound=type[Rule])


def kind(name: str) -> Callable[[_R], _R]:
    """Register a rule class under its kind ``name`` (what ``"kind"`` says in a policy)."""

    def register(cls: _R) -> _R:
        KINDS[name] = cls
        return cls

    return register


def _codes(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _subset(new: frozenset[str] | None, old: frozenset[str] | None, *, empty_is_none: bool = False) -> bool:
    """Counting from fewer categories is stricter; None counts every category. With
    ``empty_is_none`` (topics), None counts none: fewer topic words is stricter still."""
    if empty_is_none:
        return new is None or (old is not None and new <= old)
    return old is None or (new is not None and new <= old)


def _topics(r: FieldReader) -> frozenset[str] | None:
    """A rule's ``topics``: words a completion's topics may contain to count beside its
    category (``["职业道德", "师德"]``), or None."""
    value = r.data.get("topics")
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_TOPICS:
        raise RuleInvalid(f"must be a non-empty list of at most {MAX_TOPICS} words", field=r.at("topics"))
    return frozenset(
        check_text(word, f"{r.at('topics')}[{i}]", max_length=50, error=RuleInvalid).strip()
        for i, word in enumerate(value)
    )


def _done(facts: Facts, on: date) -> list[CompletionFact]:
    return [c for c in facts.completions if c.completed_on <= on]


def _judge_hours(
    facts: Facts,
    on: date,
    base: Requirement,
    rule: MinHours,
    first: date,
    last: date,
    topics: frozenset[str] | None = None,
) -> Requirement:
    """``base`` judged for ``rule.hours`` of its categories and levels done between ``first``
    and ``last`` (both inclusive) and by ``on``: the one count of hours in a window."""
    counted = [
        c
        for c in _done(facts, on)
        if first <= c.completed_on <= last and counts(c, rule.categories, rule.levels, topics)
    ]
    total = sum((c.hours for c in counted), Decimal(0))
    base.actual, base.met, base.evidence = format_hours(total), total >= rule.hours, evidence(counted)
    if not base.met:
        due = last if last >= on else None
        base.missing = {
            "hours": {category_key(rule.categories): format_hours(rule.hours - total)},
            "due": due.isoformat() if due else None,
        }
        if due is None:
            base.note = f"the window closed on {last}; the hours can no longer be made up in it"
    return base


@kind("min_hours")
@dataclass(frozen=True)
class MinHours(Rule):
    window: Window = Window("calendar_year")
    hours: Decimal = Decimal(0)
    categories: frozenset[str] | None = None  # None: every category counts
    levels: frozenset[str] | None = None
    #: Words a completion's topics may contain to count beside ``categories`` (None: none).
    topics: frozenset[str] | None = None

    PARAMS: ClassVar[frozenset[str]] = frozenset({"window", "hours", "categories", "levels", "topics"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(
            **common,
            window=read_window(r.data.get("window"), r.at("window")),
            hours=r.decimal("hours"),
            categories=r.codes("categories", OPEN_CATEGORIES, required=r.has("topics")),
            levels=r.codes("levels", LEVELS, required=False),
            topics=_topics(r),
        )

    def params(self) -> dict[str, Any]:
        data = {
            "window": self.window.as_data(),
            "hours": self.hours,
            "categories": _codes(self.categories),
            "levels": _codes(self.levels),
        }
        if self.topics is not None:
            data["topics"] = sorted(self.topics)
        return data

    def at_least_as_strict(self, old: MinHours) -> bool:
        return (
            self.window == old.window
            and self.hours >= old.hours
            and _subset(self.categories, old.categories)
            and _subset(self.levels, old.levels)
            and _subset(self.topics, old.topics, empty_is_none=True)
        )

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        span = self.window.span(on, facts.hired_on, facts.calendar)
        base.unit, base.required = "hours", format_hours(self.hours)
        if span is None:
            base.actual, base.met = "0", False
            base.missing = {"hours": {category_key(self.categories): format_hours(self.hours)}, "due": None}
            base.note = "no hired_on is recorded, so the window after hire cannot be placed"
            return base
        first, last = span
        base.window = (
            {"to": last.isoformat()}
            if first == date.min
            else {**self.window.named(first, facts.calendar), "from": first.isoformat(), "to": last.isoformat()}
        )
        return _judge_hours(facts, on, base, self, first, last, self.topics)


@kind("category_present")
@dataclass(frozen=True)
class CategoryPresent(Rule):
    window: Window = Window("calendar_year")
    categories: frozenset[str] = frozenset()
    count: int = 1
    #: Words a completion's topics may contain to count beside ``categories`` (None: none).
    topics: frozenset[str] | None = None

    PARAMS: ClassVar[frozenset[str]] = frozenset({"window", "categories", "count", "topics"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        categories = r.codes("categories", OPEN_CATEGORIES, required=True)
        assert categories is not None
        return cls(
            **common,
            window=read_window(r.data.get("window"), r.at("window")),
            categories=categories,
            count=r.integer("count") if r.has("count") else 1,
            topics=_topics(r),
        )

    def params(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "window": self.window.as_data(),
            "categories": sorted(self.categories),
            "count": self.count,
        }
        if self.topics is not None:
            data["topics"] = sorted(self.topics)
        return data

    def at_least_as_strict(self, old: CategoryPresent) -> bool:
        return (
            self.window == old.window
            and self.categories <= old.categories
            and self.count >= old.count
            and _subset(self.topics, old.topics, empty_is_none=True)
        )

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        span = self.window.span(on, facts.hired_on, facts.calendar)
        assert span is not None or self.window.kind == "after_hire"
        first, last = span if span is not None else (date.max, date.min)
        if first != date.min:
            base.window = {
                **self.window.named(first, facts.calendar),
                "from": first.isoformat(),
                "to": last.isoformat(),
            }
        counted = [
            c
            for c in _done(facts, on)
            if first <= c.completed_on <= last and counts(c, self.categories, None, self.topics)
        ]
        base.unit, base.required, base.actual = "completions", self.count, len(counted)
        base.met, base.evidence = len(counted) >= self.count, evidence(counted)
        if not base.met:
            due = last if last >= on else None
            base.missing = {
                "completions": {category_key(self.categories): self.count - len(counted)},
                "due": due.isoformat() if due else None,
            }
        return base


@kind("min_hours_each_year")
@dataclass(frozen=True)
class MinHoursEachYear(Rule):
    years: int = 1
    hours: Decimal = Decimal(0)
    categories: frozenset[str] | None = None
    levels: frozenset[str] | None = None
    #: Whether the year of the date judged is one of the N (it is not over yet).
    include_current: bool = False

    PARAMS: ClassVar[frozenset[str]] = frozenset({"years", "hours", "categories", "levels", "include_current"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(
            **common,
            years=r.integer("years", high=50),
            hours=r.decimal("hours"),
            categories=r.codes("categories", OPEN_CATEGORIES, required=False),
            levels=r.codes("levels", LEVELS, required=False),
            include_current=r.flag("include_current"),
        )

    def params(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "hours": self.hours,
            "categories": _codes(self.categories),
            "levels": _codes(self.levels),
            "include_current": self.include_current,
        }

    def at_least_as_strict(self, old: MinHoursEachYear) -> bool:
        return (
            self.years >= old.years
            and self.hours >= old.hours
            and self.include_current == old.include_current
            and _subset(self.categories, old.categories)
            and _subset(self.levels, old.levels)
        )

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        done = _done(facts, on)
        last_year = on.year if self.include_current else on.year - 1
        years = range(last_year - self.years + 1, last_year + 1)
        per_year = {
            y: [c for c in done if c.completed_on.year == y and counts(c, self.categories, self.levels)] for y in years
        }
        totals = {y: sum((c.hours for c in cs), Decimal(0)) for y, cs in per_year.items()}
        short = {y: self.hours - t for y, t in totals.items() if t < self.hours}
        base.unit, base.required = "hours each year", format_hours(self.hours)
        base.actual = {str(y): format_hours(t) for y, t in totals.items()}
        base.met = not short
        base.evidence = evidence(c for cs in per_year.values() for c in cs)
        base.window = {"from": date(years[0], 1, 1).isoformat(), "to": date(last_year, 12, 31).isoformat()}
        if short:
            key = category_key(self.categories)
            base.missing = {
                "hours": {key: format_hours(sum(short.values(), Decimal(0)))},
                "by_year": {str(y): format_hours(h) for y, h in short.items()},
                "due": date(on.year, 12, 31).isoformat() if on.year in short else None,
            }
            if on.year not in short:
                base.note = "the short years are over; their hours can no longer be made up"
        return base


@kind("role_held_years")
@dataclass(frozen=True)
class RoleHeldYears(Rule):
    role: str = "teacher"
    years: Decimal = Decimal(0)

    PARAMS: ClassVar[frozenset[str]] = frozenset({"role", "years"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common, role=r.code("role", ROLES), years=r.decimal("years", high=Decimal(60)))

    def params(self) -> dict[str, Any]:
        return {"role": self.role, "years": self.years}

    def at_least_as_strict(self, old: RoleHeldYears) -> bool:
        return self.role == old.role and self.years >= old.years

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        spells = [r for r in facts.roles if r.role == self.role and r.since <= on]
        months = self.years * 12
        if months == int(months):
            # Calendar anniversaries (a 30-year milestone lands on its day, not 8 days early).
            reached = service_reached(((r.since, r.until) for r in spells), int(months))
        else:  # a fraction of a month: counted in days of the year (a leap day never decides)
            reached = service_reached(((r.since, r.until) for r in spells), 0)
            reached = None if reached is None else reached + timedelta(days=int(self.years * 365))
        served = years_served([(r.since, r.until) for r in spells], on)
        base.unit, base.required, base.actual = "years", format_hours(self.years), served
        base.met = reached is not None and reached <= on
        base.evidence = _spell_evidence(spells)
        if not base.met:
            holding = holds(facts, self.role, on)
            due = reached if holding and reached is not None else None
            base.missing = {"years": format_hours(self.years), "due": due.isoformat() if due else None}
            if not holding:
                base.note = f"the learner does not hold the role {self.role} on {on}"
        return base


def _spell_evidence(spells: list[RoleFact]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": r.event_id,
            "position": r.position,
            "role": r.role,
            "since": r.since.isoformat(),
            "until": r.until.isoformat() if r.until else None,
        }
        for r in sorted(spells, key=lambda r: (r.since, r.event_id or ""))
    ]


@kind("certificate_held")
@dataclass(frozen=True)
class CertificateHeld(Rule):
    certificate: str = ""

    PARAMS: ClassVar[frozenset[str]] = frozenset({"certificate"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common, certificate=r.code("certificate", CERTIFICATES))

    def params(self) -> dict[str, Any]:
        return {"certificate": self.certificate}

    def at_least_as_strict(self, old: CertificateHeld) -> bool:
        return self.certificate == old.certificate

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        valid = [
            c
            for c in facts.certificates
            if c.kind == self.certificate and c.valid_from <= on and (c.valid_to is None or on <= c.valid_to)
        ]
        base.unit, base.required = "certificate", self.certificate
        base.actual = valid[0].kind if valid else None
        base.met = bool(valid)
        base.evidence = [{"event_id": c.event_id, "position": c.position} for c in valid]
        if not valid:
            base.missing = {"certificate": self.certificate, "due": on.isoformat()}
            if not facts.certificates:
                base.note = "no certificate record"
        return base


@kind("not_refused_head_teacher_post")
@dataclass(frozen=True)
class NotRefusedHeadTeacherPost(Rule):
    """No head-teacher post refused without good reason in the school year of the day
    judged (seed 001 二(四)9: "当年学年度考核不得评为优秀,不得晋升职称和评优评先"): an
    unjustified refusal recorded for that school year bars it; the next year is free.
    School years are the jurisdiction's (``Facts.calendar``, the contract's by default)."""

    SCOPE: ClassVar[str] = "bars"

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common)

    def at_least_as_strict(self, old: NotRefusedHeadTeacherPost) -> bool:
        return True  # the rule has no parameters: identical

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        year = facts.calendar.school_year_of(on)
        first, last = facts.calendar.span(year)
        base.window = {"school_year": str(year), "from": first.isoformat(), "to": last.isoformat()}
        # Known by the day judged: a refusal recorded for the year but dated later is not yet one.
        that_year = [
            r for r in facts.refusals if r.post == "head_teacher" and r.school_year == str(year) and r.on <= on
        ]
        barring = [r for r in that_year if not r.justified]
        base.unit, base.required, base.actual = "unjustified refusals", 0, len(barring)
        base.met = not barring
        base.evidence = [
            {
                "event_id": r.event_id,
                "position": r.position,
                "post": r.post,
                "school_year": r.school_year,
                "on": r.on.isoformat(),
                "justified": r.justified,
            }
            for r in sorted(that_year, key=lambda r: (r.on, r.event_id))
        ]
        if barring:
            free = facts.calendar.span(SchoolYear(year.first + 1))[0]
            base.missing = {"refusals": len(barring), "school_year": str(year), "free_from": free.isoformat()}
            base.note = f"an unjustified refusal of the head-teacher post is recorded for school year {year}"
        elif that_year:
            base.note = f"the refusal recorded for school year {year} was justified"
        else:
            base.note = f"no refusal of a head-teacher post is recorded for school year {year}"
        return base


@kind("credit_ratio")
@dataclass(frozen=True)
class CreditRatio(Rule):
    hours_per_credit: Decimal = Decimal(1)

    PARAMS: ClassVar[frozenset[str]] = frozenset({"hours_per_credit"})
    SCOPE: ClassVar[str] = "informs"

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common, hours_per_credit=r.decimal("hours_per_credit"))

    def params(self) -> dict[str, Any]:
        return {"hours_per_credit": self.hours_per_credit}

    def at_least_as_strict(self, old: CreditRatio) -> bool:
        return True  # informational: a region sets its own ratio

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        total = sum((c.hours for c in _done(facts, on)), Decimal(0))
        base.unit, base.required, base.met = "hours per credit", format_hours(self.hours_per_credit), True
        base.actual = format_hours(credits_for(total, self.hours_per_credit))
        base.note = (
            f"informational: {format_hours(self.hours_per_credit)} h make one credit; "
            f"actual is the learner's credits from {format_hours(total)} h"
        )
        return base


@kind("service_milestone")
@dataclass(frozen=True)
class ServiceMilestone(Rule):
    """Years of service in ``role`` (and the roles in ``counting``, such as the intern year
    of a head teacher) reach the milestone asked (``years``, one of ``milestones``), counted
    by calendar anniversaries with spells summed (seed 001 二(五)12: 担任班主任工作满 N 年).
    Asked without ``years``: the highest milestone reached, else the next one."""

    role: str = "head_teacher"
    counting: frozenset[str] = frozenset()
    milestones: tuple[int, ...] = ()

    PARAMS: ClassVar[frozenset[str]] = frozenset({"role", "counting", "milestones"})
    ASKS: ClassVar[frozenset[str]] = frozenset({"years"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        role = r.code("role", ROLES)
        counting = r.codes("counting", ROLES, required=False) or frozenset()
        raw = r.data.get("milestones")
        if not isinstance(raw, list) or not raw or len(raw) > 20:
            raise RuleInvalid("must be a non-empty list of at most 20 whole numbers of years", field=r.at("milestones"))
        for index, value in enumerate(raw):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
                raise RuleInvalid(
                    "must be a whole number of years from 1 to 60", field=f"{r.at('milestones')}[{index}]"
                )
        milestones = tuple(sorted(set(raw)))
        return cls(**common, role=role, counting=counting | {role}, milestones=milestones)

    def params(self) -> dict[str, Any]:
        return {"role": self.role, "counting": sorted(self.counting), "milestones": list(self.milestones)}

    def at_least_as_strict(self, old: ServiceMilestone) -> bool:
        return self.role == old.role and self.counting <= old.counting and set(self.milestones) >= set(old.milestones)

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        return self.judge_asked(facts, on, base, {})

    def spells(self, facts: Facts, on: date) -> list[RoleFact]:
        return [r for r in facts.roles if r.role in self.counting and r.since <= on]

    def judge_asked(self, facts: Facts, on: date, base: Requirement, asked: Mapping[str, int]) -> Requirement:
        spells = self.spells(facts, on)
        runs = [(r.since, r.until) for r in spells]
        served = years_served(runs, on)
        wanted = asked.get("years")
        if wanted is None:
            reached_ones = [m for m in self.milestones if m <= served]
            wanted = reached_ones[-1] if reached_ones else self.milestones[0]
        reached = service_reached(runs, 12 * wanted)
        base.unit, base.required, base.actual = "years of service", wanted, served
        base.met = wanted in self.milestones and reached is not None and reached <= on
        base.evidence = _spell_evidence(spells)
        if reached is not None:
            base.window = {"reached_on": reached.isoformat()}
        if wanted not in self.milestones:
            base.note = f"no honour at {wanted} years; honours at {', '.join(map(str, self.milestones))} years"
            base.missing = {"years": wanted, "due": None}
        elif not base.met:
            base.missing = {"years": wanted, "due": reached.isoformat() if reached else None}
        return base


# -- parsing and strictness ------------------------------------------------------------


def parse_rule(data: Any, path: str = "rule") -> Rule:
    r = FieldReader(data, path)
    kind = r.data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise RuleKindUnknown(f"{kind!r} is not one of {', '.join(KINDS)}", field=r.at("kind"))
    extra = sorted(set(r.data) - _COMMON - KINDS[kind].PARAMS)
    if extra:
        raise RuleInvalid(f"a {kind} rule takes no field {extra[0]}", field=r.at(extra[0]))
    targets = r.data.get("targets")
    if not isinstance(targets, list) or not targets:
        raise RuleInvalid("must be a non-empty list of target names", field=r.at("targets"))
    for index, target in enumerate(targets):
        if not isinstance(target, str) or not _NAME.fullmatch(target):
            raise RuleInvalid(
                "a target is a lower-case name such as teacher_cycle", field=f"{r.at('targets')}[{index}]"
            )
    src = FieldReader(r.data.get("source"), r.at("source"))
    src.keys(_SOURCE)
    applies = FieldReader({} if r.data.get("applies_to") is None else r.data["applies_to"], r.at("applies_to"))
    applies.keys(_APPLIES_TO)
    years_in_role: YearsInRole | None = None
    if applies.has("years_in_role"):
        served = FieldReader(applies.data["years_in_role"], applies.at("years_in_role"))
        served.keys(_YEARS_IN_ROLE)
        years_in_role = YearsInRole(served.code("role", ROLES), served.integer("at_least", high=60))
    replaces: RuleRef | None = None
    if r.has("replaces"):
        ref = FieldReader(r.data["replaces"], r.at("replaces"))
        ref.keys(_REPLACES)
        replaces = RuleRef(ref.identifier("policy_id", POLICY_ID_LENGTH), ref.text("rule", pattern=_NAME))
    elif r.flag("loosens"):
        raise RuleInvalid("loosens needs replaces: the higher-level rule it loosens", field=r.at("loosens"))
    common: dict[str, Any] = {
        "id": r.text("id", pattern=_NAME),
        "kind": kind,
        "targets": tuple(sorted(set(targets))),
        "source": Source(src.text("document"), src.text("article", max_length=100)),
        "applies_to": AppliesTo(
            applies.codes("roles", ROLES, required=False) or frozenset(),
            applies.integer("hired_within_months", high=600) if applies.has("hired_within_months") else None,
            years_in_role,
            applies.day("hired_on_or_after") if applies.has("hired_on_or_after") else None,
            applies.day("hired_before") if applies.has("hired_before") else None,
        ),
        "note": r.text("note", max_length=2000, multiline=True) if r.has("note") else None,
        "assumed": r.text("assumed", max_length=300) if r.has("assumed") else None,
        "replaces": replaces,
        "loosens": r.flag("loosens"),
    }
    return KINDS[kind].read(r, common)


def at_least_as_strict(new: Rule, old: Rule) -> bool:
    """Whether whoever meets ``new`` also meets ``old`` (see the module invariants)."""
    return type(new) is type(old) and new.at_least_as_strict(old)
