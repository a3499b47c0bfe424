"""The parts every policy rule is made of (source, scope, window) and the reader that
parses them from plain data.

Invariants:
- ``FieldReader`` either returns a typed value or raises a ``DomainError`` naming the field
  path (``rules[2].hours``); it never drops an unknown key silently (``keys``);
- a ``Window`` is placed relative to the day judged; ``span`` gives inclusive days, or None
  when it cannot be placed (no hire date); school years and terms are those of the
  jurisdiction's ``Calendar`` (``ledger.school_year``);
- years of service are calendar anniversaries (``service_reached``): N years after a start
  on 1996-09-01 are reached on 2026-09-01, never a count of 365-day blocks; the days between
  spells push the anniversary back, so spells are summed, not required continuous;
- amounts are exact two-place decimals (``ledger.hours.exact_decimal``), never floats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from ledger.days import parse_day
from ledger.errors import HoursInvalid, RuleInvalid, UnknownCode
from ledger.grammar import check_text, identifier_problem
from ledger.hours import exact_decimal
from ledger.school_year import DEFAULT_CALENDAR, Calendar, SchoolYear, Term

WINDOWS: Final = ("calendar_year", "cycle", "after_hire", "before_date", "school_year", "term")
_CENT: Final = Decimal("0.01")
#: No amount in a rule is larger (hours, years, hours per credit): more is a typing error,
#: and would overflow the dates it is turned into.
MAX_AMOUNT: Final = Decimal(10_000)


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
class YearsInRole:
    """At least ``at_least`` years of service in ``role`` by the date judged (anniversaries)."""

    role: str
    at_least: int


@dataclass(frozen=True)
class AppliesTo:
    #: The learner holds one of these roles on the date judged (empty: everyone).
    roles: frozenset[str] = frozenset()
    #: The learner was hired fewer than this many months before the date judged.
    hired_within_months: int | None = None
    #: The learner has served at least so many years in a role by the date judged.
    years_in_role: YearsInRole | None = None
    #: The learner was hired on or after this day.
    hired_on_or_after: date | None = None
    #: The learner was hired before this day.
    hired_before: date | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.roles:
            data["roles"] = sorted(self.roles)
        if self.hired_within_months is not None:
            data["hired_within_months"] = self.hired_within_months
        if self.years_in_role is not None:
            data["years_in_role"] = {"role": self.years_in_role.role, "at_least": self.years_in_role.at_least}
        if self.hired_on_or_after is not None:
            data["hired_on_or_after"] = self.hired_on_or_after
        if self.hired_before is not None:
            data["hired_before"] = self.hired_before
        return data


@dataclass(frozen=True)
class Window:
    """The span of days a rule counts in, relative to the date judged (``on``)."""

    kind: str
    anchor_year: int | None = None  # cycle: the first year of some cycle
    years: int | None = None  # cycle: its length
    months: int | None = None  # after_hire, before_date (None: no lower bound)
    #: calendar_year, cycle, school_year, term: the one before the date judged, not the current one.
    previous: bool = False

    def span(self, on: date, hired_on: date | None, calendar: Calendar = DEFAULT_CALENDAR) -> tuple[date, date] | None:
        """``(first, last)`` day, both inclusive; None when it cannot be placed (no hire date).
        School years and terms are ``calendar``'s (the jurisdiction's, ``Facts.calendar``)."""
        back = 1 if self.previous else 0
        if self.kind == "calendar_year":
            return date(on.year - back, 1, 1), date(on.year - back, 12, 31)
        if self.kind == "school_year":
            year = calendar.school_year_of(on)
            return calendar.span(SchoolYear(year.first - back))
        if self.kind == "term":
            term = calendar.term_of(on)
            if self.previous:
                term = (
                    Term(term.school_year, 1) if term.number == 2 else Term(SchoolYear(term.school_year.first - 1), 2)
                )
            return calendar.term_span(term)
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

    def named(self, first: date, calendar: Calendar = DEFAULT_CALENDAR) -> dict[str, str]:
        """The school year or term a span starting on ``first`` is (``{}`` for other kinds),
        as a verdict's ``window`` names it."""
        if self.kind == "school_year":
            return {"school_year": str(calendar.school_year_of(first))}
        if self.kind == "term":
            return {"term": str(calendar.term_of(first))}
        return {}

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for name in ("anchor_year", "years", "months"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.previous:
            data["period"] = "previous"
        return data


def add_years(day: date, years: int) -> date:
    """The anniversary ``years`` after ``day`` (29 February: 28 February of a common year)."""
    return add_months(day, 12 * years)


def merged_spells(spells: Iterable[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    """Spells (``until`` None: still held) as disjoint runs in date order; overlapping or
    adjoining spells (an intern year followed by the post) are one run."""
    runs: list[tuple[date, date | None]] = []
    for since, until in sorted(spells, key=lambda s: s[0]):
        if runs:
            first, last = runs[-1]
            if last is None or since <= last + timedelta(days=1):
                runs[-1] = (first, None if last is None or until is None else max(last, until))
                continue
        runs.append((since, until))
    return runs


def service_reached(spells: Iterable[tuple[date, date | None]], months: int) -> date | None:
    """The day service in ``spells`` reaches ``months`` months: the calendar anniversary of
    the first start, pushed back by the days between spells (spells are summed). None when
    the spells end first (the learner no longer serves)."""
    gap = 0
    previous_end: date | None = None
    runs = merged_spells(spells)
    if not runs:
        return None
    start = runs[0][0]
    for since, until in runs:
        if previous_end is not None:
            gap += (since - previous_end).days - 1
        reached = add_months(start, months) + timedelta(days=gap)
        if until is None or reached <= until + timedelta(days=1):
            return reached
        previous_end = until
    return None


def years_served(spells: Iterable[tuple[date, date | None]], on: date) -> int:
    """Whole years of service by ``on`` (anniversaries, spells summed)."""
    known = [(s, u) for s, u in spells if s <= on]
    years = 0
    while (reached := service_reached(known, 12 * (years + 1))) is not None and reached <= on:
        years += 1
    return years


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


class FieldReader:
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
            raise RuleInvalid(f"takes no field {extra[0]} (only {', '.join(sorted(allowed))})", field=self.at(extra[0]))

    def text(
        self, name: str, *, pattern: re.Pattern[str] | None = None, max_length: int = 500, multiline: bool = False
    ) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise RuleInvalid(f"must be a non-empty string of at most {max_length} characters", field=self.at(name))
        if pattern is not None and not pattern.fullmatch(value):
            raise RuleInvalid("must be lower-case letters, digits, and _ . - only", field=self.at(name))
        return check_text(value, self.at(name), max_length=max_length, multiline=multiline, error=RuleInvalid).strip()

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

    def day(self, name: str) -> date:
        value = self.data.get(name)
        if isinstance(value, date):
            return value
        try:
            return parse_day(value)
        except ValueError:
            raise RuleInvalid("must be a date YYYY-MM-DD", field=self.at(name)) from None

    def month_day(self, name: str) -> tuple[int, int]:
        """A day of the year written ``MM-DD`` (never 29 February: it is not in every year)."""
        value = self.data.get(name)
        try:
            if not isinstance(value, str) or not re.fullmatch(r"[0-9]{2}-[0-9]{2}", value) or value == "02-29":
                raise ValueError(value)
            month, day_ = int(value[:2]), int(value[3:])
            date(2001, month, day_)
        except ValueError:
            raise RuleInvalid("must be a day of the year written MM-DD, such as 09-01", field=self.at(name)) from None
        return month, day_

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


def read_window(data: Any, path: str) -> Window:
    r = FieldReader(data, path)
    kind = r.data.get("kind")
    if not isinstance(kind, str) or kind not in WINDOWS:
        raise RuleInvalid(f"window kind must be one of {', '.join(WINDOWS)}", field=r.at("kind"))
    allowed = {
        "calendar_year": {"kind", "period"},
        "cycle": {"kind", "anchor_year", "years", "period"},
        "after_hire": {"kind", "months"},
        "before_date": {"kind", "months"},
        "school_year": {"kind", "period"},
        "term": {"kind", "period"},
    }[kind]
    extra = sorted(set(r.data) - allowed)
    if extra:
        raise RuleInvalid(f"a {kind} window takes no {extra[0]}", field=r.at(extra[0]))
    period = r.data.get("period", "current")
    if not isinstance(period, str) or period not in ("current", "previous"):
        raise RuleInvalid("period is current or previous", field=r.at("period"))
    previous = period == "previous"
    if kind == "cycle":
        return Window(
            kind,
            previous=previous,
            anchor_year=r.integer("anchor_year", low=1949, high=2100),
            years=r.integer("years", high=20),
        )
    if kind == "after_hire":
        return Window(kind, months=r.integer("months", high=600))
    if kind == "before_date":
        return Window(kind, months=r.integer("months", high=600) if r.has("months") else None)
    return Window(kind, previous=previous)
