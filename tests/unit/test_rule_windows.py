"""The rule parts of issue 13: school-year and term windows under a jurisdiction's calendar,
years of service by calendar anniversary, ``applies_to`` by years in a role and hire date
(unknown keys refused by field path), topics counted beside categories, the calendar a
policy states and the one in force."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import errors
from ledger.credits import ratio_of, with_credits
from ledger.eligibility import CompletionFact, Facts, RoleFact, calendar_of, evaluate
from ledger.policy import parse_policy
from ledger.rule_parts import Window, add_years, service_reached, years_served
from ledger.rules import parse_rule
from ledger.school import school_terms_for
from ledger.school_year import DEFAULT_CALENDAR, Calendar
from tests.unit.ledger_examples import new_bank


def policy(jurisdiction: str, rules: list[dict[str, Any]], **extra: Any) -> Any:
    return parse_policy(
        {
            "policy_id": f"p-{jurisdiction}",
            "version": 1,
            "jurisdiction": jurisdiction,
            "effective_from": "2020-01-01",
            "title": "t",
            "rules": rules,
            **extra,
        }
    )


def rule(**fields: Any) -> dict[str, Any]:
    return {
        "id": "r",
        "kind": "min_hours",
        "targets": ["t"],
        "hours": "10",
        "window": {"kind": "calendar_year"},
        "source": {"document": "d", "article": "1"},
        **fields,
    }


def test_school_year_and_term_windows_current_and_previous() -> None:
    on = date(2027, 3, 1)  # spring of 2026-2027
    assert Window("school_year").span(on, None) == (date(2026, 9, 1), date(2027, 8, 31))
    assert Window("school_year", previous=True).span(on, None) == (date(2025, 9, 1), date(2026, 8, 31))
    assert Window("term").span(on, None) == (date(2027, 2, 1), date(2027, 8, 31))
    assert Window("term", previous=True).span(on, None) == (date(2026, 9, 1), date(2027, 1, 31))
    autumn = date(2026, 10, 1)
    assert Window("term", previous=True).span(autumn, None) == (date(2026, 2, 1), date(2026, 8, 31))
    own = Calendar(year_starts=(8, 20), spring_starts=(2, 15))
    assert Window("school_year").span(date(2026, 8, 25), None, own) == (date(2026, 8, 20), date(2027, 8, 19))


def test_a_policy_states_its_calendar_and_the_nearest_one_is_in_force() -> None:
    city = policy("330300", [rule()], calendar={"year_starts": "08-25"})
    district = policy("330302", [rule()], calendar={"plan_due": "03-31"})
    national = policy("CN", [rule()])
    assert city.calendar == Calendar(year_starts=(8, 25))
    assert calendar_of([national, city, district], "330302", date(2026, 1, 1)).plan_due == (3, 31)
    assert calendar_of([national, city], "330302", date(2026, 1, 1)).year_starts == (8, 25)
    assert calendar_of([national], "330302", date(2026, 1, 1)) == DEFAULT_CALENDAR
    assert parse_policy(city.as_data()) == city  # the calendar survives the event's plain data
    for bad, path in (
        ({"year_starts": "9-1"}, "calendar.year_starts"),
        ({"year_starts": "02-29"}, "calendar.year_starts"),
        ({"spring_starts": "10-01"}, "calendar.spring_starts"),
        ({"term_starts": "09-01"}, "calendar.term_starts"),
        ({"sessions_per_week": 0}, "calendar.sessions_per_week"),
        ({"sessions_per_week": "2"}, "calendar.sessions_per_week"),
        ({"attendance_threshold": 0.9}, "calendar.attendance_threshold"),
        ({"attendance_threshold": "1.5"}, "calendar.attendance_threshold"),
        ({"attendance_threshold": "0.805"}, "calendar.attendance_threshold"),
    ):
        with pytest.raises(errors.DomainError) as refused:
            policy("330300", [rule()], calendar=bad)
        assert refused.value.field == path


def test_a_policy_states_what_it_asks_of_its_schools_and_the_inspection_reads_it() -> None:
    # Seed 003 and API.md 1.1: twice a week and 80 % unless the jurisdiction's policy says otherwise.
    assert (DEFAULT_CALENDAR.sessions_per_week, DEFAULT_CALENDAR.attendance_threshold) == (2, Decimal("0.80"))
    county = policy("220106", [rule()], calendar={"sessions_per_week": 1, "attendance_threshold": "0.9"})
    assert county.calendar == Calendar(sessions_per_week=1, attendance_threshold=Decimal("0.90"))
    assert parse_policy(county.as_data()) == county
    terms = school_terms_for(calendar_of([county], "220106", date(2026, 12, 1)))
    assert (terms.sessions_per_week, terms.attendance_threshold) == (1, Decimal("0.90"))


def test_thirty_years_land_on_the_anniversary_and_a_gap_pushes_it_back() -> None:
    assert service_reached([(date(1996, 9, 1), None)], 360) == date(2026, 9, 1)
    # 365-day blocks (counting the first day) said 2026-08-24: 8 days early, one per leap day.
    assert date(1996, 9, 1) + timedelta(days=30 * 365 - 1) == date(2026, 8, 24)
    gap = [(date(2000, 9, 1), date(2004, 8, 31)), (date(2005, 9, 1), None)]
    assert service_reached(gap, 120) == date(2011, 9, 1)
    assert service_reached([(date(2000, 9, 1), date(2004, 8, 31))], 120) is None  # ended first
    assert years_served(gap, date(2011, 8, 31)) == 9 and years_served(gap, date(2011, 9, 1)) == 10
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


@given(
    st.dates(date(1970, 1, 1), date(2030, 12, 31)),
    st.integers(1, 40),
    st.lists(st.integers(1, 400), max_size=4),
)
def test_service_never_lands_before_the_anniversary(start: date, years: int, gaps: list[int]) -> None:
    spells: list[tuple[date, date | None]] = []
    since = start
    for gap in gaps:
        until = add_years(since, 1)
        spells.append((since, until))
        since = until + timedelta(days=gap + 1)
    spells.append((since, None))
    reached = service_reached(spells, 12 * years)
    assert reached is not None and reached >= add_years(start, years)
    assert years_served(spells, reached) >= years > years_served(spells, reached - timedelta(days=1))


def test_applies_to_by_years_in_a_role_and_by_hire_date() -> None:
    head = policy(
        "CN",
        [
            rule(id="five", applies_to={"roles": ["principal"], "years_in_role": {"role": "principal", "at_least": 5}}),
            rule(id="new", targets=["u"], applies_to={"hired_on_or_after": "2026-09-01", "hired_before": "2027-09-01"}),
        ],
    )
    facts = Facts("P", "220106", date(2026, 9, 1), (RoleFact("principal", date(2021, 8, 1)),))
    assert evaluate("t", facts, [head], date(2026, 7, 31))["applies"] is False
    assert evaluate("t", facts, [head], date(2026, 8, 1))["applies"] is True
    assert evaluate("u", facts, [head], date(2026, 12, 1))["applies"] is True
    earlier = Facts("Q", "220106", date(2026, 8, 31))
    assert evaluate("u", earlier, [head], date(2026, 12, 1))["eligible"] is None
    assert parse_policy(head.as_data()) == head


@pytest.mark.parametrize(
    ("applies_to", "path"),
    [
        ({"grades": [1]}, "rule.applies_to.grades"),
        ({"years_in_role": {"role": "principal"}}, "rule.applies_to.years_in_role.at_least"),
        (
            {"years_in_role": {"role": "principal", "at_least": 5, "continuous": True}},
            "rule.applies_to.years_in_role.continuous",
        ),
        ({"years_in_role": {"role": "janitor", "at_least": 5}}, "rule.applies_to.years_in_role.role"),
        ({"hired_before": "2026-13-01"}, "rule.applies_to.hired_before"),
    ],
)
def test_unknown_or_bad_applies_to_is_refused_by_field_path(applies_to: dict[str, Any], path: str) -> None:
    with pytest.raises(errors.DomainError) as refused:
        parse_rule(rule(applies_to=applies_to))
    assert refused.value.field == path


def test_topics_count_beside_categories_only_where_the_rule_names_them() -> None:
    data = rule(kind="category_present", categories=["ethics"], topics=["职业道德", "师德"], count=1)
    del data["hours"]
    with_topics = policy("CN", [data])
    without = policy("CN", [{k: v for k, v in data.items() if k != "topics"}])
    module = CompletionFact(
        "e", 1, "principal_qualification", "national", Decimal(24), date(2026, 3, 1), ("校长职业道德专题",)
    )
    facts = Facts("P", "220106", None, (), (module,))
    assert evaluate("t", facts, [with_topics], date(2026, 6, 1))["eligible"] is True
    assert evaluate("t", facts, [without], date(2026, 6, 1))["eligible"] is False
    with pytest.raises(errors.DomainError) as refused:
        parse_rule({**data, "topics": ["ok", ""]})
    assert refused.value.field == "rule.topics[1]"


def test_credits_beside_hours_where_a_ratio_is_set_and_marked_assumed() -> None:
    ratio_rule = {
        "id": "credit-ratio",
        "kind": "credit_ratio",
        "targets": ["t"],
        "hours_per_credit": "10",
        "assumed": "1 学分 = 10 学时",
        "source": {"document": "d", "article": "五"},
    }
    versions = [policy("220106", [ratio_rule])]
    ratio = ratio_of(versions, "220106", date(2026, 1, 1))
    assert ratio is not None and ratio.as_dict()["assumed"] is True
    assert ratio_of(versions, "330300", date(2026, 1, 1)) is None
    shown = with_credits({"total": {"hours": "95.5", "events": []}, "by_year": [{"hours": "0.05"}]}, ratio)
    assert shown["total"]["credits"] == "9.55" and shown["by_year"][0]["credits"] == "0"


def test_the_write_side_gives_the_calendar_in_force_from_the_store() -> None:
    bank = new_bank()
    try:
        assert bank.calendar("330302", date(2026, 12, 1)) == DEFAULT_CALENDAR
        city = policy("330300", [rule()], calendar={"year_starts": "08-25", "plan_due": "03-31"}).as_data()
        bank.publish_policy({**city, "version": None, "effective_from": "2026-01-01"})
        in_force = bank.calendar("330302", date(2026, 12, 1))
        assert in_force.year_starts == (8, 25) and in_force.plan_due == (3, 31)
        assert bank.calendar("330302", date(2025, 12, 31)) == DEFAULT_CALENDAR  # before it took effect
        assert bank.calendar("220106", date(2026, 12, 1)) == DEFAULT_CALENDAR  # another city
    finally:
        bank.close()
