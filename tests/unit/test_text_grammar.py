"""Worked examples of the one grammar for ids and text (``ledger.grammar``): what the HTTP
schemas refuse, the ledger refuses too, so no caller can record what the read models
cannot store (a NUL, a lone surrogate), nor an id that collides with a tombstone or with
another id but for a trailing newline."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from api.service.degree_credit_schemas import mapping_schema
from api.service.fast_completion_items import fast_load_item, load_completion_item
from api.service.policy_schemas import cohort_query_schema, verdict_query_schema
from api.service.routes import path_problems
from api.service.schemas import revocation_schema
from api.service.write_schemas import completion_schema, learner_schema, provider_schema
from ledger.completion import CompletionFacts
from ledger.degree import Recognitions, parse_mapping
from ledger.errors import (
    DomainError,
    HoursInvalid,
    IdentifierInvalid,
    IdentifierReserved,
    PolicyInvalid,
    RuleInvalid,
    RuleKindUnknown,
    TextInvalid,
    UnknownCode,
)
from ledger.grammar import identifier_problem, text_problem
from ledger.policy import load_policy_file, parse_policy, shipped_policies
from ledger.transfer import Account
from tests.unit.ledger_examples import LI_HUA, college_accreditation, li_hua, new_bank

HOSTILE_TEXT = ["a\x00b", "a\ud800b", "\udfff", "a\x1bb", "a\u200bb", "line\u2028break", "a\rb", "\ufeffa"]


def _learner(**changes: Any) -> dict[str, Any]:
    body = {"learner_id": "220106201500009", "name": "王芳", "jurisdiction": "220106", "school": "绿园区第一实验小学"}
    body.update(changes)
    return body


def _completion(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "record_id": "r-1",
        "learner_id": "T-0001",
        "programme": {"code": "ETH-2024", "title": "师德师风专题", "category": "ethics", "level": "provincial"},
        "hours": "2.5",
        "assessment": "pass",
        "completed_on": "2024-05-10",
    }
    body.update(changes)
    return body


def _policy(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(next(p for p in shipped_policies() if p["policy_id"] == "cn-teacher-cycle"))
    body.update(changes)
    return body


def _rule(policy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    rule = next(r for r in policy["rules"] if r["kind"] == "min_hours")
    rule.update(changes)
    return policy


# -- identifiers match in full ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["r-1\n", "220106201500009\n", "r-1\r\n", "\nr-1", "r 1", "r-1\x00", "ｒ-1"])
def test_an_identifier_matches_in_full(value: str) -> None:
    assert identifier_problem(value) is not None
    with pytest.raises(ValidationError):
        completion_schema.load(_completion(record_id=value))
    # The compiled fast path declines it, and the schema refuses it.
    assert fast_load_item(_completion(record_id=value)) is None
    with pytest.raises(ValidationError):
        load_completion_item(_completion(record_id=value))


def test_a_trailing_newline_does_not_register_a_second_learner() -> None:
    errors = _refused(learner_schema, _learner(learner_id="220106201500009\n"))
    assert "learner_id" in errors
    bank = new_bank()
    with pytest.raises(IdentifierInvalid):
        bank.register_learner(li_hua(learner_id=LI_HUA + "\n"))


def test_a_trailing_newline_does_not_record_a_second_completion() -> None:
    facts = CompletionFacts(
        "jl-college", "r-1\n", LI_HUA, "ETH", "师德", "ethics", "provincial", Decimal("2"), "pass", date(2025, 3, 1)
    )
    with pytest.raises(IdentifierInvalid) as refused:
        facts.check(date(2026, 11, 26))
    assert refused.value.field == "record_id"


# -- reserved prefixes ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["erased:6f1c2a4e-9a7b-5d1e-8c3f-2b4a6d8e0f12", "erased:x", "ERASED:x"])
def test_a_learner_id_cannot_take_the_tombstone_prefix(value: str) -> None:
    assert "learner_id" in _refused(learner_schema, _learner(learner_id=value))
    bank = new_bank()
    with pytest.raises(IdentifierReserved) as refused:
        bank.register_learner(li_hua(learner_id=value))
    assert refused.value.code == "identifier_reserved" and refused.value.status == 422
    with pytest.raises(IdentifierReserved):
        bank.register_new_learners([li_hua(learner_id=value)])


def test_a_tombstone_is_still_a_path_to_read_an_erased_learner() -> None:
    assert path_problems({"learner_id": "erased:6f1c2a4e-9a7b-5d1e-8c3f-2b4a6d8e0f12"}) == {}


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_text_holds_no_control_format_or_surrogate_character(value: str) -> None:
    assert text_problem(value, max_length=100) is not None
    assert "name" in _refused(learner_schema, _learner(name=value))
    assert "name" in _refused(
        provider_schema,
        {
            "provider_id": "p1",
            "name": value,
            "jurisdiction": "220000",
            "accreditation": {"categories": ["ethics"], "levels": ["county"], "valid_from": "2020-01-01"},
        },
    )
    assert "reason" in _refused(revocation_schema, {"reason": value})
    bank = new_bank()
    with pytest.raises(TextInvalid):
        bank.register_learner(li_hua(name=value))
    with pytest.raises(TextInvalid):
        bank.accredit_provider(college_accreditation(name=value))


def test_the_ledger_refuses_text_the_read_models_cannot_store_in_every_command() -> None:
    bank = new_bank()
    bank.accredit_provider(college_accreditation())
    bank.register_learner(li_hua())
    with pytest.raises(TextInvalid):
        bank.suspend_provider("jl-college", "bad\x00reason")
    facts = CompletionFacts(
        "jl-college", "r-1", LI_HUA, "ETH", "师德\ud800", "ethics", "provincial", Decimal("2"), "pass", date(2025, 3, 1)
    )
    (outcome,) = bank.record_completions([facts])
    assert outcome.status == "rejected" and isinstance(outcome.error, TextInvalid)
    assert outcome.error.field == "programme.title"
    topics = CompletionFacts(
        "jl-college",
        "r-2",
        LI_HUA,
        "ETH",
        "师德",
        "ethics",
        "provincial",
        Decimal("2"),
        "pass",
        date(2025, 3, 1),
        topics=("ok", "x\x00"),
    )
    (outcome,) = bank.record_completions([topics])
    assert outcome.status == "rejected" and outcome.error is not None and outcome.error.field == "topics[1]"
    with pytest.raises(UnknownCode):
        bank.accredit_provider(college_accreditation(categories=("ethics\x00",)))


def test_multi_line_text_may_hold_newlines_and_tabs_where_it_is_multi_line() -> None:
    assert text_problem("one\ntwo\tthree", max_length=100, multiline=True) is None
    assert text_problem("one\ntwo", max_length=100) is not None
    assert text_problem("one\x00two", max_length=100, multiline=True) is not None


# -- policies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_a_policy_title_or_id_with_a_nul_or_a_surrogate_is_refused(value: str) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(_policy(title=value))
    assert refused.value.field == "title"
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(_policy(policy_id="cn" + value))
    assert refused.value.field == "policy_id"


def test_a_policy_id_matches_in_full() -> None:
    with pytest.raises(PolicyInvalid):
        parse_policy(_policy(policy_id="cn-teacher-cycle\n"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": ["min_hours"]}, "kind"),
        ({"kind": {"min_hours": 1}}, "kind"),
        ({"categories": [["online"]]}, "categories[0]"),
        ({"categories": [{"online": 1}]}, "categories[0]"),
        ({"levels": [["county"]]}, "levels[0]"),
        ({"applies_to": {"roles": [["teacher"]]}}, "applies_to.roles[0]"),
        ({"applies_to": {"roles": [{"teacher": True}]}}, "applies_to.roles[0]"),
        ({"applies_to": {"role": ["teacher"]}}, "applies_to.role"),
        ({"applies_to": {"roles": ["teacher"], "hired_after": "2020-01-01"}}, "applies_to.hired_after"),
        ({"source": {"document": "教师法", "article": "§1", "url": "x"}}, "source.url"),
        ({"window": {"kind": ["cycle"]}}, "window.kind"),
        ({"window": {"kind": "calendar_year", "period": ["previous"]}}, "window.period"),
        ({"id": "rule-1\n"}, "id"),
        ({"targets": ["teacher_cycle\n"]}, "targets[0]"),
        ({"note": "a\x00b"}, "note"),
        ({"hours": "1" + "0" * 24}, "hours"),
    ],
)
def test_a_malformed_rule_is_refused_naming_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises((RuleInvalid, RuleKindUnknown, UnknownCode, HoursInvalid)) as refused:
        parse_policy(_rule(_policy(), **changes))
    assert refused.value.field is not None and refused.value.field.startswith("rules[")
    assert refused.value.field.endswith("]." + field), refused.value.field


def test_a_rule_note_may_span_lines() -> None:
    parse_policy(_rule(_policy(), note="first line\nsecond line"))


@pytest.mark.parametrize("day", ["9999-12-31", "9999-06-01", "0001-01-01", "2101-01-01"])
def test_a_policy_version_starts_within_the_calendar_the_bank_judges_in(day: str) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(_policy(effective_from=day, effective_to=None))
    assert refused.value.field == "effective_from"


def test_every_shipped_policy_is_of_the_grammar() -> None:
    for data in shipped_policies():
        parse_policy(load_policy_file(json.dumps(data, default=str)))


# -- degree mappings ------------------------------------------------------------------------


def _mapping(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "university": "jlu",
        "programme": "mpa",
        "title": "公共管理硕士",
        "programme_credits": Decimal(36),
        "hours_per_credit": Decimal(16),
        "overall_cap": Decimal(12),
        "categories": [{"category": "ethics", "cap": None}],
        "levels": ["provincial"],
        "effective_from": date(2025, 1, 1),
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "a\x00b"}, "title"),
        ({"title": "a\ud800"}, "title"),
        ({"university": "jlu\n"}, "university"),
        ({"programme": "m:pa"}, "programme"),
        ({"categories": [{"category": ["ethics"], "cap": None}]}, "categories[0].category"),
        ({"categories": [{"category": "ethics\x00", "cap": None}]}, "categories[0].category"),
        ({"levels": [["provincial"]]}, "levels[0]"),
        ({"effective_from": date(9999, 1, 1)}, "effective_from"),
    ],
)
def test_the_ledger_refuses_a_mapping_the_read_models_could_not_store(changes: dict[str, Any], field: str) -> None:
    parse_mapping(_mapping())
    with pytest.raises(DomainError) as refused:
        parse_mapping(_mapping(**changes))
    assert refused.value.field == field


def test_the_mapping_schema_refuses_a_trailing_newline() -> None:
    body = {
        "university": "jlu\n",
        "programme": "mpa",
        "title": "公共管理硕士",
        "programme_credits": "36",
        "hours_per_credit": "16",
        "overall_cap": "12",
        "categories": [{"category": "ethics"}],
        "levels": ["provincial"],
        "effective_from": "2025-01-01",
    }
    assert "university" in _refused(mapping_schema, body)


# -- path and query parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["learner_id", "provider_id", "record_id", "policy_id", "certificate_id", "list_id", "transfer_id", "mapping_id"],
)
@pytest.mark.parametrize("value", ["a\x00b", "a\ud800", "a\n", "a b", "%ED%A0%80", ""])
def test_every_path_parameter_has_a_grammar(name: str, value: str) -> None:
    assert name in path_problems({name: value})


@pytest.mark.parametrize("school", ["a\x00b", "a\ud800"])
def test_a_cohort_school_with_a_nul_or_a_surrogate_is_refused(school: str) -> None:
    errors = _refused(cohort_query_schema, {"target": "teacher_cycle", "jurisdiction": "220106", "school": school})
    assert "school" in errors


def test_a_target_matches_in_full() -> None:
    assert "target" in _refused(verdict_query_schema, {"target": "teacher_cycle\n"})
    assert "jurisdiction" in _refused(cohort_query_schema, {"target": "teacher_cycle", "jurisdiction": "220106\n"})


def _refused(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    messages: dict[str, Any] = refused.value.messages  # type: ignore[assignment]
    return messages


# -- transfers and recognitions ---------------------------------------------------------------


def test_a_transfer_id_and_a_reversal_reason_follow_the_grammar() -> None:
    account = Account(learner_id="subject-1", jurisdiction="220106")
    with pytest.raises(IdentifierInvalid):
        account.transfer("t-1\n", "330300", date(2026, 1, 1), [])
    account.transfer("t-1", "330300", date(2026, 1, 1), [])
    with pytest.raises(TextInvalid):
        account.reverse("t-1", "oops\x00", date(2026, 2, 1))
    found = Recognitions(learner_id="subject-1")
    with pytest.raises(IdentifierInvalid):
        found.recognise("r\x00", "m", parse_mapping(_mapping()), date(2026, 1, 1), [])


def test_a_role_outside_the_vocabulary_is_refused_by_the_ledger() -> None:
    bank = new_bank()
    bank.register_learner(li_hua())
    with pytest.raises(UnknownCode):
        bank.start_role(LI_HUA, "teacher\x00", date(2026, 1, 1))
