"""Moves between provincial banks: a learner's departure from one bank, the arrival in another.

Invariants:
- each province runs its own bank; a bank is named by its ``bank_id`` (the settings'); the
  national teacher number is the one identity the banks share (pseudonyms are each bank's own);
- a departure is an ``Account.Departed`` event in the origin (``ledger.transfer``): it closes
  the learner's account there whole and names the destination bank, the counted completions
  it takes along and their ``history_digest`` (over the teacher number and the origin bank);
  the same departure asked again answers the recorded one (``duplicate``, same position, same
  record), one for another destination is refused (``AccountDeparted``);
- the departure record (``departure_record``) is what the origin answers, signed with its
  Ed25519 key (``sign_record``: a compact JWS); the destination accepts it only verified with
  a key it was configured to trust for that origin (``verify_record``), addressed to itself,
  and with a digest it recomputes from the record's completions;
- an arrival is an ``Account.Arrived`` event in the destination under ``arrival_id`` (``uuid5``
  of teacher number, origin bank and the departure's position), with a registration if the
  learner is new to this bank; the same arrival again answers ``duplicate``, so the move can
  be retried whole after a crash between its two halves; an arrival for a learner whose
  account is open here is refused (``ArrivalConflict``);
- both commands run in the bank's unit of work on state loaded fresh from the event store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid5

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.application import CreditBank, LearnerRegistration, Written
from ledger.completion import CompletionFacts
from ledger.errors import (
    ArrivalConflict,
    DepartureInvalid,
    DomainError,
    FederationNotConfigured,
    TransferInvalid,
)
from ledger.grammar import check_identifier
from ledger.hours import format_hours, parse_hours
from ledger.ids import NAMESPACE, event_uuid, learner_uuid
from ledger.keys import SigningKey, b64url, b64url_decode, verify_with
from ledger.learner import Learner
from ledger.standing import Standing, check_scope
from ledger.transfer import Account, Carried, history_digest

#: The JWS ``typ`` of a signed departure record.
RECORD_TYPE = "creditbank-departure+jwt"

#: The fields of a carried completion, as the departure record states them.
COMPLETION_FIELDS = (
    "event_id",
    "provider_id",
    "record_id",
    "programme_code",
    "programme_title",
    "category",
    "level",
    "hours",
    "completed_on",
    "topics",
)


def arrival_id(learner_id: str, origin: str, origin_position: int) -> str:
    """The id of the arrival of one departure: the same move always has the same id."""
    return str(uuid5(NAMESPACE, f"arrival:{learner_id}\x1f{origin}\x1f{origin_position}"))


def digest_of(learner_id: str, origin: str, completions: list[dict[str, Any]]) -> str:
    """``ledger.transfer.history_digest`` over the teacher number, the origin bank and the
    carried completions (their event ids, hours, categories and days)."""
    carried = [Carried(c["event_id"], c["hours"], c["category"], c["completed_on"]) for c in completions]
    return history_digest(learner_id, origin, carried)


def carried_completions(standing: Standing) -> list[dict[str, Any]]:
    """The learner's counted completions (passed, unrevoked), their own and those carried in
    by earlier arrivals, in the order of the log."""
    own = []
    for aggregate_id, completion in standing.completions.items():
        if not completion.earns_hours:
            continue
        f = completion.facts
        own.append(
            {
                "event_id": str(event_uuid(aggregate_id, 1)),
                "provider_id": f.provider_id,
                "record_id": f.record_id,
                "programme_code": f.programme_code,
                "programme_title": f.programme_title,
                "category": f.category,
                "level": f.level,
                "hours": f.hours,
                "completed_on": f.completed_on,
                "topics": list(f.topics),
            }
        )
    earlier = standing.account.carried() if standing.account is not None else []
    return [*earlier, *sorted(own, key=lambda c: (c["completed_on"], c["event_id"]))]


@dataclass(frozen=True)
class Moved:
    written: Written
    #: The departure record (JSON-ready), or the arrival's id and hours.
    record: dict[str, Any]


def departure_record(
    learner_id: str, origin: str, position: int, jurisdiction: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """What the origin answers for a departure recorded at ``position`` (``fields``: the
    ``Departed`` event's), JSON-ready, for signing."""
    return {
        "type": "departure",
        "learner_id": learner_id,
        "origin": origin,
        "origin_position": position,
        "jurisdiction": jurisdiction,
        "destination": fields["destination"],
        "on": fields["on"].isoformat(),
        "hours": format_hours(fields["hours"]),
        "completions": [
            {
                **c,
                "hours": format_hours(c["hours"]),
                "completed_on": c["completed_on"].isoformat(),
                "topics": list(c["topics"]),
            }
            for c in fields["completions"]
        ],
        "digest": fields["digest"],
    }


def depart_learner(
    bank: CreditBank,
    learner_id: str,
    destination: str,
    this_bank: str | None,
    on: date | None = None,
    scope: str | None = None,
) -> Moved:
    """Close the learner's account here for the bank ``destination``; ``scope``: an HR
    caller's jurisdiction. Answers the departure record (unsigned; the edge signs it)."""
    check_identifier(destination, "destination")

    def configured() -> str:
        if this_bank is None:
            raise FederationNotConfigured("set CREDITBANK_BANK_ID to take part in moves between banks")
        if destination == this_bank:
            raise TransferInvalid(f"{destination} is this bank", field="destination")
        return this_bank

    def command() -> Moved:
        subject = bank.subject_of(learner_id)
        account = bank.account_of(subject)
        if account is not None and account.departed is not None:
            # A retry answers as the first time, to the caller who could make it.
            check_scope(scope, account.jurisdiction)
            origin = configured()
            if account.departed["destination"] != destination:
                account.check_open()  # raises: it left for another bank
            found = bank.event_of(account.id, ".Departed", latest=True)
            assert found is not None  # the account's state came from this event
            event, position = found
            fields = vars(event)
            record = departure_record(learner_id, origin, position, fields["origin"], fields)
            return Moved(Written(position, "duplicate"), record)
        standing = bank.standing(learner_id)
        check_scope(scope, standing.jurisdiction)
        origin = configured()
        day = on or bank.today()
        if day > bank.today():
            raise TransferInvalid(f"{day} is in the future", field="on")
        completions = carried_completions(standing)
        digest = digest_of(learner_id, origin, completions)
        account = standing.account or Account(learner_id=subject, jurisdiction=standing.learner.jurisdiction)
        origin_jurisdiction = account.jurisdiction
        account.depart(destination, day, completions, digest)
        recorded_at = bank.record(account)
        assert recorded_at is not None and account.departed is not None  # the departure was pending
        fields = {**account.departed, "completions": completions}
        record = departure_record(learner_id, origin, recorded_at, origin_jurisdiction, fields)
        position = recorded_at
        return Moved(Written(position, "recorded"), record)

    return bank.unit_of_work(command)


def parse_record(record: Mapping[str, Any], this_bank: str) -> dict[str, Any]:
    """The arrival a verified departure record asks for, typed; refused unless it is a
    departure to this bank whose digest matches its completions."""
    try:
        if record.get("type") != "departure":
            raise DepartureInvalid("not a departure record", field="departure")
        if record["destination"] != this_bank:
            raise DepartureInvalid(
                f"the departure is to {record['destination']}, not to this bank ({this_bank})", field="departure"
            )
        completions = [
            {
                **{name: c[name] for name in COMPLETION_FIELDS},
                "hours": parse_hours(c["hours"], field="departure.completions.hours"),
                "completed_on": date.fromisoformat(c["completed_on"]),
                "topics": list(c["topics"]),
            }
            for c in record["completions"]
        ]
        learner_id, origin, position = str(record["learner_id"]), str(record["origin"]), int(record["origin_position"])
        check_identifier(origin, "departure.origin")
        for c in completions:
            # What the read models will show, in the ledger's grammar, as if posted here.
            check_identifier(c["event_id"], "event_id")
            facts = {k: v for k, v in c.items() if k != "event_id"}
            posted = CompletionFacts(
                **{**facts, "learner_id": learner_id, "assessment": "pass", "topics": tuple(c["topics"])}
            )
            posted.check_grammar()
        on, stated = date.fromisoformat(record["on"]), str(record["digest"])
        hours = sum((c["hours"] for c in completions), Decimal(0))
    except (KeyError, TypeError, ValueError, DomainError) as error:
        if isinstance(error, DepartureInvalid):
            raise
        raise DepartureInvalid(f"the departure record is malformed ({error})", field="departure") from None
    if digest_of(learner_id, origin, completions) != stated:
        raise DepartureInvalid("the digest does not match the completions the record carries", field="departure")
    return {
        "learner_id": learner_id,
        "arrival": {
            "arrival_id": arrival_id(learner_id, origin, position),
            "origin": origin,
            "origin_position": position,
            "on": on,
            "hours": hours,
            "completions": completions,
            "digest": stated,
        },
    }


def arrive_learner(
    bank: CreditBank,
    record: Mapping[str, Any],
    registration: LearnerRegistration,
    this_bank: str | None,
    scope: str | None = None,
) -> Moved:
    """Open the learner's account here from a verified departure ``record``; ``registration``
    registers the learner if new to this bank (its ``jurisdiction`` is where the account opens)."""
    check_scope(scope, registration.jurisdiction)
    if this_bank is None:
        raise FederationNotConfigured("set CREDITBANK_BANK_ID to take part in moves between banks")
    parsed = parse_record(record, this_bank)
    if parsed["learner_id"] != registration.learner_id:
        raise DepartureInvalid("the departure is of another learner", field="learner.learner_id")
    registration.check()
    arrival = {**parsed["arrival"], "jurisdiction": registration.jurisdiction}
    answer = {"arrival_id": arrival["arrival_id"], "hours": format_hours(arrival["hours"])}

    def command() -> Moved:
        subject, key = bank.enrol(registration.learner_id)
        learner = bank.get(learner_uuid(subject), Learner, fresh=True)
        account = bank.account_of(subject)
        if account is not None and arrival["arrival_id"] in account.arrivals:
            position = bank.position_of(account.id, ".Arrived", arrival_id=arrival["arrival_id"])
            return Moved(Written(position, "duplicate"), answer)
        if learner is not None:
            learner.check_not_erased()
            if account is None or account.departed is None:
                raise ArrivalConflict("the learner's account is open in this bank", field="departure")
            account.arrive(arrival)
            return Moved(Written(bank.record(account), "recorded"), answer)
        refused = bank.check_schools_known([registration])
        if refused:
            raise refused[0]
        learner = CreditBank.new_learner(registration, subject, key)
        account = Account(learner_id=subject, jurisdiction=registration.jurisdiction)
        account.arrive(arrival)
        return Moved(Written(bank.record(learner, account), "recorded"), answer)

    return bank.unit_of_work(command)


# -- signed records ------------------------------------------------------------------


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def sign_record(key: SigningKey, record: Mapping[str, Any]) -> str:
    """The record as a compact JWS (EdDSA) under the bank's current key."""
    header = {"alg": "EdDSA", "kid": key.kid, "typ": RECORD_TYPE}
    signing_input = f"{b64url(_json(header))}.{b64url(_json(record))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def verify_record(token: str, trusted: Mapping[str, Mapping[str, Ed25519PublicKey]]) -> dict[str, Any]:
    """The record a departure JWS carries, if signed by a key trusted for the bank it names
    as its origin (``trusted``: bank id -> key id -> public key); else ``DepartureInvalid``."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    try:
        if len(parts) != 3:
            raise ValueError("a compact JWS has three dot-separated parts")
        header = json.loads(b64url_decode(parts[0]))
        record = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
        if not isinstance(header, dict) or not isinstance(record, dict):
            raise ValueError("header and payload are JSON objects")
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as error:
        raise DepartureInvalid(f"the departure is not a signed record ({error})", field="departure") from None
    if header.get("alg") != "EdDSA" or header.get("typ") != RECORD_TYPE:
        raise DepartureInvalid("the departure is not a signed departure record", field="departure")
    keys = trusted.get(str(record.get("origin")))
    if not keys:
        raise DepartureInvalid(f"this bank trusts no keys of {record.get('origin')!r}", field="departure")
    kid = header.get("kid")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not isinstance(kid, str) or not verify_with(dict(keys), kid, signing_input, signature):
        raise DepartureInvalid("the signature is not the origin bank's", field="departure")
    return record
