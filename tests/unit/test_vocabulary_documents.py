"""Jurisdiction vocabularies as versioned documents, as worked examples.

Changchun (220100) adds a category ``special_education`` 特殊教育 from 2026-01-01. The
Nanguan district centre (220102, under Changchun) may then be accredited for it, and a
completion of it counts for Li Hua (220106, under Changchun), but not for a Wenzhou
teacher (330300): the code is Changchun's, in force there and below only.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import (
    CodeNotInForce,
    UnknownCode,
    VocabularyCodeTaken,
    VocabularyInvalid,
    VocabularyVersionsOverlap,
)
from ledger.vocabulary import LABELS
from ledger.vocabulary_commands import publish_vocabulary
from ledger.vocabulary_document import parse_vocabulary
from tests.unit.ledger_examples import (
    district_accreditation,
    li_hua,
    new_bank,
    school_session,
)

SPECIAL = {"special_education": {"zh": "特殊教育", "en": "special education"}}


def changchun(**changes):
    data = {"jurisdiction": "220100", "effective_from": "2026-01-01", "categories": SPECIAL}
    data.update(changes)
    return data


def special_session(record_id, **changes):
    return school_session(record_id, category="special_education", **changes)


def bank_with_changchun_vocabulary():
    bank = new_bank()
    assert publish_vocabulary(bank, changchun()).status == "recorded"
    bank.accredit_provider(district_accreditation(categories=("school_based", "special_education")))
    bank.register_learner(li_hua())
    bank.register_learner(li_hua(learner_id="T330300199001010011", jurisdiction="330300", school="温州市第一中学"))
    return bank


def test_every_national_code_has_a_chinese_and_an_english_label():
    for codes in LABELS.values():
        for label in codes.values():
            assert label.zh and label.en
    assert LABELS["role"]["intern_head_teacher"].zh == "见习班主任"
    assert LABELS["role"]["trainer"].en == "trainer (full time)"
    assert list(LABELS["appraisal_grade"]) == ["excellent", "competent", "basically_competent", "incompetent"]


def test_a_completion_of_an_added_category_counts_under_the_jurisdiction_that_added_it():
    bank = bank_with_changchun_vocabulary()
    [outcome] = bank.record_completions([special_session("SE-1")])
    assert outcome.status == "recorded"


def test_the_added_category_is_refused_for_a_learner_elsewhere():
    bank = bank_with_changchun_vocabulary()
    [outcome] = bank.record_completions([special_session("SE-2", learner_id="T330300199001010011")])
    assert outcome.status == "rejected"
    assert isinstance(outcome.error, CodeNotInForce)
    assert outcome.error.field == "programme.category"
    assert "330300" in str(outcome.error)


def test_a_category_no_document_adds_is_an_unknown_code():
    bank = bank_with_changchun_vocabulary()
    [outcome] = bank.record_completions([school_session("SE-3", category="enterprise_practice")])
    assert isinstance(outcome.error, UnknownCode)


def test_a_provider_outside_may_not_be_accredited_for_the_added_category():
    bank = bank_with_changchun_vocabulary()
    with pytest.raises(UnknownCode):
        bank.accredit_provider(
            district_accreditation(provider_id="wz-centre", jurisdiction="330300", categories=("special_education",))
        )


def test_before_the_version_starts_the_code_is_not_in_force():
    bank = bank_with_changchun_vocabulary()
    [outcome] = bank.record_completions([special_session("SE-4", completed_on=date(2025, 12, 31))])
    assert isinstance(outcome.error, UnknownCode)


def test_a_batch_mixes_national_and_added_categories():
    bank = bank_with_changchun_vocabulary()
    outcomes = bank.record_completions([school_session("SB-1"), special_session("SE-5"), school_session("SB-2")])
    assert [o.status for o in outcomes] == ["recorded", "recorded", "recorded"]


def test_the_same_content_again_is_a_duplicate_at_the_same_position():
    bank = new_bank()
    first = publish_vocabulary(bank, changchun())
    again = publish_vocabulary(bank, changchun())
    assert again.status == "duplicate"
    assert again.position == first.position


def test_versions_follow_the_one_versioning_rule():
    bank = new_bank()
    publish_vocabulary(bank, changchun())
    with pytest.raises(VocabularyVersionsOverlap):
        publish_vocabulary(bank, changchun(effective_from="2025-06-01", roles={"coach": {"zh": "教练", "en": "coach"}}))
    second = publish_vocabulary(bank, changchun(effective_from="2027-01-01", version=2))
    assert second.status == "recorded"


def test_a_national_code_cannot_be_added_again():
    with pytest.raises(VocabularyCodeTaken):
        publish_vocabulary(new_bank(), changchun(categories={"ethics": {"zh": "师德", "en": "ethics"}}))


def test_a_parents_code_cannot_be_added_below_it():
    bank = new_bank()
    publish_vocabulary(bank, changchun())
    with pytest.raises(VocabularyCodeTaken) as refused:
        publish_vocabulary(bank, changchun(jurisdiction="220106"))
    assert refused.value.field == "categories.special_education"


def test_a_code_follows_the_grammar_and_carries_both_labels():
    with pytest.raises(VocabularyInvalid):
        parse_vocabulary(changchun(categories={"Special Ed": {"zh": "特殊教育", "en": "special education"}}))
    with pytest.raises(VocabularyInvalid):
        parse_vocabulary(changchun(categories={"special_education": {"zh": "特殊教育"}}))
    with pytest.raises(VocabularyInvalid):
        parse_vocabulary(changchun(categories={}))


def test_the_listing_says_where_each_code_comes_from():
    bank = bank_with_changchun_vocabulary()
    listing = bank.vocabularies_for(["220106"]).listing("220106", None)
    assert listing["category"]["special_education"] == {"zh": "特殊教育", "en": "special education", "source": "220100"}
    assert listing["category"]["ethics"]["source"] == "CN"
    assert "special_education" not in bank.vocabularies_for(["330300"]).listing("330300", None)["category"]


def special_education_policy(jurisdiction):
    return {
        "policy_id": f"{jurisdiction}-special-education",
        "jurisdiction": jurisdiction,
        "effective_from": "2026-02-01",
        "title": "特殊教育教师培训",
        "rules": [
            {
                "id": "special-12h",
                "kind": "min_hours",
                "targets": ["teacher_annual"],
                "window": {"kind": "calendar_year"},
                "hours": "12",
                "categories": ["special_education"],
                "source": {"document": "worked example", "article": "1"},
            }
        ],
    }


def test_a_policy_of_the_jurisdiction_or_below_may_count_the_added_category():
    bank = bank_with_changchun_vocabulary()
    assert bank.publish_policy(special_education_policy("220106")).status == "recorded"
    assert bank.publish_policy(special_education_policy("220100")).status == "recorded"


def test_a_policy_elsewhere_may_not_count_it():
    # Wenzhou's vocabulary knows no special_education: Changchun's code is not Wenzhou's.
    bank = bank_with_changchun_vocabulary()
    with pytest.raises(UnknownCode) as refused:
        bank.publish_policy(special_education_policy("330300"))
    assert refused.value.field == "rules[0].categories[0]"
    with pytest.raises(UnknownCode):
        bank.publish_policy({**special_education_policy("220106"), "effective_from": "2025-02-01"})
