"""Degree-credit commands of the ``CreditBank``: publish a mapping version, recognise
completions' hours under it, reverse a recognition.

Invariants:
- like the bank's own commands they run on the writer thread in its unit of work
  (``CreditBank.unit_of_work``) and answer ``Written``;
- an HR caller recognises or reverses only for a learner whose current jurisdiction its
  scope covers, checked inside the command;
- the completions are read here, fresh from the event store (not from the read side), so a
  revoked or failed completion is refused by what is recorded, not by what a projection
  has applied;
- every recognition of a learner saves that learner's ``Recognitions`` aggregate, so a
  concurrent recognition elsewhere surfaces as a version conflict and this one is checked
  again against the hours the other consumed (see ``ledger.degree``);
- the same recognition id with the same mapping and completions (and hours, where asked)
  again is a duplicate; with other facts, a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.application import CreditBank, Written
from ledger.completion import Completion
from ledger.degree import DegreeMapping, MappingVersion, Offer, Recognitions, parse_mapping, recognitions_uuid
from ledger.errors import CompletionNotFound, MappingInvalid, MappingNotFound, RecognitionConflict, RecognitionInvalid
from ledger.ids import completion_uuid, event_uuid


@dataclass(frozen=True)
class Published:
    written: Written
    mapping_id: UUID
    version: int


@dataclass(frozen=True)
class RecognitionItem:
    provider_id: str
    record_id: str
    #: None: every hour of the completion still recognisable.
    hours: Decimal | None = None


@dataclass(frozen=True)
class RecognitionRequest:
    recognition_id: str
    learner_id: str
    mapping_id: UUID
    items: tuple[RecognitionItem, ...]
    mapping_version: int | None = None
    #: Default (None): the bank's today.
    on: date | None = None


@dataclass(frozen=True)
class Recognised:
    written: Written
    record: dict[str, Any]


def degree_mapping(bank: CreditBank, mapping_id: UUID) -> DegreeMapping:
    found = bank.get(mapping_id, DegreeMapping)
    if found is None:
        raise MappingNotFound(f"no degree mapping {mapping_id} is published", field="mapping_id")
    return found


def recognitions(bank: CreditBank, learner_id: str) -> Recognitions | None:
    """The recognitions of the learner with this teacher number."""
    return _recognitions_of(bank, bank.subject_of(learner_id))


def _recognitions_of(bank: CreditBank, subject: str) -> Recognitions | None:
    return bank.get(recognitions_uuid(subject), Recognitions)


def publish_mapping(bank: CreditBank, data: Mapping[str, Any]) -> Published:
    """Publish a mapping version; the same content again is a duplicate, not a new version."""
    draft = parse_mapping(data)

    def command() -> Published:
        mapping = bank.get(DegreeMapping.create_id(draft.university, draft.programme), DegreeMapping)
        if mapping is not None:
            same = mapping.find_same(draft)
            if same is not None and same.version is not None:
                position = bank.position_of(mapping.id, ".Published", version=same.version)
                return Published(Written(position, "duplicate"), mapping.id, same.version)
        else:
            if draft.version not in (None, 1):
                raise MappingInvalid("the first version of a mapping is 1", field="version")
            mapping = DegreeMapping(university=draft.university, programme=draft.programme)
        mapping.publish(draft)
        return Published(Written(bank.record(mapping), "recorded"), mapping.id, len(mapping.versions))

    return bank.unit_of_work(command)


def _version(mapping: DegreeMapping, wanted: int | None, on: date) -> MappingVersion:
    if wanted is not None:
        if not 0 < wanted <= len(mapping.versions):
            raise RecognitionInvalid(f"{mapping.programme} has no version {wanted}", field="mapping_version")
        return mapping.versions[wanted - 1]
    found = mapping.in_force(on)
    if found is None:
        raise RecognitionInvalid(f"no version of {mapping.programme} is in force on {on}", field="on")
    return found


def _offers(bank: CreditBank, items: Sequence[RecognitionItem]) -> list[Offer]:
    ids = [completion_uuid(i.provider_id, i.record_id) for i in items]
    found = bank.get_many(ids)
    offers = []
    for index, (item, cid) in enumerate(zip(items, ids, strict=True)):
        completion = found.get(cid)
        if not isinstance(completion, Completion):
            raise CompletionNotFound(
                f"{item.provider_id} has recorded no completion {item.record_id}", field=f"completions[{index}]"
            )
        f = completion.facts
        offers.append(
            Offer(
                completion_id=str(cid),
                event_id=str(event_uuid(cid, 1)),
                provider_id=f.provider_id,
                record_id=f.record_id,
                learner_id=f.learner_id,
                category=f.category,
                level=f.level,
                hours=f.hours,
                assessment=f.assessment,
                completed_on=f.completed_on,
                revoked=completion.revoked,
                wanted=item.hours,
            )
        )
    return offers


def _same(record: dict[str, Any], req: RecognitionRequest) -> bool:
    lines = {line["completion_id"]: line["hours"] for line in record["lines"]}
    asked = {str(completion_uuid(i.provider_id, i.record_id)): i.hours for i in req.items}
    return (
        record["mapping_id"] == str(req.mapping_id)
        and lines.keys() == asked.keys()
        and all(h is None or lines[c] == h for c, h in asked.items())
        and (req.mapping_version is None or req.mapping_version == record["mapping_version"])
    )


def recognise_hours(bank: CreditBank, req: RecognitionRequest, scope: str | None = None) -> Recognised:
    """Convert the named completions' hours into degree credits under a mapping; ``scope``:
    an HR caller's jurisdiction."""

    def command() -> Recognised:
        subject = bank.learner_in_scope(req.learner_id, scope).learner_id
        day = req.on or bank.today()
        if day > bank.today():
            raise RecognitionInvalid(f"{day} is in the future", field="on")
        existing = _recognitions_of(bank, subject)
        if existing is not None and req.recognition_id in existing.recognitions:
            record = existing.recognitions[req.recognition_id]
            if not _same(record, req):
                raise RecognitionConflict(
                    f"recognition {req.recognition_id} of {req.learner_id} was recorded "
                    "with another mapping or other completions",
                    field="transfer_id",
                )
            position = bank.position_of(existing.id, ".Recognised", recognition_id=req.recognition_id)
            return Recognised(Written(position, "duplicate"), record)
        mapping = degree_mapping(bank, req.mapping_id)
        version = _version(mapping, req.mapping_version, day)
        offers = _offers(bank, req.items)
        found = existing or Recognitions(learner_id=subject)
        found.recognise(req.recognition_id, str(mapping.id), version, day, offers)
        return Recognised(Written(bank.record(found), "recorded"), found.recognitions[req.recognition_id])

    return bank.unit_of_work(command)


def reverse_recognition(
    bank: CreditBank,
    learner_id: str,
    recognition_id: str,
    reason: str,
    on: date | None = None,
    scope: str | None = None,
) -> Written:
    def command() -> Written:
        found = _recognitions_of(bank, bank.learner_in_scope(learner_id, scope).learner_id)
        if found is None:
            raise RecognitionInvalid(f"{learner_id} has no degree-credit recognitions", field="transfer_id")
        day = on or bank.today()
        if day > bank.today():
            raise RecognitionInvalid(f"{day} is in the future", field="on")
        found.reverse(recognition_id, reason, day)
        return Written(bank.record(found), "recorded")

    return bank.unit_of_work(command)
