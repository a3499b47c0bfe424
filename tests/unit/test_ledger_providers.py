"""Training institutions post only within their accreditation and while not suspended.

The college (``jl-college``) is accredited for ethics and online training at provincial
level from 2024-01-01 to 2028-12-31.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import (
    AccreditationInvalid,
    OutsideAccreditation,
    ProviderNotFound,
    ProviderNotSuspended,
    ProviderSuspended,
)
from ledger.ids import completion_uuid, provider_uuid
from tests.unit.ledger_examples import (
    COLLEGE,
    DISTRICT_CENTRE,
    college_accreditation,
    ethics_course,
    last_position,
    opened_bank,
    reloaded,
    topics,
)


def post_one(bank, facts):
    [outcome] = bank.record_completions([facts])
    return outcome


def test_an_ethics_course_at_provincial_level_in_2026_is_within_accreditation():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course())

    assert outcome.status == "recorded"
    assert outcome.position == last_position(bank)


def test_a_category_the_college_is_not_accredited_for_is_refused():
    bank = opened_bank()
    before = last_position(bank)

    outcome = post_one(bank, ethics_course(category="principal_qualification"))

    assert outcome.status == "rejected"
    assert isinstance(outcome.error, OutsideAccreditation)
    assert outcome.error.field == "programme.category"
    assert "principal_qualification" in outcome.error.detail
    assert last_position(bank) == before


def test_a_level_the_college_is_not_accredited_for_is_refused():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(level="national"))

    assert isinstance(outcome.error, OutsideAccreditation)
    assert outcome.error.field == "programme.level"


@pytest.mark.parametrize(
    ("completed_on", "allowed"),
    [
        (date(2023, 12, 31), False),  # the day before accreditation starts
        (date(2024, 1, 1), True),  # the first day
        (date(2026, 6, 30), True),
        (date(2026, 11, 26), True),  # today
    ],
)
def test_completion_dates_must_lie_within_the_validity_dates(completed_on, allowed):
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(completed_on=completed_on, started_on=completed_on))

    if allowed:
        assert outcome.status == "recorded"
    else:
        assert outcome.status == "rejected"
        assert isinstance(outcome.error, OutsideAccreditation)
        assert outcome.error.field == "completed_on"
        assert "2024-01-01 to 2028-12-31" in outcome.error.detail


def test_an_accreditation_that_expired_in_2025_refuses_a_2026_completion():
    bank = opened_bank()
    bank.accredit_provider(college_accreditation(valid_to=date(2025, 12, 31)))

    assert (
        post_one(bank, ethics_course(record_id="A", completed_on=date(2025, 12, 31), started_on=None)).status
        == "recorded"
    )
    late = post_one(bank, ethics_course(record_id="B", completed_on=date(2026, 1, 1), started_on=None))
    assert isinstance(late.error, OutsideAccreditation)


def test_an_open_ended_accreditation_says_so_when_it_refuses():
    bank = opened_bank()  # the district centre is accredited from 2020-09-01, open-ended

    outcome = post_one(
        bank,
        ethics_course(provider_id=DISTRICT_CENTRE, level="school", completed_on=date(2020, 8, 31), started_on=None),
    )

    assert isinstance(outcome.error, OutsideAccreditation)
    assert "open-ended" in outcome.error.detail


def test_a_suspended_college_posts_nothing_and_a_reinstated_one_posts_again():
    bank = opened_bank()

    suspended = bank.suspend_provider(COLLEGE, "虚报学时 (inflated hours), 2026 inspection")
    assert suspended.status == "recorded"
    assert bank.provider(COLLEGE).suspended

    refused = post_one(bank, ethics_course())
    assert refused.status == "rejected"
    assert isinstance(refused.error, ProviderSuspended)
    assert "inflated hours" in refused.error.detail
    assert refused.error.status == 403

    reinstated = bank.reinstate_provider(COLLEGE)
    assert reinstated.status == "recorded"
    assert reinstated.position > suspended.position

    assert post_one(bank, ethics_course()).status == "recorded"
    assert topics(bank, after=suspended.position - 1) == [
        "Provider.Suspended",
        "Provider.Reinstated",
        "Completion.Recorded",
    ]


def test_suspending_twice_and_reinstating_an_active_college_are_refused():
    bank = opened_bank()

    with pytest.raises(ProviderNotSuspended):
        bank.reinstate_provider(COLLEGE)
    bank.suspend_provider(COLLEGE, "audit")
    with pytest.raises(ProviderSuspended):
        bank.suspend_provider(COLLEGE, "audit again")


def test_suspending_an_unknown_institution_is_refused():
    bank = opened_bank()

    with pytest.raises(ProviderNotFound):
        bank.suspend_provider("nobody", "x")
    with pytest.raises(ProviderNotFound):
        bank.reinstate_provider("nobody")


def test_posting_for_an_unknown_institution_is_refused():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(provider_id="fly-by-night"))

    assert isinstance(outcome.error, ProviderNotFound)


def test_reaccreditation_changes_what_the_college_may_post_from_then_on():
    bank = opened_bank()
    # Posted under the first accreditation: 12 h of ethics.
    assert post_one(bank, ethics_course(record_id="ETH-1")).status == "recorded"

    # In 2026 the province re-accredits the college for IT competence only.
    written = bank.accredit_provider(
        college_accreditation(categories=("it_competence",), levels=("provincial", "municipal"))
    )
    assert written.status == "recorded"
    assert topics(bank, after=written.position - 1) == ["Provider.Reaccredited"]

    ethics = post_one(bank, ethics_course(record_id="ETH-2"))
    assert isinstance(ethics.error, OutsideAccreditation)
    it_course = post_one(bank, ethics_course(record_id="IT-1", category="it_competence", level="municipal"))
    assert it_course.status == "recorded"

    # The earlier ethics completion keeps the accreditation it was checked against.
    earlier = reloaded(bank, completion_uuid(COLLEGE, "ETH-1"))
    assert earlier.earns_hours


def test_accrediting_twice_with_the_same_data_records_nothing():
    bank = opened_bank()
    before = last_position(bank)

    again = bank.accredit_provider(college_accreditation())
    reordered = bank.accredit_provider(
        college_accreditation(categories=("online", "ethics"))  # order does not matter
    )

    assert again.status == "unchanged"
    assert again.position is None
    assert reordered.status == "unchanged"
    assert last_position(bank) == before


def test_the_provider_answers_its_accreditation_as_the_value_it_was_given():
    bank = opened_bank()
    repeated = college_accreditation(categories=("online", "ethics", "online"), levels=("provincial",))

    current = bank.provider(COLLEGE).accreditation()

    assert current == college_accreditation()  # codes sorted, as recorded
    assert current.same_as(repeated) and repeated.same_as(current)
    assert not current.same_as(college_accreditation(valid_to=None))
    assert bank.accredit_provider(repeated).status == "unchanged"


def test_an_accreditation_ending_before_it_starts_is_invalid():
    bank = opened_bank()

    with pytest.raises(AccreditationInvalid) as refused:
        bank.accredit_provider(college_accreditation(valid_from=date(2026, 1, 1), valid_to=date(2025, 12, 31)))
    assert refused.value.field == "accreditation.valid_to"


def test_the_provider_replays_to_the_same_state():
    bank = opened_bank()
    bank.accredit_provider(college_accreditation(levels=("provincial", "municipal")))
    bank.suspend_provider(COLLEGE, "audit")

    provider = reloaded(bank, provider_uuid(COLLEGE))

    assert provider.levels == {"provincial", "municipal"}
    assert provider.suspension_reason == "audit"
    assert provider.version == 3
