"""Worked examples, one per shipped seed rule of issue 13, each citing its seed and article:
the verdict a learner gets under the shipped policies (pure ``evaluate``), with the
``assumed`` marks where a rule rests on the project's assumption rather than a seed's figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ledger.eligibility import CertificateFact, CompletionFact, Facts, RoleFact, as_appointed, evaluate
from ledger.policy import parse_policy, shipped_policies

POLICIES = [replace(parse_policy(d), version=1) for d in shipped_policies()]
WENZHOU = "330300"
LVYUAN = "220106"


def done(
    n: int, category: str, hours: str, on: date, *, level: str = "county", topics: tuple[str, ...] = ()
) -> CompletionFact:
    return CompletionFact(f"00000000-0000-0000-0000-{n:012d}", n, category, level, Decimal(hours), on, topics)


def requirement(verdict: dict[str, object], rule: str) -> dict[str, object]:
    found = [r for r in verdict["requirements"] if r["rule"] == rule]  # type: ignore[attr-defined]
    assert found, f"no requirement {rule} in {verdict}"
    return found[0]  # type: ignore[no-any-return]


def test_every_shipped_rule_cites_its_seed_and_says_whom_it_is_for() -> None:
    for policy in POLICIES:
        for rule in policy.rules:
            assert rule.source.document and rule.source.article
            # Certificates are issued to whoever meets their rule (cn-certificates' note).
            assert policy.policy_id == "cn-certificates" or rule.applies_to.as_data(), (policy.policy_id, rule.id)


# -- 001 二(一)1: Wenzhou's head_teacher_post -------------------------------------------


def intern(hired: date) -> Facts:
    return Facts(
        "W-1",
        WENZHOU,
        hired,
        (RoleFact("teacher", hired), RoleFact("intern_head_teacher", hired)),
        (done(1, "head_teacher_pre_post", "24", date(2026, 10, 15)),),
        (CertificateFact("head_teacher_post", date(2026, 11, 1), None, "c-1", 3),),
    )


def test_001_2_1_1_the_post_waits_for_the_intern_year_to_the_day() -> None:
    facts = intern(date(2026, 9, 1))
    before = evaluate("head_teacher_post", facts, POLICIES, date(2027, 8, 31))
    after = evaluate("head_teacher_post", facts, POLICIES, date(2027, 9, 1))
    year = requirement(before, "intern-year")
    assert year["met"] is False and year["missing"] == {"years": "1", "due": "2027-09-01"}
    assert year["source"] == {
        "document": "温州市教育局关于深化新时代中小学班主任队伍建设的实施意见(温教人〔2023〕23号)",
        "article": "二(一)1",
    }
    assert before["eligible"] is False
    assert after["eligible"] is True
    assert requirement(after, "pre-post-certificate")["met"] and requirement(after, "pre-post-training")["met"]


def test_001_2_1_1_a_year_as_head_teacher_is_not_the_intern_year() -> None:
    facts = Facts(
        "W-2",
        WENZHOU,
        date(2020, 9, 1),
        (RoleFact("teacher", date(2020, 9, 1)), RoleFact("head_teacher", date(2021, 9, 1))),
    )
    assert requirement(evaluate("head_teacher_post", facts, POLICIES, date(2026, 12, 1)), "intern-year")["met"] is False


# -- 001 二(一)2 + 002 三(二)2(8): probation ---------------------------------------------


def first_year(district: str, hired: date, hours: str) -> Facts:
    """A teacher hired on ``hired`` as intern head teacher, with ``hours`` of school-level
    training in the first months."""
    roles = (RoleFact("teacher", hired), RoleFact("intern_head_teacher", hired))
    return Facts("P-1", district, hired, roles, (done(1, "new_teacher", hours, date(2026, 11, 20), level="school"),))


@pytest.mark.parametrize(
    ("district", "intern_rule", "hours_rule"),
    [
        (WENZHOU, "probation-intern-year", "probation-first-year-hours"),
        (LVYUAN, "probation-intern-year", "new-teacher-120h"),
    ],
)
def test_001_2_1_2_and_002_probation_asks_the_intern_year_and_the_first_year_hours(
    district: str, intern_rule: str, hours_rule: str
) -> None:
    hired = date(2026, 8, 25)
    short = first_year(district, hired, "100")
    during = evaluate("probation", short, POLICIES, date(2026, 12, 1))
    assert during["eligible"] is False
    assert requirement(during, intern_rule)["met"] is False  # the intern year is not over
    assert (requirement(during, hours_rule)["actual"], requirement(during, hours_rule)["met"]) == ("100", False)
    assert requirement(during, hours_rule)["source"]["article"] == "三(二)2(8)"  # type: ignore[index]
    # The hours done, the verdict still waits for the intern year, to the day.
    full = first_year(district, hired, "120")
    assert evaluate("probation", full, POLICIES, date(2027, 8, 24))["eligible"] is False
    at_end = evaluate("probation", full, POLICIES, date(2027, 8, 25))
    assert at_end["eligible"] is True and at_end["assumed"] is True
    intern_req = requirement(at_end, intern_rule)
    assert intern_req["source"]["article"] == "二(一)2" and intern_req["assumed"] is True
    assert "试用期" in str(intern_req["assumption"])
    # Where a district's own seed gives no figure, the rule borrowed from the other says so.
    borrowed = intern_rule if district == LVYUAN else hours_rule
    assert "read for" in str(requirement(at_end, borrowed)["assumption"])
    # A teacher hired ten years ago is not on probation: the target is not for them.
    old = replace(full, hired_on=date(2016, 9, 1))
    assert evaluate("probation", old, POLICIES, date(2027, 9, 1))["eligible"] is None


# -- 001 二(五)12: head-teacher honours ------------------------------------------------


def head_teacher(since: date, intern_from: date | None = None) -> Facts:
    roles = [RoleFact("teacher", date(1990, 9, 1)), RoleFact("head_teacher", since)]
    if intern_from is not None:
        roles.append(RoleFact("intern_head_teacher", intern_from, since - (date(2000, 1, 2) - date(2000, 1, 1))))
    return Facts("W-3", WENZHOU, date(1990, 9, 1), tuple(roles))


def test_001_2_5_12_thirty_years_land_on_the_anniversary_not_8_days_early() -> None:
    facts = head_teacher(date(1996, 9, 1))
    assert (
        requirement(
            evaluate("head_teacher_honour", facts, POLICIES, date(2026, 8, 31), {"years": 30}), "head-teacher-honours"
        )["met"]
        is False
    )
    verdict = evaluate("head_teacher_honour", facts, POLICIES, date(2026, 9, 1), {"years": 30})
    req = requirement(verdict, "head-teacher-honours")
    assert (
        req["met"] is True and req["window"] == {"reached_on": "2026-09-01"} and req["source"]["article"] == "二(五)12"
    )


def test_001_2_5_12_the_25_year_award_counts_the_intern_year_an_assumption() -> None:
    facts = head_teacher(date(2002, 9, 1), intern_from=date(2001, 9, 1))
    verdict = evaluate("head_teacher_honour", facts, POLICIES, date(2026, 9, 1), {"years": 25})
    req = requirement(verdict, "head-teacher-honours")
    assert req["met"] is True and req["assumed"] is True and verdict["assumed"] is True
    # 15 years is no honour of the seed.
    assert (
        requirement(
            evaluate("head_teacher_honour", facts, POLICIES, date(2026, 9, 1), {"years": 15}), "head-teacher-honours"
        )["met"]
        is False
    )
    # Asked without years: the highest milestone reached (20 of 10, 20, 25, 30).
    assert (
        requirement(evaluate("head_teacher_honour", facts, POLICIES, date(2024, 1, 1)), "head-teacher-honours")[
            "required"
        ]
        == 20
    )


def test_001_2_5_12_a_gap_between_spells_pushes_the_anniversary_back() -> None:
    roles = (
        RoleFact("head_teacher", date(2014, 9, 1), date(2018, 8, 31)),
        RoleFact("head_teacher", date(2019, 9, 1)),  # a year out of the post
    )
    facts = Facts("W-4", WENZHOU, date(2000, 9, 1), (RoleFact("teacher", date(2000, 9, 1)), *roles))
    req = requirement(
        evaluate("head_teacher_honour", facts, POLICIES, date(2025, 8, 31), {"years": 10}), "head-teacher-honours"
    )
    assert req["met"] is False and req["missing"]["due"] == "2025-09-01"


# -- 004 §8: principals serving 5 years or more hold the improvement certificate ------------


def test_004_8_only_principals_serving_five_years_are_asked_for_the_certificate() -> None:
    since = date(2021, 8, 1)
    facts = Facts(
        "P-1", LVYUAN, date(2000, 8, 25), (RoleFact("teacher", date(2000, 8, 25)), RoleFact("principal", since))
    )
    fourth_year = evaluate("principal_improvement_certificate", facts, POLICIES, date(2026, 7, 31))
    assert fourth_year["eligible"] is None and fourth_year["applies"] is False
    fifth = evaluate("principal_improvement_certificate", facts, POLICIES, date(2026, 8, 1))
    req = requirement(fifth, "serving-5y-improvement-certificate")
    assert fifth["eligible"] is False and req["source"] == {"document": "教体局教师教育工作要点(2012)", "article": "8"}
    held = replace(facts, certificates=(CertificateFact("principal_improvement", date(2024, 6, 1), None, "c-2", 9),))
    assert evaluate("principal_improvement_certificate", held, POLICIES, date(2026, 8, 1))["eligible"] is True


# -- 000 §3, §5: principal appointment with ethics ---------------------------------------


def test_000_3_5_ethics_counts_by_category_or_by_a_topic_naming_it() -> None:
    hours = tuple(done(i, "principal_qualification", "25", date(2025, 3, i), level="national") for i in range(1, 13))
    facts = Facts("P-2", LVYUAN, date(2010, 9, 1), (RoleFact("prospective_principal", date(2024, 2, 20)),), hours)
    without = evaluate("principal_appointment", facts, POLICIES, date(2026, 12, 1))
    ethics = requirement(without, "appointment-ethics")
    assert without["eligible"] is False and ethics["met"] is False and ethics["source"]["article"] == "三、五"
    by_topic = replace(facts, completions=(*hours[:-1], replace(hours[-1], topics=("校长职业道德专题",))))
    assert evaluate("principal_appointment", by_topic, POLICIES, date(2026, 12, 1))["eligible"] is True
    by_category = replace(facts, completions=(*hours, done(20, "ethics", "2", date(2025, 4, 1))))
    assert evaluate("principal_appointment", by_category, POLICIES, date(2026, 12, 1))["eligible"] is True


# -- 000 §7: full-time trainers a month a year -------------------------------------------


def test_000_7_full_time_trainers_a_month_a_year_part_time_not_bound() -> None:
    on = date(2026, 12, 1)
    hours = (done(1, "trainer", "150", date(2026, 5, 1)),)
    full = Facts("R-1", LVYUAN, date(2010, 9, 1), (RoleFact("full_time_trainer", date(2010, 9, 1)),), hours)
    verdict = evaluate("trainer_annual", full, POLICIES, on)
    req = requirement(verdict, "trainer-one-month")
    assert verdict["eligible"] is False and req["required"] == "160" and req["assumed"] is True
    assert "160" in req["assumption"] and req["source"]["article"] == "七"
    legacy = replace(full, roles=(RoleFact("trainer", date(2010, 9, 1)),))
    assert evaluate("trainer_annual", legacy, POLICIES, on)["eligible"] is False  # trainer means full time
    part = replace(full, roles=(RoleFact("part_time_trainer", date(2010, 9, 1)),))
    assert evaluate("trainer_annual", part, POLICIES, on)["eligible"] is None


# -- the teacher cycle (no seed) and the credit ratio (assumed) ------------------------------


def test_the_teacher_cycle_says_it_comes_from_no_seed() -> None:
    facts = Facts("T-1", LVYUAN, date(2015, 9, 1), (RoleFact("teacher", date(2015, 9, 1)),))
    verdict = evaluate("teacher_cycle", facts, POLICIES, date(2026, 12, 1))
    assert verdict["assumed"] is True and "no seed" in requirement(verdict, "cycle-360h")["assumption"]
    # The principal cycle is seed 000's own figure: not assumed.
    principal = replace(facts, roles=(RoleFact("principal", date(2015, 9, 1)),))
    assert evaluate("principal_cycle", principal, POLICIES, date(2026, 12, 1))["assumed"] is False


def test_000_5_a_teacher_appointed_principal_is_judged_as_the_principal_they_would_be() -> None:
    teacher = Facts("T-9", LVYUAN, date(2010, 9, 1), (RoleFact("teacher", date(2010, 9, 1)),))
    on = date(2026, 12, 1)
    # Not yet a (prospective) principal: the appointment rules are not for them as they stand...
    assert evaluate("principal_appointment", teacher, POLICIES, on)["eligible"] is None
    # ...but an appointment judges the candidate as holding the post from its start (持证上岗).
    verdict = evaluate("principal_appointment", as_appointed(teacher, "principal", on), POLICIES, on)
    assert verdict["eligible"] is False
    assert {m["rule"] for m in verdict["missing"]} == {"qualification-300h", "appointment-ethics"}


def test_001_2_4_9_a_refusal_bar_alone_does_not_make_an_honour_apply() -> None:
    teacher = Facts("W-5", WENZHOU, date(2000, 9, 1), (RoleFact("teacher", date(2000, 9, 1)),))
    on = date(2026, 12, 1)
    # Not a head teacher: the honour is not for them, though the refusal bar applies to teachers.
    assert evaluate("head_teacher_honour", teacher, POLICIES, on, {"years": 25})["eligible"] is None
    # appraisal_excellent has only the bar: it is for whom the bar is for.
    assert evaluate("appraisal_excellent", teacher, POLICIES, on)["eligible"] is True
