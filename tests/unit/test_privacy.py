"""Personal data in the ledger (PIPL): pseudonymised, sealed, erasable, as worked examples.

Li Hua (national teacher number ``T220106198501010021``, name 李华) is known inside the
ledger only by a random pseudonym, her ``subject``, drawn by the learner vault. Her number
and name are in the log only sealed under her own key, which lives in the vault, beside
the log. When she asks to be erased, the bank records ``Learner.Erased`` and destroys her
vault entry: her number leads nowhere any more and her sealed data no longer opens, while
her hours stay in the log, under the pseudonym, for the totals and the hash chain.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import credential
from ledger.application import Accreditation, CreditBank
from ledger.certificate import Certificate
from ledger.certificate_commands import IssueRequest, issue_certificate
from ledger.completion import Completion, CompletionFacts
from ledger.errors import (
    LearnerAlreadyRegistered,
    LearnerErased,
    LearnerNotFound,
    PersonalDataUnreadable,
)
from ledger.ids import learner_uuid
from ledger.keys import KeyRing
from ledger.learner import Learner
from ledger.sealing import new_key, seal, unseal
from tests.unit.ledger_examples import (
    LI_HUA,
    WANG_FANG,
    all_notifications,
    ethics_course,
    last_position,
    li_hua,
    opened_bank,
    reloaded,
    replay_all,
    school_session,
    topics,
)

NAME = "李华"


def spellings(text: str) -> list[bytes]:
    """``text`` as it could appear in a stored event: raw UTF-8, or JSON-escaped ASCII."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def stored_states(bank: CreditBank) -> list[bytes]:
    """The state bytes of every event the bank has stored."""
    return [n.state for n in all_notifications(bank)]


def found_in_log(bank: CreditBank, text: str) -> bool:
    return any(s in state for state in stored_states(bank) for s in spellings(text))


def her_learner(bank: CreditBank) -> Learner:
    learner = reloaded(bank, learner_uuid(bank.subject_of(LI_HUA)))
    assert isinstance(learner, Learner)
    return learner


# -- registration --------------------------------------------------------------------------


def test_registering_her_stores_neither_her_number_nor_her_name_unsealed() -> None:
    bank = opened_bank()  # Li Hua and Wang Fang registered
    bank.record_completions([ethics_course(), school_session("SB-01")])

    # The scan does find what is stored readable: the school is not personal data.
    assert found_in_log(bank, "长春市南关区第一中学")
    for number, name in ((LI_HUA, NAME), (WANG_FANG, "王芳")):
        assert not found_in_log(bank, number)
        assert not found_in_log(bank, name)

    # The log knows her by her pseudonym; her number and name are sealed under her key.
    subject = bank.subject_of(LI_HUA)
    assert subject != LI_HUA
    assert found_in_log(bank, subject)
    learner = her_learner(bank)
    assert learner.learner_id == subject
    assert learner.personal.startswith("s1.")
    assert bank.open_personal(subject, learner.personal) == {"learner_id": LI_HUA, "name": NAME}


def test_her_certificate_states_her_name_so_the_log_holds_it_sealed(tmp_path: Path) -> None:
    bank = opened_bank()
    ring = KeyRing(tmp_path / "keys")
    bank.publish_shipped_policies()
    bank.accredit_provider(
        Accreditation(
            "nt-academy", "国家教育行政学院", "CN", ("principal_qualification",), ("national",), date(2020, 1, 1), None
        )
    )
    [posted] = bank.record_completions(
        [
            CompletionFacts(
                provider_id="nt-academy",
                record_id="pq-1",
                learner_id=LI_HUA,
                programme_code="PQ",
                programme_title="任职资格培训",
                category="principal_qualification",
                level="national",
                hours=Decimal(300),
                assessment="pass",
                completed_on=date(2025, 3, 1),
            )
        ]
    )
    assert posted.status == "recorded"
    request = IssueRequest(LI_HUA, "principal_qualification", date(2026, 11, 26))

    issued = issue_certificate(bank, request, ring.current(), "https://bank.example")

    # The credential handed out names her ...
    assert credential.verify(issued.jws, ring.public_keys()).credential["credentialSubject"]["name"] == NAME
    # ... the log holds it only sealed, under her pseudonym.
    certificate: object = bank.repository.get(issued.certificate_id)
    assert isinstance(certificate, Certificate)
    subject = bank.subject_of(LI_HUA)
    assert certificate.learner_id == subject
    assert not found_in_log(bank, issued.jws)
    assert bank.open_personal(subject, certificate.jws) == {"jws": issued.jws}


def test_the_same_number_registered_twice_is_one_learner_with_one_subject() -> None:
    bank = opened_bank()
    subject = bank.subject_of(LI_HUA)
    before = last_position(bank)

    again = bank.register_learner(li_hua())

    assert again.status == "duplicate"
    assert bank.subject_of(LI_HUA) == subject
    assert last_position(bank) == before
    with pytest.raises(LearnerAlreadyRegistered):
        bank.register_learner(li_hua(name="李 华"))
    assert bank.subject_of(LI_HUA) == subject
    assert last_position(bank) == before
    learners = [a for a in replay_all(bank).values() if isinstance(a, Learner)]
    assert sorted(a.learner_id for a in learners) == sorted([subject, bank.subject_of(WANG_FANG)])


def test_two_learners_have_two_subjects_and_one_key_opens_only_its_own_data() -> None:
    bank = opened_bank()
    li, wang = bank.subject_of(LI_HUA), bank.subject_of(WANG_FANG)
    assert li != wang
    her_sealed = her_learner(bank).personal

    # Copied onto Wang Fang, Li Hua's sealed data does not open.
    with pytest.raises(PersonalDataUnreadable):
        bank.open_personal(wang, her_sealed)


# -- erasure --------------------------------------------------------------------------------


def erased_bank() -> tuple[CreditBank, str, str]:
    """Li Hua with three completions (12 + 2.5 + 2.5 h, one revoked later), then erased.
    Returns the bank, her former subject and her sealed personal data."""
    bank = opened_bank()
    bank.record_completions([ethics_course(), school_session("SB-01"), school_session("SB-02")])
    bank.revoke_completion("cc-nanguan", "SB-02", "posted twice", by_provider="cc-nanguan")
    subject = bank.subject_of(LI_HUA)
    sealed = her_learner(bank).personal
    before = last_position(bank)

    written = bank.erase_learner(LI_HUA, "PIPL art. 47 request of 2026-11-20")

    assert written.status == "recorded"
    assert written.position == before + 1
    assert topics(bank, after=before) == ["Learner.Erased"]
    return bank, subject, sealed


def test_erasure_records_learner_erased_and_the_number_leads_nowhere() -> None:
    bank, subject, _ = erased_bank()

    [erased] = [e for e in bank.events.get(learner_uuid(subject)) if type(e).__name__ == "Erased"]
    assert (erased.on, erased.learner_id) == (date(2026, 11, 26), subject)  # type: ignore[attr-defined]
    learner = reloaded(bank, learner_uuid(subject))
    assert isinstance(learner, Learner) and learner.erased
    with pytest.raises(LearnerNotFound):
        bank.subject_of(LI_HUA)
    with pytest.raises(LearnerNotFound):
        bank.learner(LI_HUA)
    assert bank.subjects_of([LI_HUA, WANG_FANG]).keys() == {WANG_FANG}
    # Wang Fang is untouched.
    assert bank.learner(WANG_FANG).learner_id == bank.subject_of(WANG_FANG)


def test_after_erasure_nothing_more_is_recorded_for_her() -> None:
    bank, subject, _ = erased_bank()
    before = last_position(bank)

    [outcome] = bank.record_completions([ethics_course("2026-ETH-0002")])
    assert outcome.status == "rejected"
    assert isinstance(outcome.error, LearnerNotFound) and outcome.error.code == "learner_not_found"
    with pytest.raises(LearnerNotFound):
        bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1))
    with pytest.raises(LearnerNotFound):
        bank.end_role(LI_HUA, "teacher", date(2026, 9, 1))
    with pytest.raises(LearnerNotFound):
        bank.erase_learner(LI_HUA, "asked again")
    # Whoever still held the aggregate could not change her roles either.
    learner = reloaded(bank, learner_uuid(subject))
    with pytest.raises(LearnerErased):
        learner.start_role("head_teacher", date(2026, 9, 1))
    assert last_position(bank) == before


def test_after_erasure_her_sealed_data_stays_in_the_log_but_no_longer_opens() -> None:
    bank, subject, sealed = erased_bank()

    learner = reloaded(bank, learner_uuid(subject))
    assert learner.personal == sealed  # the log is not rewritten
    with pytest.raises(PersonalDataUnreadable):
        bank.open_personal(subject, sealed)
    assert not found_in_log(bank, LI_HUA)
    assert not found_in_log(bank, NAME)


def test_after_erasure_her_hours_are_still_in_the_log_under_the_subject() -> None:
    bank, subject, _ = erased_bank()

    hers = [a for a in replay_all(bank).values() if isinstance(a, Completion) and a.facts.learner_id == subject]

    assert sorted(c.facts.record_id for c in hers) == ["2026-ETH-0001", "SB-01", "SB-02"]
    assert sum((c.facts.hours for c in hers), Decimal(0)) == Decimal("17")
    assert sum((c.facts.hours for c in hers if c.earns_hours), Decimal(0)) == Decimal("14.5")


# -- sealing --------------------------------------------------------------------------------

#: What ``seal`` takes: JSON values that orjson writes and reads back as they were (64-bit
#: integers, finite floats, text without lone surrogates).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"))
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
subjects = st.uuids().map(str)


@settings(max_examples=200, deadline=None)
@given(data=records, subject=subjects, other_subject=subjects)
def test_a_sealed_record_opens_only_with_its_key_and_for_its_subject(
    data: dict[str, Any],
    subject: str,
    other_subject: str,
) -> None:
    key = new_key()
    sealed = seal(key, subject, data)

    assert unseal(key, subject, sealed) == data
    if other_subject != subject:
        with pytest.raises(PersonalDataUnreadable):
            unseal(key, other_subject, sealed)  # copied onto another learner's event
    with pytest.raises(PersonalDataUnreadable):
        unseal(new_key(), subject, sealed)  # another learner's key, or after erasure


def test_sealing_twice_gives_two_different_values() -> None:
    key, subject = new_key(), "9b1c8f1e-7a0e-4c55-9d8e-2c1f0a6b3e21"
    first, second = seal(key, subject, {"name": NAME}), seal(key, subject, {"name": NAME})

    assert first != second  # a fresh nonce each time: equal names are not linkable
    assert unseal(key, subject, first) == unseal(key, subject, second) == {"name": NAME}
    with pytest.raises(PersonalDataUnreadable):
        unseal(key, subject, NAME)  # not a sealed value at all
