"""Anonymous evaluation of programmes (seed 000 §8): the roll of marks and the ballot boxes.

Invariants:
- the "evaluated" mark of a completion is an ``EvaluationMark`` aggregate whose id is a keyed
  one-way tag of (the learner's vault key, the completion): HMAC-SHA256 under the bank's
  evaluation secret, which lives in the key directory, never in the database. The mark's
  event holds nothing else: no learner, no completion, no programme. Its id makes "once"
  the event store's unique key: a second mark of the same completion cannot be recorded by
  any process;
- a ballot (``Ballot``: scores 1-5 for content, teaching, organisation, an optional comment)
  carries no learner, no completion and no time; it names only the provider and programme;
- a ``BallotBox`` per (provider, programme) counts the ballots it received (``Received``,
  no content) and publishes them only ``TALLY_SIZE`` at a time (``Tallied``), in the
  canonical order of their content (``sorted_ballots``), never in the order they came;
- every event here is stamped with the day only (midnight UTC of the bank's day, given by
  the command): no finer time is recorded;
- a ``Review`` (expert or third party, by an auditor) is an ordinary signed-off fact about a
  provider, named by (provider, kind, day): the same content again is a duplicate.
Pure: no clock, no I/O, no randomness (the order of a tally is the content's own).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from uuid import UUID, uuid5

import orjson
from eventsourcing.domain import Aggregate, event

from ledger.errors import EvaluationInvalid, ReviewConflict
from ledger.grammar import check_identifier, check_optional_text, check_text
from ledger.ids import NAMESPACE
from ledger.vocabulary import LABELS

#: The criteria a learner scores, each 1 to 5 (the contract's ``scores``; labels in ``LABELS``).
CRITERIA: Final = tuple(LABELS["evaluation_criterion"])
SCORES: Final = range(1, 6)
#: Ballots are published only this many at a time, and aggregates shown only from this
#: many on: the smallest crowd a ballot hides in.
TALLY_SIZE: Final = 5
COMMENT_LENGTH: Final = 500
FINDINGS_LENGTH: Final = 2000
REVIEW_KINDS: Final = tuple(LABELS["review_kind"])


def day_stamp(day: date) -> datetime:
    """The only time an evaluation event carries: the day, at midnight UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def mark_uuid(secret: bytes, learner_key: bytes, completion_id: UUID) -> UUID:
    """The mark of one learner's completion: nobody without both the bank's evaluation
    secret (key directory) and the learner's vault key (destroyed by an erasure) can compute
    it, and it cannot be turned back into either."""
    tag = hmac.new(secret, b"creditbank/evaluated\x1f" + learner_key + completion_id.bytes, hashlib.sha256)
    return UUID(bytes=tag.digest()[:16], version=4)


def box_uuid(provider_id: str, programme: str) -> UUID:
    return uuid5(NAMESPACE, f"ballot-box:{provider_id}\x1f{programme}")


def review_uuid(provider_id: str, kind: str, on: date) -> UUID:
    return uuid5(NAMESPACE, f"review:{provider_id}\x1f{kind}\x1f{on.isoformat()}")


@dataclass(frozen=True)
class Ballot:
    """One learner's evaluation, as anonymous as it is stored."""

    content: int
    teaching: int
    organisation: int
    comment: str | None = None

    def check(self) -> None:
        for criterion in CRITERIA:
            score = getattr(self, criterion)
            if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
                raise EvaluationInvalid("a score is a whole number from 1 to 5", field=f"scores.{criterion}")
        check_optional_text(self.comment, "comment", max_length=COMMENT_LENGTH)

    def as_data(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "teaching": self.teaching,
            "organisation": self.organisation,
            "comment": self.comment,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Ballot:
        return cls(int(data["content"]), int(data["teaching"]), int(data["organisation"]), data.get("comment"))


def canonical(ballot: Mapping[str, Any]) -> bytes:
    return orjson.dumps(ballot, option=orjson.OPT_SORT_KEYS)


def sorted_ballots(ballots: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ballots in the order of their content: the same set gives the same list whatever
    order they arrived in, so a tally's order says nothing of who came first."""
    return [dict(b) for b in sorted(ballots, key=canonical)]


class EvaluationMark(Aggregate):
    """ "Some learner evaluated some completion", under a tag only the bank can test."""

    @staticmethod
    def create_id(mark_id: UUID, **_: Any) -> UUID:
        return mark_id

    @event("Made")
    def __init__(self, mark_id: UUID, timestamp: datetime) -> None:
        # ``timestamp`` is the event's own (the day only); nothing else is recorded.
        del mark_id, timestamp


class BallotBox(Aggregate):
    """The ballots of one programme of one provider."""

    @staticmethod
    def create_id(provider_id: str, programme: str, **_: Any) -> UUID:
        return box_uuid(provider_id, programme)

    @event("Opened")
    def __init__(self, provider_id: str, programme: str, timestamp: datetime) -> None:
        check_identifier(provider_id, "provider_id")
        check_text(programme, "programme", max_length=64)
        self.provider_id = provider_id
        self.programme = programme
        self.received = 0
        self.tallied = 0

    @property
    def waiting(self) -> int:
        return self.received - self.tallied

    @event("Received")
    def receive(self, on: date, timestamp: datetime) -> None:
        self.received += 1

    def tally(self, ballots: Sequence[Mapping[str, Any]], on: date, timestamp: datetime) -> None:
        if len(ballots) < TALLY_SIZE or len(ballots) > self.waiting:
            raise EvaluationInvalid(f"a tally publishes {TALLY_SIZE} or more of the ballots waiting")
        self._tallied(ballots=sorted_ballots(ballots), on=on, timestamp=timestamp)

    @event("Tallied")
    def _tallied(self, ballots: list[dict[str, Any]], on: date, timestamp: datetime) -> None:
        self.tallied += len(ballots)


@dataclass(frozen=True)
class ReviewFacts:
    provider_id: str
    kind: str
    on: date
    findings: str
    rating: int

    def check(self, today: date) -> None:
        check_identifier(self.provider_id, "provider_id")
        if self.kind not in REVIEW_KINDS:
            raise EvaluationInvalid(f"kind is one of {', '.join(REVIEW_KINDS)}", field="kind")
        if self.on > today:
            raise EvaluationInvalid(f"on {self.on} is after today ({today})", field="on")
        check_text(self.findings, "findings", max_length=FINDINGS_LENGTH)
        if isinstance(self.rating, bool) or self.rating not in SCORES:
            raise EvaluationInvalid("a rating is a whole number from 1 to 5", field="rating")


class Review(Aggregate):
    """An expert's or a third party's review of a provider (by an auditor)."""

    @staticmethod
    def create_id(provider_id: str, kind: str, on: date, **_: Any) -> UUID:
        return review_uuid(provider_id, kind, on)

    @event("Recorded")
    def __init__(self, provider_id: str, kind: str, on: date, findings: str, rating: int) -> None:
        self.provider_id = provider_id
        self.kind = kind
        self.on = on
        self.findings = findings
        self.rating = rating

    def check_same(self, facts: ReviewFacts) -> None:
        if (self.findings, self.rating) != (facts.findings, facts.rating):
            raise ReviewConflict(
                f"a {facts.kind} review of {facts.provider_id} on {facts.on} was recorded with other findings",
                field="on",
            )
