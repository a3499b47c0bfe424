"""Posting completions: worked examples of what is recorded, duplicated or refused.

Li Hua passes the college's 12-hour ethics course (28-30 June 2026) and attends the
district centre's 2.5-hour school-based sessions. Today is 2026-11-26.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.completion import Completion
from ledger.errors import (
    CompletionConflict,
    CompletionDatesOutOfOrder,
    CompletionInFuture,
    HoursInvalid,
    LearnerNotFound,
    OutsideAccreditation,
)
from ledger.ids import completion_uuid
from tests.unit.ledger_examples import (
    COLLEGE,
    DISTRICT_CENTRE,
    LI_HUA,
    WANG_FANG,
    ethics_course,
    last_position,
    li_hua,
    opened_bank,
    reloaded,
    school_session,
    topics,
)


def post_one(bank, facts):
    [outcome] = bank.record_completions([facts])
    return outcome


def test_li_hua_passes_the_12_hour_ethics_course():
    bank = opened_bank()
    before = last_position(bank)

    outcome = post_one(bank, ethics_course())

    assert outcome.record_id == "2026-ETH-0001"
    assert outcome.status == "recorded"
    assert outcome.position == before + 1
    assert outcome.error is None
    assert topics(bank, after=before) == ["Completion.Recorded"]
    completion = reloaded(bank, completion_uuid(COLLEGE, "2026-ETH-0001"))
    assert isinstance(completion, Completion)
    # Recorded as posted, except that she is known by her pseudonym inside the ledger.
    assert completion.facts == ethics_course(learner_id=bank.subject_of(LI_HUA))
    assert completion.facts.hours == Decimal("12")
    assert completion.earns_hours


def test_a_completion_for_a_learner_nobody_registered_is_refused():
    bank = opened_bank()
    before = last_position(bank)

    outcome = post_one(bank, ethics_course(learner_id="T-unknown"))

    assert outcome.status == "rejected"
    assert outcome.position is None
    assert isinstance(outcome.error, LearnerNotFound)
    assert outcome.error.field == "learner_id"
    assert last_position(bank) == before


def test_a_completion_dated_tomorrow_is_refused_one_dated_today_is_fine():
    bank = opened_bank()

    tomorrow = post_one(bank, ethics_course(record_id="A", completed_on=date(2026, 11, 27)))
    today = post_one(bank, ethics_course(record_id="B", completed_on=date(2026, 11, 26)))

    assert isinstance(tomorrow.error, CompletionInFuture)
    assert tomorrow.error.field == "completed_on"
    assert "2026-11-27 is after today (2026-11-26)" in tomorrow.error.detail
    assert today.status == "recorded"


def test_a_course_that_started_after_it_ended_is_refused():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(started_on=date(2026, 7, 1), completed_on=date(2026, 6, 30)))

    assert isinstance(outcome.error, CompletionDatesOutOfOrder)
    assert outcome.error.field == "started_on"


def test_a_one_day_course_may_start_and_end_the_same_day():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(started_on=date(2026, 6, 30), completed_on=date(2026, 6, 30)))

    assert outcome.status == "recorded"


def test_hours_with_three_places_in_the_facts_are_refused():
    bank = opened_bank()

    outcome = post_one(bank, ethics_course(hours=Decimal("1.234")))

    assert isinstance(outcome.error, HoursInvalid)


def test_a_fail_is_recorded_but_earns_no_hours():
    bank = opened_bank()

    failed = post_one(bank, ethics_course(record_id="F", assessment="fail"))
    excellent = post_one(bank, ethics_course(record_id="E", assessment="excellent"))

    assert failed.status == "recorded"
    assert excellent.status == "recorded"
    assert not reloaded(bank, completion_uuid(COLLEGE, "F")).earns_hours
    assert reloaded(bank, completion_uuid(COLLEGE, "E")).earns_hours


def test_posting_the_same_completion_again_is_a_duplicate_at_the_original_position():
    bank = opened_bank()
    first = post_one(bank, ethics_course())
    post_one(bank, school_session("SB-1"))
    before = last_position(bank)

    again = post_one(bank, ethics_course())

    assert again.status == "duplicate"
    assert again.position == first.position
    assert again.error is None
    assert bank.recorder.max_notification_id() == before


def test_hours_written_as_12_00_are_the_same_facts_as_12():
    bank = opened_bank()
    first = post_one(bank, ethics_course(hours=Decimal("12")))

    again = post_one(bank, ethics_course(hours=Decimal("12.00")))

    assert (again.status, again.position) == ("duplicate", first.position)


def test_a_duplicate_is_recognised_after_the_cache_is_cleared():
    bank = opened_bank()
    first = post_one(bank, ethics_course())
    reloaded(bank, completion_uuid(COLLEGE, "2026-ETH-0001"))  # evicts

    again = post_one(bank, ethics_course())

    assert (again.status, again.position) == ("duplicate", first.position)


def test_the_same_record_id_with_other_hours_is_a_conflict_and_the_first_facts_stand():
    bank = opened_bank()
    post_one(bank, ethics_course(hours=Decimal("12")))
    before = last_position(bank)

    outcome = post_one(bank, ethics_course(hours=Decimal("24")))

    assert outcome.status == "rejected"
    assert isinstance(outcome.error, CompletionConflict)
    assert outcome.error.field == "record_id"
    assert "revocation and a new record" in outcome.error.detail
    assert last_position(bank) == before
    assert reloaded(bank, completion_uuid(COLLEGE, "2026-ETH-0001")).facts.hours == 12


def test_the_same_record_id_for_a_learner_nobody_registered_is_still_a_conflict():
    """The record id answers first: taken by Li Hua's completion, it is a conflict whoever
    the re-post names, a registered learner (Wang Fang) or an unknown number."""
    bank = opened_bank()
    post_one(bank, ethics_course())
    before = last_position(bank)

    for learner_id in (WANG_FANG, "T-unknown"):
        outcome = post_one(bank, ethics_course(learner_id=learner_id))
        assert outcome.status == "rejected"
        assert isinstance(outcome.error, CompletionConflict)
    assert last_position(bank) == before


def test_the_same_record_id_at_two_institutions_names_two_completions():
    bank = opened_bank()

    college = post_one(bank, ethics_course(record_id="2026-001"))
    district = post_one(bank, school_session("2026-001"))

    assert (college.status, district.status) == ("recorded", "recorded")
    assert completion_uuid(COLLEGE, "2026-001") != completion_uuid(DISTRICT_CENTRE, "2026-001")


def test_a_term_end_batch_records_exactly_the_good_items_one_outcome_each_in_order():
    bank = opened_bank()
    before = last_position(bank)
    batch = [
        school_session("SB-01"),  # good
        school_session("SB-02", learner_id="T-unknown"),  # nobody
        school_session("SB-03", learner_id=WANG_FANG),  # good
        school_session("SB-04", completed_on=date(2027, 1, 10)),  # future
        school_session("SB-05", category="online"),  # not accredited
        school_session("SB-06", assessment="fail"),  # recorded, earns 0
        school_session("SB-07", hours=Decimal("-2.5")),  # bad hours
        school_session("SB-08", hours=Decimal("3")),  # good
    ]

    outcomes = bank.record_completions(batch)

    assert [o.record_id for o in outcomes] == [f"SB-0{i}" for i in range(1, 9)]
    assert [o.status for o in outcomes] == [
        "recorded",
        "rejected",
        "recorded",
        "rejected",
        "rejected",
        "recorded",
        "rejected",
        "recorded",
    ]
    assert [type(o.error).__name__ for o in outcomes if o.error] == [
        "LearnerNotFound",
        "CompletionInFuture",
        "OutsideAccreditation",
        "HoursInvalid",
    ]
    positions = [o.position for o in outcomes if o.status == "recorded"]
    assert positions == [before + 1, before + 2, before + 3, before + 4]
    assert last_position(bank) == before + 4
    assert topics(bank, after=before) == ["Completion.Recorded"] * 4


def test_the_same_record_twice_in_one_batch_is_recorded_once_then_duplicate():
    bank = opened_bank()
    before = last_position(bank)

    outcomes = bank.record_completions([school_session("SB-1"), school_session("SB-2"), school_session("SB-1")])

    assert [(o.record_id, o.status) for o in outcomes] == [
        ("SB-1", "recorded"),
        ("SB-2", "recorded"),
        ("SB-1", "duplicate"),
    ]
    assert outcomes[2].position == outcomes[0].position == before + 1
    assert last_position(bank) == before + 2


def test_the_same_record_id_twice_in_one_batch_with_other_hours_conflicts():
    bank = opened_bank()

    outcomes = bank.record_completions([school_session("SB-1"), school_session("SB-1", hours=Decimal("4"))])

    assert [o.status for o in outcomes] == ["recorded", "rejected"]
    assert isinstance(outcomes[1].error, CompletionConflict)


def test_a_batch_mixing_earlier_records_and_new_ones():
    bank = opened_bank()
    [earlier] = bank.record_completions([school_session("SB-1")])
    before = last_position(bank)

    outcomes = bank.record_completions(
        [school_session("SB-2"), school_session("SB-1"), school_session("SB-1", hours=Decimal(9))]
    )

    assert [o.status for o in outcomes] == ["recorded", "duplicate", "rejected"]
    assert outcomes[0].position == before + 1
    assert outcomes[1].position == earlier.position
    assert last_position(bank) == before + 1


def test_an_empty_batch_records_nothing():
    bank = opened_bank()
    before = last_position(bank)

    assert bank.record_completions([]) == []
    assert last_position(bank) == before


def test_a_rejected_item_can_be_sent_again_once_corrected():
    bank = opened_bank()
    [refused] = bank.record_completions([school_session("SB-1", category="online")])
    assert isinstance(refused.error, OutsideAccreditation)

    [accepted] = bank.record_completions([school_session("SB-1")])

    assert accepted.status == "recorded"


def test_a_dry_run_answers_what_a_post_would_and_records_nothing():
    bank = opened_bank()
    before = last_position(bank)

    [judged] = bank.judge_completions([ethics_course()])

    assert judged.status == "recorded" and judged.position is None and judged.error is None
    assert last_position(bank) == before
    assert bank.get(completion_uuid(COLLEGE, "2026-ETH-0001"), Completion) is None
    posted = post_one(bank, ethics_course())
    [again] = bank.judge_completions([ethics_course()])
    assert again.status == "duplicate" and again.position == posted.position
    [conflict] = bank.judge_completions([ethics_course(hours=Decimal("13"))])
    assert conflict.status == "rejected" and conflict.error.code == "completion_conflict"
    assert last_position(bank) == posted.position


def test_a_batch_past_the_writers_memory_of_learners_is_judged_on_every_learner(monkeypatch):
    """The writer remembers a bounded number of registered learners. A batch that fills that
    memory starts it again; the learners of the batch it already knew are still registered (a
    500,000-learner bank had refused a fifth of each such batch as ``learner_not_found``)."""
    monkeypatch.setattr("ledger.application.MAX_KNOWN_LEARNERS", 3)
    bank = opened_bank()
    numbers = [f"T-{i:04d}" for i in range(6)]
    bank.register_learners([li_hua(learner_id=n) for n in numbers])
    first = bank.record_completions([ethics_course(f"A-{i}", learner_id=n) for i, n in enumerate(numbers[:4])])
    assert [o.status for o in first] == ["recorded"] * 4 and bank.remembered[0] == 4

    # Four are remembered (past the bound of 3); the other two are found, and the memory starts again.
    batch = [ethics_course(f"B-{i}", learner_id=n) for i, n in enumerate(numbers)]
    assert [o.status for o in bank.record_completions(batch)] == ["recorded"] * 6
    assert bank.remembered[0] == 6
