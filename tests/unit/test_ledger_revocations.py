"""Revoking a completion: a new event that points at the old one; nothing is deleted."""

from __future__ import annotations

import pytest

from ledger.errors import CompletionNotFound, RevocationNotPermitted
from ledger.ids import completion_uuid
from tests.unit.ledger_examples import (
    COLLEGE,
    DISTRICT_CENTRE,
    LI_HUA,
    all_notifications,
    ethics_course,
    last_position,
    opened_bank,
    reloaded,
    topics,
)

ETH = "2026-ETH-0001"
REASON = "learner was absent on 29 June; hours posted in error"


def bank_with_ethics_course():
    bank = opened_bank()
    [recorded] = bank.record_completions([ethics_course(ETH)])
    return bank, recorded


def revoked_by(bank, position):
    [notification] = [n for n in all_notifications(bank) if n.id == position]
    return bank.mapper.to_domain_event(notification).revoked_by


def test_the_college_revokes_its_own_completion():
    bank, recorded = bank_with_ethics_course()

    written = bank.revoke_completion(COLLEGE, ETH, REASON, by_provider=COLLEGE)

    assert written.status == "recorded"
    assert written.position == recorded.position + 1
    assert topics(bank, after=recorded.position - 1) == [
        "Completion.Recorded",
        "Completion.Revoked",
    ]
    completion = reloaded(bank, completion_uuid(COLLEGE, ETH))
    assert completion.revoked
    assert completion.revocation_reason == REASON
    assert not completion.earns_hours
    # the facts are still there (under her pseudonym, as recorded)
    assert completion.facts == ethics_course(ETH, learner_id=bank.subject_of(LI_HUA))
    assert revoked_by(bank, written.position) == COLLEGE


def test_another_institution_may_not_revoke_the_colleges_completion():
    bank, _ = bank_with_ethics_course()
    before = last_position(bank)

    with pytest.raises(RevocationNotPermitted) as refused:
        bank.revoke_completion(COLLEGE, ETH, "not ours", by_provider=DISTRICT_CENTRE)

    assert refused.value.status == 403
    assert DISTRICT_CENTRE in refused.value.detail
    assert last_position(bank) == before
    assert reloaded(bank, completion_uuid(COLLEGE, ETH)).earns_hours


def test_an_admin_may_revoke_any_completion():
    bank, _ = bank_with_ethics_course()

    written = bank.revoke_completion(COLLEGE, ETH, "督导检查: forged attendance", by_provider=None)

    assert written.status == "recorded"
    assert revoked_by(bank, written.position) == "admin"
    assert not reloaded(bank, completion_uuid(COLLEGE, ETH)).earns_hours


def test_revoking_twice_records_nothing_and_answers_the_first_revocations_position():
    bank, _ = bank_with_ethics_course()
    first = bank.revoke_completion(COLLEGE, ETH, REASON, by_provider=COLLEGE)
    bank.record_completions([ethics_course("2026-ETH-0002")])
    before = last_position(bank)

    again = bank.revoke_completion(COLLEGE, ETH, "another reason", by_provider=COLLEGE)
    by_admin = bank.revoke_completion(COLLEGE, ETH, "admin too", by_provider=None)

    assert (again.status, again.position) == ("unchanged", first.position)
    assert (by_admin.status, by_admin.position) == ("unchanged", first.position)
    assert last_position(bank) == before
    assert reloaded(bank, completion_uuid(COLLEGE, ETH)).revocation_reason == REASON


def test_another_institution_is_refused_even_when_the_completion_is_already_revoked():
    bank, _ = bank_with_ethics_course()
    bank.revoke_completion(COLLEGE, ETH, REASON, by_provider=COLLEGE)

    with pytest.raises(RevocationNotPermitted):
        bank.revoke_completion(COLLEGE, ETH, "probing", by_provider=DISTRICT_CENTRE)


def test_revoking_an_unknown_completion_is_refused():
    bank, _ = bank_with_ethics_course()

    with pytest.raises(CompletionNotFound) as refused:
        bank.revoke_completion(COLLEGE, "no-such-record", REASON, by_provider=COLLEGE)

    assert refused.value.field == "record_id"
    assert refused.value.status == 404


def test_a_revoked_completion_posted_again_is_still_a_duplicate_not_a_new_record():
    bank, recorded = bank_with_ethics_course()
    bank.revoke_completion(COLLEGE, ETH, REASON, by_provider=COLLEGE)
    before = last_position(bank)

    [again] = bank.record_completions([ethics_course(ETH)])

    assert (again.status, again.position) == ("duplicate", recorded.position)
    assert last_position(bank) == before
