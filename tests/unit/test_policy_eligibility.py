"""Worked examples of verdicts under the shipped seed policies (pure ``evaluate``), and
properties: order of independent completions never matters; a passed completion never
turns an eligible verdict ineligible."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.eligibility import CompletionFact, Facts, RoleFact, evaluate, plan
from ledger.policy import PolicyVersion, parse_policy, shipped_policies
from ledger.vocabulary import CATEGORIES, LEVELS

ON = date(2026, 11, 26)
POLICIES = [replace(parse_policy(d), version=1) for d in shipped_policies()]
TARGETS = sorted({t for p in POLICIES for t in p.targets()})


def done(
    n: int, category: str, hours: str, on: date, level: str = "national", topics: tuple[str, ...] = ()
) -> CompletionFact:
    return CompletionFact(f"00000000-0000-0000-0000-{n:012d}", n, category, level, Decimal(hours), on, topics)


def prospective(hours: list[str]) -> Facts:
    # The last module is the ethics one: its topics name 职业道德 (000 §3).
    modules = [done(i + 1, "principal_qualification", h, date(2025, 3, 1)) for i, h in enumerate(hours)]
    modules[-1] = replace(modules[-1], topics=("校长职业道德专题",))
    return Facts(
        "P-1", "220106", date(2010, 9, 1), (RoleFact("prospective_principal", date(2024, 2, 20)),), tuple(modules)
    )


def test_299_5_hours_is_refused_and_told_half_an_hour_is_missing() -> None:
    verdict = evaluate("principal_appointment", prospective(["24"] * 12 + ["11.5"]), POLICIES, ON)
    assert verdict["eligible"] is False
    req, ethics = verdict["requirements"]
    assert ethics["rule"] == "appointment-ethics" and ethics["met"] is True
    assert (req["required"], req["actual"], req["met"]) == ("300", "299.5", False)
    assert req["source"]["article"] == "五" and "教师〔2013〕11号" in req["source"]["document"]
    assert req["missing"] == {"hours": {"principal_qualification": "0.5"}, "due": ON.isoformat()}
    assert len(req["evidence"]) == 13 and all("event_id" in e and "position" in e for e in req["evidence"])
    assert plan(verdict)[0]["hours"] == "0.5"


def test_one_revoked_completion_flips_the_verdict() -> None:
    facts = prospective(["24"] * 12 + ["12"])
    assert evaluate("principal_appointment", facts, POLICIES, ON)["eligible"] is True
    # The read side leaves revoked completions out of the facts.
    revoked = replace(facts, completions=facts.completions[1:])
    assert evaluate("principal_appointment", revoked, POLICIES, ON)["eligible"] is False


def test_a_past_date_ignores_later_events_and_later_rules() -> None:
    facts = Facts(
        "T-1",
        "220106",
        date(2015, 9, 1),
        (RoleFact("teacher", date(2015, 9, 1)),),
        (done(1, "online", "90", date(2021, 5, 1)), done(2, "online", "50", date(2024, 5, 1))),
    )
    # On 2021-12-31 the district plan (from 2022-01-02) was not in force: no rule defines the target.
    past = evaluate("teacher_annual", facts, POLICIES, date(2021, 12, 31))
    assert past["eligible"] is None and past["policies"] == []
    # In 2024 the plan is in force and only the 2024 hours count.
    assert evaluate("teacher_annual", facts, POLICIES, date(2024, 12, 31))["requirements"][0]["actual"] == "50"
    # Completions dated after the date judged never count.
    cycle = evaluate("teacher_cycle", facts, POLICIES, date(2021, 12, 31))
    assert cycle["requirements"][0]["actual"] == "90"


def test_a_district_rule_adds_to_the_national_one() -> None:
    facts = Facts(
        "T-2",
        "220106",
        date(2015, 9, 1),
        (RoleFact("teacher", date(2015, 9, 1)),),
        tuple(done(i, "school_based", "40", date(2023, 1 + i, 2)) for i in range(1, 10)),
    )
    national = evaluate("title_promotion", replace(facts, jurisdiction="330300"), POLICIES, ON)
    district = evaluate("title_promotion", facts, POLICIES, ON)
    assert national["eligible"] is True  # 360 h in the last cycle, no refusal recorded
    assert district["eligible"] is False  # the district also asks 90 h online each year
    assert {p["policy_id"] for p in district["policies"]} >= {"cn-teacher-cycle", "220106-teacher-training"}


def test_an_explicit_loosening_replaces_the_higher_rule_visibly() -> None:
    loose = parse_policy(
        {
            "policy_id": "lv-loose",
            "version": 1,
            "jurisdiction": "220106",
            "effective_from": "2024-01-01",
            "title": "t",
            "rules": [
                {
                    "id": "cycle-300h",
                    "kind": "min_hours",
                    "targets": ["teacher_cycle"],
                    "hours": "300",
                    "window": {"kind": "cycle", "anchor_year": 2011, "years": 5},
                    "source": {"document": "d", "article": "1"},
                    "loosens": True,
                    "replaces": {"policy_id": "cn-teacher-cycle", "rule": "cycle-360h"},
                }
            ],
        }
    )
    facts = Facts("T-3", "220106", date(2015, 9, 1), (), (done(1, "online", "320", date(2026, 3, 1)),))
    verdict = evaluate("teacher_cycle", facts, [*POLICIES, loose], ON)
    assert verdict["eligible"] is True
    [req] = verdict["requirements"]
    assert req["loosens"] is True and req["replaces"] == {"policy_id": "cn-teacher-cycle", "rule": "cycle-360h"}


def test_certificates_and_refusals_say_there_is_no_record_yet() -> None:
    facts = Facts(
        "H-1",
        "330300",
        date(2015, 9, 1),
        (
            RoleFact("teacher", date(2015, 9, 1)),
            RoleFact("intern_head_teacher", date(2019, 9, 1), date(2020, 8, 31)),
            RoleFact("head_teacher", date(2020, 9, 1)),
        ),
        (done(1, "head_teacher_pre_post", "16", date(2020, 8, 20)),),
    )
    verdict = evaluate("head_teacher_post", facts, POLICIES, ON)
    notes = {r["rule"]: (r["met"], r.get("note")) for r in verdict["requirements"]}
    assert notes["pre-post-certificate"] == (False, "no certificate record")
    assert notes["pre-post-training"][0] and notes["intern-year"][0]


completions = st.lists(
    st.builds(
        lambda n, cat, lvl, cents, days: CompletionFact(
            f"00000000-0000-0000-0000-{n:012d}", n, cat, lvl, Decimal(cents) / 100, ON - timedelta(days=days)
        ),
        st.integers(1, 10**9),
        st.sampled_from(sorted(CATEGORIES)),
        st.sampled_from(sorted(LEVELS)),
        st.integers(1, 20000),
        st.integers(0, 4000),
    ),
    max_size=25,
    unique_by=lambda c: c.event_id,
)


def facts_with(items: list[CompletionFact]) -> Facts:
    roles = (
        RoleFact("teacher", date(2012, 9, 1)),
        RoleFact("trainer", date(2014, 1, 1)),
        RoleFact("head_teacher", date(2016, 9, 1)),
    )
    return Facts("L-1", "220106", date(2012, 9, 1), roles, tuple(items))


@settings(max_examples=60, deadline=None)
@given(completions, st.randoms(use_true_random=False), st.sampled_from(TARGETS))
def test_verdict_does_not_depend_on_the_order_of_completions(
    items: list[CompletionFact], rng: object, target: str
) -> None:
    shuffled = list(items)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    # Recorded in another order, each completion gets another position; nothing else changes.
    renumbered = [replace(c, position=i) for i, c in enumerate(shuffled)]
    a = evaluate(target, facts_with(items), POLICIES, ON)
    b = evaluate(target, facts_with(renumbered), POLICIES, ON)
    assert a["eligible"] == b["eligible"] and a["missing"] == b["missing"]
    assert [(r["met"], r.get("actual")) for r in a["requirements"]] == [
        (r["met"], r.get("actual")) for r in b["requirements"]
    ]
    assert [[e["event_id"] for e in r.get("evidence", [])] for r in a["requirements"]] == [
        [e["event_id"] for e in r.get("evidence", [])] for r in b["requirements"]
    ]


@settings(max_examples=60, deadline=None)
@given(completions, completions, st.sampled_from(TARGETS))
def test_adding_a_passed_completion_never_makes_an_eligible_learner_ineligible(
    items: list[CompletionFact], more: list[CompletionFact], target: str
) -> None:
    known = {c.event_id for c in items}
    extra = [c for c in more if c.event_id not in known]
    before = evaluate(target, facts_with(items), POLICIES, ON)
    after = evaluate(target, facts_with(items + extra), POLICIES, ON)
    if before["eligible"] is True:
        assert after["eligible"] is True


def test_every_shipped_rule_cites_document_and_article() -> None:
    for policy in POLICIES:
        assert isinstance(policy, PolicyVersion)
        for rule in policy.rules:
            assert rule.source.document and rule.source.article
