"""Worked examples of a roster's dry run: ``judge_learners`` answers what ``register_learners``
then does, and leaves nothing behind, in the event store or the vault."""

from __future__ import annotations

from ledger.ids import learner_uuid
from ledger.learner import Learner
from tests.unit.ledger_examples import LI_HUA, WANG_FANG, last_position, li_hua, new_bank, wang_fang


def test_a_roster_judged_answers_what_its_registration_then_does_and_records_nothing():
    bank = new_bank()
    registered = bank.register_learner(li_hua())
    before = last_position(bank)
    roster = [
        wang_fang(),  # new
        li_hua(name="李桦"),  # registered with another name
        wang_fang(hired_on=None),  # repeated in the roster
        li_hua(learner_id="T-OTHER", jurisdiction="330300"),  # outside the scope
    ]

    judged = bank.judge_learners(roster, scope="220106")
    [again] = bank.judge_learners([li_hua()], scope="220106")

    assert [o.status for o in judged] == ["recorded", "rejected", "rejected", "rejected"]
    assert [o.error.code for o in judged if o.error is not None] == [
        "learner_already_registered",
        "repeated_in_batch",
        "forbidden",
    ]
    assert judged[0].position is None
    assert (again.status, again.position) == ("duplicate", registered.position)
    assert last_position(bank) == before
    assert bank.recorder.vault_subjects([WANG_FANG, "T-OTHER"]) == {}

    posted = bank.register_learners(roster, scope="220106")
    assert [(o.status, type(o.error)) for o in posted] == [(o.status, type(o.error)) for o in judged]
    subject = bank.recorder.vault_subjects([WANG_FANG])[WANG_FANG]
    assert isinstance(bank.get(learner_uuid(subject), Learner), Learner)


def test_an_erased_teacher_judged_again_would_be_registered_anew_as_the_post_does():
    bank = new_bank()
    bank.register_learner(li_hua())
    bank.erase_learner(LI_HUA, "本人申请删除")

    [judged] = bank.judge_learners([li_hua()])
    [posted] = bank.register_learners([li_hua()])

    assert (judged.status, judged.position) == ("recorded", None)
    assert posted.status == "recorded" and posted.position is not None


def test_a_writer_remembers_a_bounded_number_of_pseudonyms_however_many_it_registers(monkeypatch):
    """Rosters, single registrations and lookups learn teacher number -> pseudonym pairs through
    one bound (a roster of 500,000 had kept every pair, and the server grew past 300 MB); past
    it the memory starts again and a lookup asks the vault, with the same answer."""
    monkeypatch.setattr("ledger.application.MAX_KNOWN_SUBJECTS", 3)
    bank = new_bank()
    numbers = [f"T-{i:04d}" for i in range(8)]
    for start in (0, 2):
        bank.register_learners([li_hua(learner_id=n) for n in numbers[start : start + 2]])
        assert bank.remembered[1] <= 3
    bank.register_learner(li_hua(learner_id=numbers[4]))
    bank.register_learners([li_hua(learner_id=n) for n in numbers[5:]])  # one roster past the bound
    assert bank.remembered[1] <= 3

    subjects = bank.subjects_of(numbers)
    assert subjects == bank.recorder.vault_subjects(numbers) and len(subjects) == 8
