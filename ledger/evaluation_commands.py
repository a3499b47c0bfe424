"""Evaluation commands of the ``CreditBank``: a learner's anonymous evaluation of a completed
programme, the marks behind the pending list, an auditor's review of a provider.

Invariants:
- like the bank's own commands they run on the writer thread in its unit of work and decide
  on what the event store holds inside the command: the completion (the learner's own,
  passed, unrevoked), the mark (``AlreadyEvaluated`` if it exists), the ballot box and its
  pool. Two processes racing on one completion or one programme meet in the event store's
  unique key and run again;
- one evaluation records, in one transaction: the mark (its id the keyed tag, nothing
  else), the box's ``Received`` and, when ``TALLY_SIZE`` ballots are waiting, its
  ``Tallied`` with them all; otherwise the box's pool is rewritten whole, shuffled and
  sealed afresh. No ballot is ever stored with anything that names the learner, the
  completion or a time finer than the day;
- an erased learner has no vault key, so nobody can compute their marks again, and they
  cannot evaluate;
- a review is named by (provider, kind, day): the same findings again answer ``duplicate``
  with the original position, other findings ``ReviewConflict``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from uuid import UUID

from ledger.application import CreditBank, Written
from ledger.completion import Completion
from ledger.errors import AlreadyEvaluated, CompletionNotEvaluable, CompletionNotFound, LearnerErased
from ledger.evaluation import (
    TALLY_SIZE,
    Ballot,
    BallotBox,
    EvaluationMark,
    Review,
    ReviewFacts,
    box_uuid,
    day_stamp,
    mark_uuid,
    review_uuid,
)
from ledger.evaluation_secret import pool_key
from ledger.ids import completion_uuid
from ledger.sealing import seal, unseal
from ledger.store import Pool

#: Shuffles a pool's order; the operating system's randomness, so no seed can replay it.
_SHUFFLE = random.SystemRandom()


def _learner_key(bank: CreditBank, learner_id: str) -> tuple[str, bytes]:
    learner = bank.learner(learner_id, fresh=True)
    subject = learner.learner_id
    key = bank.recorder.vault_keys([subject]).get(subject)  # type: ignore[attr-defined]
    if key is None:
        raise LearnerErased("this learner's personal data was erased", field="learner_id")
    return subject, key


def evaluate_completion(
    bank: CreditBank, secret: bytes, learner_id: str, provider_id: str, record_id: str, ballot: Ballot
) -> Written:
    """The learner ``learner_id`` evaluates their completion ``record_id`` of ``provider_id``, once."""
    ballot.check()

    def command() -> Written:
        subject, key = _learner_key(bank, learner_id)
        completion = bank.get(completion_uuid(provider_id, record_id), Completion, fresh=True)
        if completion is None or completion.facts.learner_id != subject:
            raise CompletionNotFound(f"you have no completion {record_id} of {provider_id}", field="record_id")
        if not completion.earns_hours:
            raise CompletionNotEvaluable(
                f"completion {record_id} is {'revoked' if completion.revoked else 'not passed'}", field="record_id"
            )
        mark_id = mark_uuid(secret, key, completion.id)
        if bank.get_many([mark_id]):
            raise AlreadyEvaluated(f"you evaluated completion {record_id} of {provider_id} already", field="record_id")
        today = bank.today()
        stamp = day_stamp(today)
        programme = completion.facts.programme_code
        box = bank.get(box_uuid(provider_id, programme), BallotBox, fresh=True)
        if box is None:
            box = BallotBox(provider_id=provider_id, programme=programme, timestamp=stamp)
        sealing = pool_key(secret)
        waiting = [unseal(sealing, str(box.id), sealed) for sealed in bank.recorder.pooled(box.id)]  # type: ignore[attr-defined]
        waiting.append(ballot.as_data())
        box.receive(today, timestamp=stamp)
        if len(waiting) >= TALLY_SIZE:
            box.tally(waiting, today, timestamp=stamp)
            waiting = []
        _SHUFFLE.shuffle(waiting)
        pool = Pool(box.id, [seal(sealing, str(box.id), b) for b in waiting])
        mark = EvaluationMark(mark_id=mark_id, timestamp=stamp)
        return Written(bank.record(mark, box, pool=pool), "recorded")

    return bank.unit_of_work(command)


def evaluation_marks(
    bank: CreditBank, secret: bytes, learner_id: str, completion_ids: Iterable[UUID]
) -> dict[UUID, UUID]:
    """The mark each of these completions of the learner has once evaluated (computed, not
    looked up: whether it exists is the read side's to say)."""
    _, key = _learner_key(bank, learner_id)
    return {c: mark_uuid(secret, key, c) for c in completion_ids}


def record_review(bank: CreditBank, facts: ReviewFacts) -> Written:
    """An auditor records an expert or third-party review of a provider."""

    def command() -> Written:
        facts.check(bank.today())
        bank.provider(facts.provider_id)
        review_id = review_uuid(facts.provider_id, facts.kind, facts.on)
        existing = bank.get(review_id, Review, fresh=True)
        if existing is not None:
            existing.check_same(facts)
            return Written(bank.creation_positions([review_id]).get(review_id), "duplicate")
        review = Review(
            provider_id=facts.provider_id, kind=facts.kind, on=facts.on, findings=facts.findings, rating=facts.rating
        )
        return Written(bank.record(review), "recorded")

    return bank.unit_of_work(command)
