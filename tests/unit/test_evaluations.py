"""Anonymous evaluation on the in-memory store: each passed completion is evaluated once,
the ballots reach the log only five at a time in the order of their content, and nothing an
evaluation records names the learner, the completion or a time finer than the day."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.errors import (
    AlreadyEvaluated,
    CompletionNotEvaluable,
    CompletionNotFound,
    EvaluationInvalid,
    LearnerNotFound,
    ReviewConflict,
)
from ledger.evaluation import TALLY_SIZE, Ballot, BallotBox, ReviewFacts, box_uuid, mark_uuid, sorted_ballots
from ledger.evaluation_commands import evaluate_completion, evaluation_marks, record_review
from ledger.ids import completion_uuid
from tests.unit.ledger_examples import TODAY, new_bank

SECRET = b"s" * 32
PROVIDER = "jl-college"
LEARNERS = [f"T2201061985010100{n:02d}" for n in range(8)]


def _bank() -> CreditBank:
    bank = new_bank()
    bank.accredit_provider(
        Accreditation(PROVIDER, "吉林省教育学院", "220000", ("online",), ("provincial",), date(2020, 1, 1), None)
    )
    for number in LEARNERS:
        bank.register_learner(LearnerRegistration(number, "王芳", "220106", None, date(2015, 9, 1)))
        _post(bank, number, f"r-{number}", "pass")
    return bank


def _post(bank: CreditBank, learner: str, record_id: str, assessment: str) -> None:
    facts = CompletionFacts(
        PROVIDER, record_id, learner, "OL", "网络研修", "online", "provincial", Decimal(6), assessment, date(2025, 5, 1)
    )
    assert bank.record_completions([facts])[0].status == "recorded"


def _evaluate(bank: CreditBank, learner: str, ballot: Ballot | None = None, record_id: str | None = None) -> int:
    ballot = ballot or Ballot(4, 5, 3, "讲得很好")
    written = evaluate_completion(bank, SECRET, learner, PROVIDER, record_id or f"r-{learner}", ballot)
    assert written.status == "recorded" and written.position is not None
    return written.position


def _box(bank: CreditBank) -> BallotBox:
    box = bank.get(box_uuid(PROVIDER, "OL"), BallotBox)
    assert box is not None
    return box


def test_a_completion_is_evaluated_once() -> None:
    bank = _bank()
    _evaluate(bank, LEARNERS[0])
    with pytest.raises(AlreadyEvaluated):
        _evaluate(bank, LEARNERS[0], Ballot(1, 1, 1))
    assert _box(bank).received == 1


def test_only_own_passed_unrevoked_completions_are_evaluated() -> None:
    bank = _bank()
    with pytest.raises(CompletionNotFound):
        _evaluate(bank, LEARNERS[0], record_id=f"r-{LEARNERS[1]}")
    _post(bank, LEARNERS[0], "failed", "fail")
    with pytest.raises(CompletionNotEvaluable):
        _evaluate(bank, LEARNERS[0], record_id="failed")
    bank.revoke_completion(PROVIDER, f"r-{LEARNERS[2]}", "wrong learner", by_provider=None)
    with pytest.raises(CompletionNotEvaluable):
        _evaluate(bank, LEARNERS[2])


def test_scores_are_whole_numbers_from_one_to_five() -> None:
    bank = _bank()
    for ballot, field in [(Ballot(0, 3, 3), "scores.content"), (Ballot(3, 6, 3), "scores.teaching")]:
        with pytest.raises(EvaluationInvalid) as refused:
            _evaluate(bank, LEARNERS[0], ballot)
        assert refused.value.field == field
    with pytest.raises(EvaluationInvalid):
        _evaluate(bank, LEARNERS[0], Ballot(True, 3, 3))  # type: ignore[arg-type]


def test_ballots_reach_the_log_five_at_a_time_sorted_by_content() -> None:
    bank = _bank()
    ballots = [Ballot(5 - n % 5, 1 + n % 5, 3, f"意见{n}" if n % 2 else None) for n in range(7)]
    for number, ballot in zip(LEARNERS, ballots, strict=False):
        _evaluate(bank, number, ballot)
    box = _box(bank)
    assert (box.received, box.tallied, box.waiting) == (7, 5, 2)
    assert len(bank.recorder.pooled(box.id)) == 2  # type: ignore[attr-defined]
    tallies = [e for e in _events(bank, box.id) if type(e).__name__ == "Tallied"]
    assert len(tallies) == 1
    published = tallies[0].ballots
    assert published == sorted_ballots(b.as_data() for b in ballots[:5])


def _events(bank: CreditBank, originator: UUID) -> list[object]:
    return [bank.mapper.to_domain_event(s) for s, _ in bank.recorder.select_with_positions([originator])]  # type: ignore[attr-defined]


def test_nothing_recorded_names_the_learner_the_completion_or_an_hour() -> None:
    bank = _bank()
    subject = bank.subject_of(LEARNERS[0])
    completion = completion_uuid(PROVIDER, f"r-{LEARNERS[0]}")
    start = bank.recorder.max_notification_id() or 0
    for number in LEARNERS[:TALLY_SIZE]:
        _evaluate(bank, number)
    written = bank.recorder.select_notifications(start + 1, 100)
    assert written
    for stored in written:
        state = stored.state.decode()
        assert subject not in state and str(completion) not in state and completion.hex not in state
        assert LEARNERS[0] not in state
        decoded = bank.mapper.to_domain_event(stored)
        stamp = decoded.timestamp  # type: ignore[attr-defined]
        assert (stamp.hour, stamp.minute, stamp.second, stamp.microsecond) == (0, 0, 0, 0)


def test_the_pending_marks_are_those_of_the_learner_only() -> None:
    bank = _bank()
    completion = completion_uuid(PROVIDER, f"r-{LEARNERS[0]}")
    _evaluate(bank, LEARNERS[0])
    marks = evaluation_marks(bank, SECRET, LEARNERS[0], [completion])
    assert bank.get_many(marks.values())
    other = evaluation_marks(bank, SECRET, LEARNERS[1], [completion])
    assert not bank.get_many(other.values())


def test_an_erased_learner_cannot_evaluate_and_the_mark_cannot_be_computed_again() -> None:
    bank = _bank()
    _evaluate(bank, LEARNERS[0])
    bank.erase_learner(LEARNERS[0], "请求删除")
    with pytest.raises(LearnerNotFound):
        _evaluate(bank, LEARNERS[0])
    with pytest.raises(LearnerNotFound):
        evaluation_marks(bank, SECRET, LEARNERS[0], [completion_uuid(PROVIDER, f"r-{LEARNERS[0]}")])


def test_a_review_is_recorded_once_per_kind_and_day() -> None:
    bank = _bank()
    facts = ReviewFacts(PROVIDER, "expert", date(2026, 11, 20), "课程设置合理", 4)
    first = record_review(bank, facts)
    again = record_review(bank, facts)
    assert first.status == "recorded" and again == type(again)(first.position, "duplicate")
    with pytest.raises(ReviewConflict):
        record_review(bank, ReviewFacts(PROVIDER, "expert", date(2026, 11, 20), "另一结论", 2))
    with pytest.raises(EvaluationInvalid):
        record_review(bank, ReviewFacts(PROVIDER, "peer", date(2026, 11, 20), "x", 2))
    with pytest.raises(EvaluationInvalid):
        record_review(bank, ReviewFacts(PROVIDER, "expert", TODAY.replace(year=2027), "x", 2))


_scores = st.integers(1, 5)
_ballots = st.builds(
    Ballot, _scores, _scores, _scores, st.one_of(st.none(), st.text("好差一般ab", min_size=1, max_size=8))
)


@given(st.lists(_ballots, min_size=TALLY_SIZE, max_size=TALLY_SIZE), st.randoms())
def test_a_tally_is_the_same_whatever_order_the_ballots_came_in(ballots: list[Ballot], rnd: object) -> None:
    data = [b.as_data() for b in ballots]
    shuffled = list(data)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert sorted_ballots(data) == sorted_ballots(shuffled)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ballots, min_size=1, max_size=len(LEARNERS)))
def test_every_ballot_is_counted_once_and_published_only_in_fives(ballots: list[Ballot]) -> None:
    bank = _bank()
    for number, ballot in zip(LEARNERS, ballots, strict=False):
        _evaluate(bank, number, ballot)
    box = _box(bank)
    published = [b for e in _events(bank, box.id) if type(e).__name__ == "Tallied" for b in e.ballots]  # type: ignore[attr-defined]
    waiting = bank.recorder.pooled(box.id)  # type: ignore[attr-defined]
    assert box.received == len(ballots) == len(published) + len(waiting)
    assert len(published) % TALLY_SIZE == 0 and len(waiting) < TALLY_SIZE
    assert sorted(map(str, published)) == sorted(str(b.as_data()) for b in ballots[: len(published)])


def test_a_mark_is_a_keyed_tag() -> None:
    completion = completion_uuid(PROVIDER, "r")
    key = os.urandom(32)
    assert mark_uuid(SECRET, key, completion) == mark_uuid(SECRET, key, completion)
    assert mark_uuid(b"t" * 32, key, completion) != mark_uuid(SECRET, key, completion)
