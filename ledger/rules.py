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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeVar

from ledger.errors import RuleInvalid, RuleKindUnknown
from ledger.facts import CompletionFact, Facts, Requirement, category_key, counts, evidence, holds
from ledger.grammar import NAME
from ledger.hours import format_hours
from ledger.rule_parts import AppliesTo, FieldReader, RuleRef, Source, Window, read_window
from ledger.school_year import DEFAULT_CALENDAR, SchoolYear
from ledger.vocabulary import CERTIFICATES, LEVELS, ROLES
from ledger.vocabulary_document import OPEN_CATEGORIES

_NAME = NAME
#: A policy id: the grammar of identifiers (``ledger.grammar``).
POLICY_ID_LENGTH: Final = 64

_COMMON: Final = frozenset({"id", "kind", "targets", "source", "applies_to", "note", "replaces", "loosens"})
_SOURCE: Final = frozenset({"document", "article"})
_APPLIES_TO: Final = frozenset({"roles", "hired_within_months"})
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

    #: The fields a rule of this kind takes beyond the common ones (``_COMMON``).
    PARAMS: ClassVar[frozenset[str]] = frozenset()

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

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "targets": list(self.targets),
            "source": {"document": self.source.document, "article": self.source.article},
        }
        applies: dict[str, Any] = {}
        if self.applies_to.roles:
            applies["roles"] = sorted(self.applies_to.roles)
        if self.applies_to.hired_within_months is not None:
            applies["hired_within_months"] = self.applies_to.hired_within_months
        if applies:
            data["applies_to"] = applies
        data.update(self.params())
        if self.note:
            data["note"] = self.note
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


def _subset(new: frozenset[str] | None, old: frozenset[str] | None) -> bool:
    """Counting from fewer categories is stricter; None counts every category."""
    return old is None or (new is not None and new <= old)


def _done(facts: Facts, on: date) -> list[CompletionFact]:
    return [c for c in facts.completions if c.completed_on <= on]


@kind("min_hours")
@dataclass(frozen=True)
class MinHours(Rule):
    window: Window = Window("calendar_year")
    hours: Decimal = Decimal(0)
    categories: frozenset[str] | None = None  # None: every category counts
    levels: frozenset[str] | None = None

    PARAMS: ClassVar[frozenset[str]] = frozenset({"window", "hours", "categories", "levels"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(
            **common,
            window=read_window(r.data.get("window"), r.at("window")),
            hours=r.decimal("hours"),
            categories=r.codes("categories", OPEN_CATEGORIES, required=False),
            levels=r.codes("levels", LEVELS, required=False),
        )

    def params(self) -> dict[str, Any]:
        return {
            "window": self.window.as_data(),
            "hours": self.hours,
            "categories": _codes(self.categories),
            "levels": _codes(self.levels),
        }

    def at_least_as_strict(self, old: MinHours) -> bool:
        return (
            self.window == old.window
            and self.hours >= old.hours
            and _subset(self.categories, old.categories)
            and _subset(self.levels, old.levels)
        )

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        span = self.window.span(on, facts.hired_on)
        base.unit, base.required = "hours", format_hours(self.hours)
        if span is None:
            base.actual, base.met = "0", False
            base.missing = {"hours": {category_key(self.categories): format_hours(self.hours)}, "due": None}
            base.note = "no hired_on is recorded, so the window after hire cannot be placed"
            return base
        first, last = span
        base.window = (
            {"to": last.isoformat()} if first == date.min else {"from": first.isoformat(), "to": last.isoformat()}
        )
        counted = [
            c for c in _done(facts, on) if first <= c.completed_on <= last and counts(c, self.categories, self.levels)
        ]
        total = sum((c.hours for c in counted), Decimal(0))
        base.actual, base.met, base.evidence = format_hours(total), total >= self.hours, evidence(counted)
        if not base.met:
            due = last if last >= on else None
            base.missing = {
                "hours": {category_key(self.categories): format_hours(self.hours - total)},
                "due": due.isoformat() if due else None,
            }
            if due is None:
                base.note = f"the window closed on {last}; the hours can no longer be made up in it"
        return base


@kind("category_present")
@dataclass(frozen=True)
class CategoryPresent(Rule):
    window: Window = Window("calendar_year")
    categories: frozenset[str] = frozenset()
    count: int = 1

    PARAMS: ClassVar[frozenset[str]] = frozenset({"window", "categories", "count"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        categories = r.codes("categories", OPEN_CATEGORIES, required=True)
        assert categories is not None
        return cls(
            **common,
            window=read_window(r.data.get("window"), r.at("window")),
            categories=categories,
            count=r.integer("count") if r.has("count") else 1,
        )

    def params(self) -> dict[str, Any]:
        return {"window": self.window.as_data(), "categories": sorted(self.categories), "count": self.count}

    def at_least_as_strict(self, old: CategoryPresent) -> bool:
        return self.window == old.window and self.categories <= old.categories and self.count >= old.count

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        span = self.window.span(on, facts.hired_on)
        assert span is not None or self.window.kind == "after_hire"
        first, last = span if span is not None else (date.max, date.min)
        if first != date.min:
            base.window = {"from": first.isoformat(), "to": last.isoformat()}
        counted = [c for c in _done(facts, on) if first <= c.completed_on <= last and c.category in self.categories]
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
        days = sum(((min(r.until or on, on) - r.since).days + 1 for r in spells), 0)
        needed = int(self.years * 365)  # whole years of 365 days: a leap day never decides
        base.unit, base.required, base.actual = (
            "years",
            format_hours(self.years),
            format_hours((Decimal(days) / 365).quantize(Decimal("0.01"))),
        )
        base.met = days >= needed
        base.evidence = [
            {
                "event_id": r.event_id,
                "position": r.position,
                "role": r.role,
                "since": r.since.isoformat(),
                "until": r.until.isoformat() if r.until else None,
            }
            for r in sorted(spells, key=lambda r: (r.since, r.event_id or ""))
        ]
        if not base.met:
            holding = holds(facts, self.role, on)
            due = on + timedelta(days=needed - days) if holding else None
            base.missing = {"days": needed - days, "due": due.isoformat() if due else None}
            if not holding:
                base.note = f"the learner does not hold the role {self.role} on {on}"
        return base


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
    School years are the contract's default calendar (``ledger.school_year``)."""

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common)

    def at_least_as_strict(self, old: NotRefusedHeadTeacherPost) -> bool:
        return True  # the rule has no parameters: identical

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        year = DEFAULT_CALENDAR.school_year_of(on)
        first, last = DEFAULT_CALENDAR.span(year)
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
            free = DEFAULT_CALENDAR.span(SchoolYear(year.first + 1))[0]
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
        base.actual = format_hours((total / self.hours_per_credit).quantize(Decimal("0.01")))
        base.note = (
            f"informational: {format_hours(self.hours_per_credit)} h make one credit; "
            f"actual is the learner's credits from {format_hours(total)} h"
        )
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
        ),
        "note": r.text("note", max_length=2000, multiline=True) if r.has("note") else None,
        "replaces": replaces,
        "loosens": r.flag("loosens"),
    }
    return KINDS[kind].read(r, common)


def at_least_as_strict(new: Rule, old: Rule) -> bool:
    """Whether whoever meets ``new`` also meets ``old`` (see the module invariants)."""
    return type(new) is type(old) and new.at_least_as_strict(old)
