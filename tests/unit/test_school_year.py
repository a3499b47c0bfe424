"""School years and terms as the contract writes them (API.md, "Decided details of 1.1")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.school_year import DEFAULT_CALENDAR, Calendar, SchoolYear, parse_school_year, parse_term


def test_the_school_year_2026_2027_runs_september_to_august() -> None:
    year = parse_school_year("2026-2027")
    assert str(year) == "2026-2027"
    assert DEFAULT_CALENDAR.span(year) == (date(2026, 9, 1), date(2027, 8, 31))
    autumn, spring = year.terms()
    assert str(autumn) == "2026-2027-1" and str(spring) == "2026-2027-2"
    assert DEFAULT_CALENDAR.term_span(autumn) == (date(2026, 9, 1), date(2027, 1, 31))
    assert DEFAULT_CALENDAR.term_span(spring) == (date(2027, 2, 1), date(2027, 8, 31))
    assert DEFAULT_CALENDAR.plan_deadline(year) == date(2027, 3, 20)


@pytest.mark.parametrize("text", ["2026-2028", "2026/2027", "２０２６-2027", "2026-2027 ", "0000-0001", 2026])
def test_only_the_written_form_of_consecutive_years_is_a_school_year(text: object) -> None:
    with pytest.raises(ValueError):
        parse_school_year(text)


@pytest.mark.parametrize("text", ["2026-2027-3", "2026-2027-0", "2026-2027", "2026-2028-1"])
def test_a_term_is_autumn_or_spring_of_a_school_year(text: str) -> None:
    with pytest.raises(ValueError):
        parse_term(text)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_falls_in_exactly_one_school_year_and_one_of_its_terms(day: date) -> None:
    for calendar in (DEFAULT_CALENDAR, Calendar(year_starts=(8, 15), spring_starts=(2, 20))):
        year = calendar.school_year_of(day)
        first, last = calendar.span(year)
        assert first <= day <= last
        term = calendar.term_of(day)
        assert term.school_year == year
        t_first, t_last = calendar.term_span(term)
        assert t_first <= day <= t_last
        autumn, spring = (calendar.term_span(t) for t in year.terms())
        assert autumn[0] == first and spring[1] == last and autumn[1] + timedelta(days=1) == spring[0]
        assert parse_term(str(term)) == term and parse_school_year(str(year)) == year == SchoolYear(year.first)
