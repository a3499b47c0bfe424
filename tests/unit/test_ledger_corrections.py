"""Correcting a learner's details: a ``Learner.Corrected`` event, never an edit in place.

Li Hua was registered at 长春市南关区第一中学; she has in fact taught at 南关区第二中学
since she was hired, and her name was typed as 李 华.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.application import LearnerCorrection
from ledger.errors import LearnerAlreadyRegistered, LearnerErased, LearnerNotFound, OutsideJurisdiction
from tests.unit.ledger_examples import LI_HUA, all_notifications, last_position, li_hua, new_bank, reloaded, topics

SECOND_SCHOOL = "长春市南关区第二中学"


def test_correcting_her_school_records_one_event_and_the_aggregate_follows_it():
    bank = new_bank()
    bank.register_learner(li_hua())

    written = bank.correct_learner(LI_HUA, LearnerCorrection({"school": SECOND_SCHOOL}, "HR typed the wrong school"))

    assert written.status == "recorded"
    assert topics(bank) == ["Learner.Registered", "Learner.Corrected"]
    learner = reloaded(bank, bank.learner(LI_HUA).id)
    assert learner.school == SECOND_SCHOOL
    assert learner.hired_on == date(2015, 9, 1)
    # The write side decides on the corrected school from now on.
    assert bank.standing(LI_HUA).facts.school == SECOND_SCHOOL


def test_a_corrected_name_is_sealed_and_the_reason_too():
    bank = new_bank()
    bank.register_learner(li_hua(name="李 华"))

    bank.correct_learner(LI_HUA, LearnerCorrection({"name": "李华", "hired_on": date(2015, 8, 28)}, "身份证核对"))

    learner = reloaded(bank, bank.learner(LI_HUA).id)
    assert bank.open_personal(learner.learner_id, learner.personal) == {"learner_id": LI_HUA, "name": "李华"}
    assert learner.hired_on == date(2015, 8, 28)
    assert bank.standing(LI_HUA).facts.hired_on == date(2015, 8, 28)
    (notification,) = [n for n in all_notifications(bank) if n.topic.endswith("Corrected")]
    assert "李华".encode() not in notification.state
    assert "身份证核对".encode() not in notification.state
    # Re-registering with the details as corrected is a duplicate; with the old ones, a conflict.
    assert bank.register_learner(li_hua(hired_on=date(2015, 8, 28))).status == "duplicate"
    with pytest.raises(LearnerAlreadyRegistered):
        bank.register_learner(li_hua(name="李 华"))


def test_the_same_values_again_record_nothing():
    bank = new_bank()
    bank.register_learner(li_hua())
    before = last_position(bank)

    same = bank.correct_learner(
        LI_HUA, LearnerCorrection({"name": "李华", "school": li_hua().school}, "checked, nothing to change")
    )

    assert same.status == "unchanged"
    assert last_position(bank) == before


def test_an_erased_learner_cannot_be_corrected():
    bank = new_bank()
    bank.register_learner(li_hua())
    bank.erase_learner(LI_HUA, "her request")
    with pytest.raises((LearnerErased, LearnerNotFound)):
        bank.correct_learner(LI_HUA, LearnerCorrection({"school": SECOND_SCHOOL}, "late"))


def test_the_aggregate_refuses_a_correction_once_erased():
    bank = new_bank()
    bank.register_learner(li_hua())
    learner = bank.learner(LI_HUA, fresh=True)
    learner.erased = True
    with pytest.raises(LearnerErased):
        learner.correct(personal=None, changes={"school": SECOND_SCHOOL}, reason="s1.x")


def test_hr_corrects_only_within_the_learners_jurisdiction():
    bank = new_bank()
    bank.register_learner(li_hua())
    with pytest.raises(OutsideJurisdiction):
        bank.correct_learner(LI_HUA, LearnerCorrection({"school": SECOND_SCHOOL}, "x"), scope="330300")
    assert bank.correct_learner(LI_HUA, LearnerCorrection({"school": SECOND_SCHOOL}, "x"), scope="220100").status == (
        "recorded"
    )
