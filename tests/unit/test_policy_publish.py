"""Publishing policy versions: validation with field paths, versions, idempotence."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from ledger import errors
from ledger.application import CreditBank
from ledger.policy import shipped_policies
from ledger.store import memory_environment


@pytest.fixture
def bank() -> CreditBank:
    bank = CreditBank(memory_environment(), today=lambda: date(2026, 11, 26))
    bank.publish_shipped_policies()
    return bank


def district(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(next(d for d in shipped_policies() if d["jurisdiction"] == "220106"))
    data.update(changes)
    return data


def test_shipped_policies_publish_once(bank: CreditBank) -> None:
    again = bank.publish_shipped_policies()
    assert again and all(w.status == "duplicate" for w in again)
    assert bank.policy("cn-principal-training").versions[0].effective_from == date(2013, 8, 29)
    # District rules are the demo's, not a new bank's.
    with pytest.raises(errors.PolicyNotFound):
        bank.policy("220106-teacher-training")


@pytest.mark.parametrize(
    ("path", "value", "error", "field"),
    [
        (("rules", 0, "kind"), "max_hours", errors.RuleKindUnknown, "rules[0].kind"),
        (("rules", 0, "categories"), ["cooking"], errors.UnknownCode, "rules[0].categories[0]"),
        (("rules", 1, "levels"), ["galactic"], errors.UnknownCode, "rules[1].levels[0]"),
        (("rules", 2, "hours"), "-90", errors.HoursInvalid, "rules[2].hours"),
        (("rules", 2, "hours"), "ninety", errors.HoursInvalid, "rules[2].hours"),
        (("rules", 0, "applies_to"), {"roles": ["janitor"]}, errors.UnknownCode, "rules[0].applies_to.roles[0]"),
    ],
)
def test_invalid_rules_are_refused_with_their_field_path(
    bank: CreditBank, path: tuple[Any, ...], value: Any, error: type[errors.DomainError], field: str
) -> None:
    data = district()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(error) as raised:
        bank.publish_policy(data)
    assert raised.value.field == field


def test_versions_must_not_overlap(bank: CreditBank) -> None:
    assert bank.publish_policy(district()).status == "recorded"
    assert bank.publish_policy(district()).status == "duplicate"
    with pytest.raises(errors.PolicyVersionsOverlap):
        bank.publish_policy(district(version=2, effective_from="2021-06-01"))
    with pytest.raises(errors.PolicyVersionConflict):
        bank.publish_policy(district(title="another text"))
    v2 = bank.publish_policy(district(version=2, effective_from="2024-01-01", title="v2"))
    assert v2.status == "recorded"
    assert [v.version for v in bank.policy("220106-teacher-training").versions] == [1, 2]


def test_an_explicit_end_after_the_next_start_is_an_overlap(bank: CreditBank) -> None:
    bank.publish_policy(district(policy_id="lv-x", effective_to="2025-12-31"))
    with pytest.raises(errors.PolicyVersionsOverlap):
        bank.publish_policy(district(policy_id="lv-x", version=2, effective_from="2025-06-01"))
    assert bank.publish_policy(district(policy_id="lv-x", version=2, effective_from="2026-01-01")).status == "recorded"


def test_jurisdiction_of_a_policy_never_changes(bank: CreditBank) -> None:
    bank.publish_policy(district())
    with pytest.raises(errors.PolicyJurisdictionChanged):
        bank.publish_policy(district(version=2, jurisdiction="220100", effective_from="2024-01-01"))


def loosening(hours: str, loosens: bool | None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "cycle-300h",
        "kind": "min_hours",
        "targets": ["teacher_cycle"],
        "window": {"kind": "cycle", "anchor_year": 2011, "years": 5},
        "hours": hours,
        "source": {"document": "test", "article": "1"},
        "replaces": {"policy_id": "cn-teacher-cycle", "rule": "cycle-360h"},
    }
    if loosens is not None:
        rule["loosens"] = loosens
    return district(policy_id="lv-loose", rules=[rule])


def test_a_silent_loosening_is_refused_an_explicit_one_is_recorded(bank: CreditBank) -> None:
    with pytest.raises(errors.LooseningNotExplicit) as raised:
        bank.publish_policy(loosening("300", None))
    assert raised.value.field == "rules[0].loosens"
    assert bank.publish_policy(loosening("300", True)).status == "recorded"
    # Tightening needs no flag.
    assert bank.publish_policy({**loosening("400", None), "policy_id": "lv-tight"}).status == "recorded"


def test_replacing_an_unknown_rule_is_refused(bank: CreditBank) -> None:
    data = loosening("400", None)
    data["rules"][0]["replaces"]["rule"] = "no-such-rule"
    with pytest.raises(errors.ReplacedRuleNotFound):
        bank.publish_policy(data)
