"""A rule kind is one class: its parameters, parsing, judging and strictness together,
registered with ``@kind``; the policy parser, the strictness check, the verdict and the HTTP
schema's enum all follow from it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from api.service.policy_schemas import RuleDocSchema
from ledger.eligibility import CompletionFact, Facts, evaluate
from ledger.errors import RuleInvalid, RuleKindUnknown
from ledger.facts import Requirement
from ledger.policy import parse_policy
from ledger.rule_parts import FieldReader
from ledger.rules import KINDS, Rule, at_least_as_strict, kind, parse_rule

ON = date(2026, 11, 26)


@dataclass(frozen=True)
class MinCompletions(Rule):
    """A kind made in a test: at least ``count`` completions, whenever."""

    count: int = 1

    PARAMS: ClassVar[frozenset[str]] = frozenset({"count"})

    @classmethod
    def read(cls, r: FieldReader, common: dict[str, Any]) -> Rule:
        return cls(**common, count=r.integer("count"))

    def params(self) -> dict[str, Any]:
        return {"count": self.count}

    def at_least_as_strict(self, old: MinCompletions) -> bool:
        return self.count >= old.count

    def judge(self, facts: Facts, on: date, base: Requirement) -> Requirement:
        done = [c for c in facts.completions if c.completed_on <= on]
        base.unit, base.required, base.actual, base.met = "completions", self.count, len(done), len(done) >= self.count
        return base


def rule_data(count: object = 2) -> dict[str, Any]:
    return {
        "id": "two_courses",
        "kind": "min_completions",
        "targets": ["test_target"],
        "count": count,
        "source": {"document": "a test", "article": "1"},
    }


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "min_completions", MinCompletions)  # removed again after the test
    assert kind("min_completions")(MinCompletions) is MinCompletions  # what ``@kind`` does


def test_the_shipped_kinds_and_the_schema_enum_are_the_registry() -> None:
    assert list(KINDS) == [
        "min_hours",
        "category_present",
        "min_hours_each_year",
        "role_held_years",
        "certificate_held",
        "not_refused_head_teacher_post",
        "credit_ratio",
        "service_milestone",
    ]
    assert RuleDocSchema().fields["kind"].metadata["enum"] == list(KINDS)


@pytest.mark.usefixtures("registered")
def test_one_class_is_a_new_kind_parsed_judged_and_compared() -> None:
    rule = parse_rule(rule_data(), "rules[0]")
    assert isinstance(rule, MinCompletions) and rule.count == 2
    assert parse_rule(rule.as_data()) == rule
    with pytest.raises(RuleInvalid) as refused:
        parse_rule({**rule_data(), "hours": "3"}, "rules[0]")
    assert refused.value.field == "rules[0].hours"
    assert at_least_as_strict(replace(rule, count=3), rule) and not at_least_as_strict(rule, replace(rule, count=3))

    policy = replace(
        parse_policy(
            {
                "policy_id": "test-policy",
                "jurisdiction": "CN",
                "effective_from": "2020-01-01",
                "title": "a test",
                "rules": [rule_data()],
            }
        ),
        version=1,
    )
    one = CompletionFact("00000000-0000-0000-0000-000000000001", 1, "ethics", "national", Decimal(2), date(2026, 1, 5))
    verdict = evaluate("test_target", Facts("T-1", "220106", completions=(one,)), [policy], ON)
    [requirement] = verdict["requirements"]
    assert (requirement["kind"], requirement["required"], requirement["actual"]) == ("min_completions", 2, 1)
    assert verdict["eligible"] is False


def test_an_unregistered_kind_is_refused_naming_the_field() -> None:
    with pytest.raises(RuleKindUnknown) as refused:
        parse_rule(rule_data(), "rules[0]")
    assert refused.value.field == "rules[0].kind"
