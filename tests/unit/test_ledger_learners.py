"""Learners are registered once; their roles are spells with a start and an end.

Li Hua has taught at a Nanguan middle school since 2015-09-01.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import (
    LearnerAlreadyRegistered,
    LearnerNotFound,
    RoleAlreadyHeld,
    RoleDatesOutOfOrder,
    RoleNotHeld,
)
from ledger.ids import learner_uuid
from ledger.learner import RoleSpell
from tests.unit.ledger_examples import (
    LI_HUA,
    last_position,
    li_hua,
    new_bank,
    reloaded,
    topics,
)


def test_registering_li_hua_records_one_event():
    bank = new_bank()

    written = bank.register_learner(li_hua())

    assert written.status == "recorded"
    assert written.position == 1
    assert topics(bank) == ["Learner.Registered"]
    learner = bank.learner(LI_HUA)
    # Inside the ledger she is a pseudonym; her number and name are sealed under her key.
    assert learner.learner_id == bank.subject_of(LI_HUA) != LI_HUA
    assert learner.id == learner_uuid(learner.learner_id)
    assert bank.open_personal(learner.learner_id, learner.personal) == {"learner_id": LI_HUA, "name": "李华"}
    assert learner.jurisdiction == "220106"
    assert learner.spells == [RoleSpell("teacher", date(2015, 9, 1))]


def test_registering_her_again_with_the_same_details_is_a_duplicate_at_the_original_position():
    bank = new_bank()
    bank.register_learner(li_hua(learner_id="T-someone-else"))
    first = bank.register_learner(li_hua())
    bank.register_learner(li_hua(learner_id="T-a-third"))
    before = last_position(bank)

    again = bank.register_learner(li_hua())

    assert first.position == 2
    assert again.status == "duplicate"
    assert again.position == 2
    assert last_position(bank) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "李 华"},
        {"jurisdiction": "220102"},
        {"school": "长春市第二实验中学"},
        {"hired_on": date(2016, 9, 1)},
    ],
)
def test_registering_her_again_with_other_details_is_refused(changes):
    bank = new_bank()
    bank.register_learner(li_hua())
    before = last_position(bank)

    with pytest.raises(LearnerAlreadyRegistered) as refused:
        bank.register_learner(li_hua(**changes))

    assert refused.value.field == "learner_id"
    assert refused.value.status == 409
    assert last_position(bank) == before
    learner = bank.learner(LI_HUA)
    assert bank.open_personal(learner.learner_id, learner.personal)["name"] == "李华"


def test_she_becomes_head_teacher_in_2020_and_steps_down_in_2023():
    bank = new_bank()
    bank.register_learner(li_hua())

    started = bank.start_role(LI_HUA, "head_teacher", date(2020, 9, 1))
    ended = bank.end_role(LI_HUA, "head_teacher", date(2023, 7, 15))

    assert (started.status, ended.status) == ("recorded", "recorded")
    assert started.position < ended.position
    assert topics(bank, after=1) == ["Learner.RoleStarted", "Learner.RoleEnded"]
    assert reloaded(bank, learner_uuid(bank.subject_of(LI_HUA))).spells == [
        RoleSpell("teacher", date(2015, 9, 1)),
        RoleSpell("head_teacher", date(2020, 9, 1), date(2023, 7, 15)),
    ]


def test_a_role_already_held_cannot_be_started_again():
    bank = new_bank()
    bank.register_learner(li_hua())  # she is a teacher since 2015
    before = last_position(bank)

    with pytest.raises(RoleAlreadyHeld) as refused:
        bank.start_role(LI_HUA, "teacher", date(2020, 9, 1))

    assert refused.value.field == "role"
    assert last_position(bank) == before


def test_a_role_not_held_cannot_be_ended():
    bank = new_bank()
    bank.register_learner(li_hua())

    with pytest.raises(RoleNotHeld):
        bank.end_role(LI_HUA, "principal", date(2026, 1, 1))


def test_a_role_cannot_end_before_it_started_but_may_end_the_same_day():
    bank = new_bank()
    bank.register_learner(li_hua())
    bank.start_role(LI_HUA, "head_teacher", date(2020, 9, 1))

    with pytest.raises(RoleDatesOutOfOrder) as refused:
        bank.end_role(LI_HUA, "head_teacher", date(2020, 8, 31))
    assert refused.value.field == "until"
    assert "2020-09-01" in refused.value.detail

    assert bank.end_role(LI_HUA, "head_teacher", date(2020, 9, 1)).status == "recorded"


def test_an_ended_role_can_be_taken_up_again_as_a_new_spell():
    bank = new_bank()
    bank.register_learner(li_hua())
    bank.start_role(LI_HUA, "head_teacher", date(2018, 9, 1))
    bank.end_role(LI_HUA, "head_teacher", date(2020, 7, 15))

    bank.start_role(LI_HUA, "head_teacher", date(2022, 9, 1))

    learner = reloaded(bank, learner_uuid(bank.subject_of(LI_HUA)))
    assert [s for s in learner.spells if s.role == "head_teacher"] == [
        RoleSpell("head_teacher", date(2018, 9, 1), date(2020, 7, 15)),
        RoleSpell("head_teacher", date(2022, 9, 1)),
    ]
    assert learner.open_spell("head_teacher") == RoleSpell("head_teacher", date(2022, 9, 1))
    with pytest.raises(RoleAlreadyHeld):
        bank.start_role(LI_HUA, "head_teacher", date(2023, 9, 1))


def test_roles_of_an_unknown_learner_are_refused():
    bank = new_bank()

    with pytest.raises(LearnerNotFound):
        bank.start_role("T-nobody", "teacher", date(2020, 9, 1))
    with pytest.raises(LearnerNotFound):
        bank.end_role("T-nobody", "teacher", date(2020, 9, 1))
    with pytest.raises(LearnerNotFound):
        bank.learner("T-nobody")


def test_a_refused_role_change_leaves_the_cached_learner_as_the_store_has_it():
    bank = new_bank()
    bank.register_learner(li_hua())
    bank.start_role(LI_HUA, "head_teacher", date(2020, 9, 1))
    with pytest.raises(RoleDatesOutOfOrder):
        bank.end_role(LI_HUA, "head_teacher", date(2019, 1, 1))

    cached = bank.learner(LI_HUA)
    assert cached.spells == reloaded(bank, learner_uuid(bank.subject_of(LI_HUA))).spells
