"""School years (学年度) and terms (学期) as the contract writes them, and their spans of days.

A school year is written ``YYYY-YYYY`` (the second year the first plus one); a term is
``YYYY-YYYY-1`` (autumn) or ``YYYY-YYYY-2`` (spring). Unless a jurisdiction's policy says
otherwise (``Calendar``), school year Y1–Y2 runs 1 September Y1 to 31 August Y2, autumn
1 September Y1 to 31 January Y2, spring 1 February Y2 to 31 August Y2, a school's
training plan for Y1–Y2 is due by 20 March Y2, schools hold two school-based sessions a
week and a teacher attending under 80 % of them is below the threshold (API.md,
"Decided details of 1.1"; seed 003).

Invariants:
- ``parse_school_year``/``parse_term`` accept only the written form (ASCII digits, the
  years consecutive) and raise ``ValueError`` otherwise; ``str()`` gives the text back;
- the terms of a school year cover its span exactly, without gap or overlap;
- ``Calendar.school_year_of(day)`` is the one school year whose span holds ``day``;
- pure: no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

SCHOOL_YEAR_TEXT: Final = re.compile(r"([0-9]{4})-([0-9]{4})")
TERM_TEXT: Final = re.compile(r"([0-9]{4})-([0-9]{4})-([12])")


@dataclass(frozen=True, order=True)
class SchoolYear:
    #: The year the school year starts in (2026 for 2026-2027).
    first: int

    def __str__(self) -> str:
        return f"{self.first:04d}-{self.first + 1:04d}"

    def terms(self) -> tuple[Term, Term]:
        return Term(self, 1), Term(self, 2)


@dataclass(frozen=True, order=True)
class Term:
    school_year: SchoolYear
    #: 1: autumn (the first term), 2: spring.
    number: int

    def __str__(self) -> str:
        return f"{self.school_year}-{self.number}"


def parse_school_year(value: object) -> SchoolYear:
    if not isinstance(value, str) or (m := SCHOOL_YEAR_TEXT.fullmatch(value)) is None:
        raise ValueError("not a school year written YYYY-YYYY")
    first, second = int(m[1]), int(m[2])
    if second != first + 1 or not 1 <= first <= 9998:
        raise ValueError("a school year runs from one year to the next, e.g. 2026-2027")
    return SchoolYear(first)


def parse_term(value: object) -> Term:
    if not isinstance(value, str) or (m := TERM_TEXT.fullmatch(value)) is None:
        raise ValueError("not a term written YYYY-YYYY-1 (autumn) or YYYY-YYYY-2 (spring)")
    return Term(parse_school_year(f"{m[1]}-{m[2]}"), int(m[3]))


@dataclass(frozen=True)
class Calendar:
    """When a jurisdiction's school year and spring term start and its plans fall due,
    as (month, day) pairs, and what it asks of its schools' school-based training each
    term (sessions a week, the attendance threshold); the defaults are the contract's."""

    year_starts: tuple[int, int] = (9, 1)
    spring_starts: tuple[int, int] = (2, 1)
    plan_due: tuple[int, int] = (3, 20)
    #: School-based sessions a school holds each week (seed 003: Tuesday and Thursday).
    sessions_per_week: int = 2
    #: A teacher attending a smaller share of a term's sessions is below the threshold.
    attendance_threshold: Decimal = Decimal("0.80")

    def span(self, year: SchoolYear) -> tuple[date, date]:
        """``(first, last)`` day of the school year, both inclusive."""
        first = date(year.first, *self.year_starts)
        return first, date(year.first + 1, *self.year_starts) - timedelta(days=1)

    def term_span(self, term: Term) -> tuple[date, date]:
        first, last = self.span(term.school_year)
        spring = date(term.school_year.first + 1, *self.spring_starts)
        return (first, spring - timedelta(days=1)) if term.number == 1 else (spring, last)

    def school_year_of(self, day: date) -> SchoolYear:
        start = date(day.year, *self.year_starts)
        return SchoolYear(day.year if day >= start else day.year - 1)

    def term_of(self, day: date) -> Term:
        year = self.school_year_of(day)
        spring = date(year.first + 1, *self.spring_starts)
        return Term(year, 1 if day < spring else 2)

    def plan_deadline(self, year: SchoolYear) -> date:
        """The last day a plan for ``year`` counts as filed on time (in its second calendar year)."""
        return date(year.first + 1, *self.plan_due)


DEFAULT_CALENDAR: Final = Calendar()
