"""Typed policy rules, parsed from plain data and turned back into it.

Invariants:
- ``parse_rule(data, path)`` either returns a rule or raises a ``DomainError`` naming the
  field path (``rules[2].hours``); a rule never holds an unknown kind, category, level,
  role or certificate code, nor hours that are not an exact decimal above 0;
- ``rule.as_data()`` is plain data (str, int, bool, ``Decimal``, ``date``, lists, dicts)
  and ``parse_rule(rule.as_data())`` gives the same rule back, so a rule stored in an
  event or a read model is the rule that was published;
- ``at_least_as_strict(new, old)`` is True only when every learner who meets ``new``
  also meets ``old``; anything it cannot prove is treated as a loosening.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from ledger.errors import HoursInvalid, RuleInvalid, RuleKindUnknown, UnknownCode
from ledger.grammar import NAME, check_text, identifier_problem
from ledger.hours import exact_decimal
from ledger.vocabulary import CATEGORIES, CERTIFICATES, LEVELS, ROLES

WINDOWS: Final = ("calendar_year", "cycle", "after_hire", "before_date")
_NAME = NAME
_CENT: Final = Decimal("0.01")
#: No amount in a rule is larger (hours, years, hours per credit): more is a typing error,
#: and would overflow the dates it is turned into.
MAX_AMOUNT: Final = Decimal(10_000)
#: A policy id: the grammar of identifiers (``ledger.grammar``).
POLICY_ID_LENGTH: Final = 64


@dataclass(frozen=True)
class Source:
    document: str
    article: str


@dataclass(frozen=True)
class RuleRef:
    """A rule of another (higher-level) policy: ``policy_id`` and the rule's ``id``."""

    policy_id: str
    rule: str


@dataclass(frozen=True)
class AppliesTo:
    #: The learner holds one of these roles on the date judged (empty: everyone).
    roles: frozenset[str] = frozenset()
    #: The learner was hired fewer than this many months before the date judged.
    hired_within_months: int | None = None


@dataclass(frozen=True)
class Window:
    """The span of days a rule counts in, relative to the date judged (``on``)."""

    kind: str
    anchor_year: int | None = None  # cycle: the first year of some cycle
    years: int | None = None  # cycle: its length
    months: int | None = None  # after_hire, before_date (None: no lower bound)
    #: calendar_year, cycle: the last complete one before the date judged, not the current one.
    previous: bool = False

    def span(self, on: date, hired_on: date | None) -> tuple[date, date] | None:
        """``(first, last)`` day, both inclusive; None when it cannot be placed (no hire date)."""
        back = 1 if self.previous else 0
        if self.kind == "calendar_year":
            return date(on.year - back, 1, 1), date(on.year - back, 12, 31)
        if self.kind == "cycle":
            assert self.anchor_year is not None and self.years is not None
            start = self.anchor_year + ((on.year - self.anchor_year) // self.years - back) * self.years
            return date(start, 1, 1), date(start + self.years - 1, 12, 31)
        if self.kind == "after_hire":
            if hired_on is None:
                return None
            assert self.months is not None
            return hired_on, add_months(hired_on, self.months) - timedelta(days=1)
        first = date.min if self.months is None else add_months(on, -self.months) + timedelta(days=1)
        return first, on

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in ("anchor_year", "years", "months"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.previous:
            data["period"] = "previous"
        return data


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the last day of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


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

    def params(self) -> dict[str, Any]:
        return {}

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


def _codes(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


@dataclass(frozen=True)
class MinHours(Rule):
    window: Window = Window("calendar_year")
    hours: Decimal = Decimal(0)
    categories: frozenset[str] | None = None  # None: every category counts
    levels: frozenset[str] | None = None

    def params(self) -> dict[str, Any]:
        return {"window": self.window.as_data(), "hours": self.hours,
                "categories": _codes(self.categories), "levels": _codes(self.levels)}


@dataclass(frozen=True)
class CategoryPresent(Rule):
    window: Window = Window("calendar_year")
    categories: frozenset[str] = frozenset()
    count: int = 1

    def params(self) -> dict[str, Any]:
        return {"window": self.window.as_data(), "categories": sorted(self.categories),
                "count": self.count}


@dataclass(frozen=True)
class MinHoursEachYear(Rule):
    years: int = 1
    hours: Decimal = Decimal(0)
    categories: frozenset[str] | None = None
    levels: frozenset[str] | None = None
    #: Whether the year of the date judged is one of the N (it is not over yet).
    include_current: bool = False

    def params(self) -> dict[str, Any]:
        return {"years": self.years, "hours": self.hours, "categories": _codes(self.categories),
                "levels": _codes(self.levels), "include_current": self.include_current}


@dataclass(frozen=True)
class RoleHeldYears(Rule):
    role: str = "teacher"
    years: Decimal = Decimal(0)

    def params(self) -> dict[str, Any]:
        return {"role": self.role, "years": self.years}


@dataclass(frozen=True)
class CertificateHeld(Rule):
    certificate: str = ""

    def params(self) -> dict[str, Any]:
        return {"certificate": self.certificate}


@dataclass(frozen=True)
class NotRefusedHeadTeacherPost(Rule):
    pass


@dataclass(frozen=True)
class CreditRatio(Rule):
    hours_per_credit: Decimal = Decimal(1)

    def params(self) -> dict[str, Any]:
        return {"hours_per_credit": self.hours_per_credit}


KINDS: Final[dict[str, type[Rule]]] = {
    "min_hours": MinHours,
    "category_present": CategoryPresent,
    "min_hours_each_year": MinHoursEachYear,
    "role_held_years": RoleHeldYears,
    "certificate_held": CertificateHeld,
    "not_refused_head_teacher_post": NotRefusedHeadTeacherPost,
    "credit_ratio": CreditRatio,
}

_COMMON: Final = frozenset({"id", "kind", "targets", "source", "applies_to", "note", "replaces", "loosens"})
_PARAMS: Final[dict[str, frozenset[str]]] = {
    "min_hours": frozenset({"window", "hours", "categories", "levels"}),
    "category_present": frozenset({"window", "categories", "count"}),
    "min_hours_each_year": frozenset({"years", "hours", "categories", "levels", "include_current"}),
    "role_held_years": frozenset({"role", "years"}),
    "certificate_held": frozenset({"certificate"}),
    "not_refused_head_teacher_post": frozenset(),
    "credit_ratio": frozenset({"hours_per_credit"}),
}


_SOURCE: Final = frozenset({"document", "article"})
_APPLIES_TO: Final = frozenset({"roles", "hired_within_months"})
_REPLACES: Final = frozenset({"policy_id", "rule"})


# -- parsing -------------------------------------------------------------------------


class _Reader:
    """Typed access to one mapping, every refusal naming its field path."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise RuleInvalid("must be an object", field=path)
        self.data, self.path = data, path

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def keys(self, allowed: frozenset[str]) -> None:
        """Refuse a key this object does not take (an unknown key is never dropped silently)."""
        extra = sorted(str(k) for k in self.data if k not in allowed)
        if extra:
            raise RuleInvalid(f"takes no field {extra[0]} (only {', '.join(sorted(allowed))})",
                              field=self.at(extra[0]))

    def text(self, name: str, *, pattern: re.Pattern[str] | None = None, max_length: int = 500,
             multiline: bool = False) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise RuleInvalid(f"must be a non-empty string of at most {max_length} characters", field=self.at(name))
        if pattern is not None and not pattern.fullmatch(value):
            raise RuleInvalid("must be lower-case letters, digits, and _ . - only", field=self.at(name))
        return check_text(value, self.at(name), max_length=max_length, multiline=multiline,
                          error=RuleInvalid).strip()

    def identifier(self, name: str, max_length: int) -> str:
        value = self.data.get(name)
        problem = identifier_problem(value, max_length=max_length)
        if problem is not None:
            raise RuleInvalid(problem, field=self.at(name))
        assert isinstance(value, str)
        return value

    def integer(self, name: str, *, low: int = 1, high: int = 10_000) -> int:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RuleInvalid(f"must be a whole number from {low} to {high}", field=self.at(name))
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            raise RuleInvalid("must be true or false", field=self.at(name))
        return value

    def decimal(self, name: str, high: Decimal = MAX_AMOUNT) -> Decimal:
        value = self.data.get(name)
        where = self.at(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            # A binary float is not the decimal the author meant; policies send strings.
            raise HoursInvalid('must be an exact decimal, written as a string such as "90"', field=where)
        amount = exact_decimal(value, field=where)
        if amount <= 0:
            raise HoursInvalid("must be a decimal above 0", field=where)
        if amount > high:
            raise HoursInvalid(f"must be at most {high}", field=where)
        return amount.quantize(_CENT)

    def codes(self, name: str, known: Mapping[str, str], *, required: bool) -> frozenset[str] | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, list) or not value:
            raise RuleInvalid("must be a non-empty list of codes", field=self.at(name))
        for index, code in enumerate(value):
            if not isinstance(code, str) or code not in known:
                raise UnknownCode(f"{code!r} is not one of {', '.join(known)}", field=f"{self.at(name)}[{index}]")
        return frozenset(value)

    def code(self, name: str, known: Mapping[str, str]) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or value not in known:
            raise UnknownCode(f"{value!r} is not one of {', '.join(known)}", field=self.at(name))
        return value


def _window(data: Any, path: str) -> Window:
    r = _Reader(data, path)
    kind = r.data.get("kind")
    if not isinstance(kind, str) or kind not in WINDOWS:
        raise RuleInvalid(f"window kind must be one of {', '.join(WINDOWS)}", field=r.at("kind"))
    allowed = {"calendar_year": {"kind", "period"}, "cycle": {"kind", "anchor_year", "years", "period"},
               "after_hire": {"kind", "months"}, "before_date": {"kind", "months"}}[kind]
    extra = sorted(set(r.data) - allowed)
    if extra:
        raise RuleInvalid(f"a {kind} window takes no {extra[0]}", field=r.at(extra[0]))
    period = r.data.get("period", "current")
    if not isinstance(period, str) or period not in ("current", "previous"):
        raise RuleInvalid("period is current or previous", field=r.at("period"))
    previous = period == "previous"
    if kind == "cycle":
        return Window(kind, previous=previous, anchor_year=r.integer("anchor_year", low=1949, high=2100),
                      years=r.integer("years", high=20))
    if kind == "after_hire":
        return Window(kind, months=r.integer("months", high=600))
    if kind == "before_date":
        return Window(kind, months=r.integer("months", high=600) if r.has("months") else None)
    return Window(kind, previous=previous)


def parse_rule(data: Any, path: str = "rule") -> Rule:
    r = _Reader(data, path)
    kind = r.data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise RuleKindUnknown(f"{kind!r} is not one of {', '.join(KINDS)}", field=r.at("kind"))
    extra = sorted(set(r.data) - _COMMON - _PARAMS[kind])
    if extra:
        raise RuleInvalid(f"a {kind} rule takes no field {extra[0]}", field=r.at(extra[0]))
    targets = r.data.get("targets")
    if not isinstance(targets, list) or not targets:
        raise RuleInvalid("must be a non-empty list of target names", field=r.at("targets"))
    for index, target in enumerate(targets):
        if not isinstance(target, str) or not _NAME.fullmatch(target):
            raise RuleInvalid("a target is a lower-case name such as teacher_cycle",
                              field=f"{r.at('targets')}[{index}]")
    src = _Reader(r.data.get("source"), r.at("source"))
    src.keys(_SOURCE)
    applies = _Reader({} if r.data.get("applies_to") is None else r.data["applies_to"], r.at("applies_to"))
    applies.keys(_APPLIES_TO)
    replaces: RuleRef | None = None
    if r.has("replaces"):
        ref = _Reader(r.data["replaces"], r.at("replaces"))
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
    if kind == "min_hours":
        return MinHours(**common, window=_window(r.data.get("window"), r.at("window")), hours=r.decimal("hours"),
                        categories=r.codes("categories", CATEGORIES, required=False),
                        levels=r.codes("levels", LEVELS, required=False))
    if kind == "category_present":
        categories = r.codes("categories", CATEGORIES, required=True)
        assert categories is not None
        return CategoryPresent(**common, window=_window(r.data.get("window"), r.at("window")),
                               categories=categories, count=r.integer("count") if r.has("count") else 1)
    if kind == "min_hours_each_year":
        return MinHoursEachYear(**common, years=r.integer("years", high=50), hours=r.decimal("hours"),
                                categories=r.codes("categories", CATEGORIES, required=False),
                                levels=r.codes("levels", LEVELS, required=False),
                                include_current=r.flag("include_current"))
    if kind == "role_held_years":
        return RoleHeldYears(**common, role=r.code("role", ROLES), years=r.decimal("years", high=Decimal(60)))
    if kind == "certificate_held":
        return CertificateHeld(**common, certificate=r.code("certificate", CERTIFICATES))
    if kind == "credit_ratio":
        return CreditRatio(**common, hours_per_credit=r.decimal("hours_per_credit"))
    return NotRefusedHeadTeacherPost(**common)


# -- strictness ------------------------------------------------------------------------


def _subset(new: frozenset[str] | None, old: frozenset[str] | None) -> bool:
    """Counting from fewer categories is stricter; None counts every category."""
    return old is None or (new is not None and new <= old)


def at_least_as_strict(new: Rule, old: Rule) -> bool:
    """Whether whoever meets ``new`` also meets ``old`` (see the module invariants)."""
    if type(new) is not type(old):
        return False
    if isinstance(new, MinHours) and isinstance(old, MinHours):
        return (new.window == old.window and new.hours >= old.hours
                and _subset(new.categories, old.categories) and _subset(new.levels, old.levels))
    if isinstance(new, CategoryPresent) and isinstance(old, CategoryPresent):
        return new.window == old.window and new.categories <= old.categories and new.count >= old.count
    if isinstance(new, MinHoursEachYear) and isinstance(old, MinHoursEachYear):
        return (new.years >= old.years and new.hours >= old.hours and new.include_current == old.include_current
                and _subset(new.categories, old.categories) and _subset(new.levels, old.levels))
    if isinstance(new, RoleHeldYears) and isinstance(old, RoleHeldYears):
        return new.role == old.role and new.years >= old.years
    if isinstance(new, CertificateHeld) and isinstance(old, CertificateHeld):
        return new.certificate == old.certificate
    # not_refused: identical; credit_ratio: informational, a region sets its own ratio.
    return True
