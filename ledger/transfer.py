"""Credit transfers between jurisdictions' banks: the learner's account moves.

Invariants:
- a learner's account is open in exactly one jurisdiction at a time (at first, the one
  registered); an ``Account`` aggregate per learner (id from the learner id) records
  every move, so two transfers of one learner never interleave;
- a transfer closes the origin account and opens the destination with the hours carried
  (the passed, unrevoked completions at that moment, each named) and a SHA-256 digest of
  that origin history; nothing recorded in the origin is changed or deleted;
- a closed account accepts no completions: an institution whose jurisdiction covers a
  closed origin and not the open account is refused (``AccountClosed``); institutions
  covering the destination (or the whole country) post to the open account;
- spendable hours: the open account holds all of the learner's counted hours, a closed
  one none, so the sum over jurisdictions equals the learner's counted hours whatever
  the transfers (``spendable``);
- a transfer is reversed by a compensating event (the latest unreversed one only), which
  reopens the origin and closes the destination; a transfer id names one transfer;
- a departure to another bank (``Departed``, see ``ledger.federation``) closes the account
  in this bank whole: no completion, transfer or change of the learner is recorded here
  afterwards (``AccountDeparted``) until an arrival back (``Arrived``) reopens it; an arrival
  carries the origin's counted completions, which count here as the learner's from then on,
  and is recorded once under its arrival id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    AccountClosed,
    AccountDeparted,
    TransferAlreadyReversed,
    TransferConflict,
    TransferInvalid,
    TransferNotFound,
)
from ledger.grammar import REASON_LENGTH, check_identifier, check_text
from ledger.hours import format_hours
from ledger.ids import NAMESPACE
from ledger.vocabulary import covers, is_jurisdiction


@lru_cache(maxsize=50_000)
def account_uuid(learner_id: str) -> UUID:
    return uuid5(NAMESPACE, f"account:{learner_id}")


@dataclass(frozen=True)
class Carried:
    event_id: str
    hours: Decimal
    category: str
    completed_on: date


def history_digest(learner_id: str, origin: str, carried: Iterable[Carried]) -> str:
    """SHA-256 over the canonical list of what the origin counted (order-independent)."""
    items = sorted([c.event_id, format_hours(c.hours), c.category, c.completed_on.isoformat()] for c in carried)
    canonical = json.dumps(
        {"learner_id": learner_id, "origin": origin, "completions": items},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Account(Aggregate):
    @staticmethod
    def create_id(learner_id: str, **_: Any) -> UUID:
        return account_uuid(learner_id)

    @event("Opened")
    def __init__(self, learner_id: str, jurisdiction: str) -> None:
        self.learner_id = learner_id
        self.jurisdiction = jurisdiction
        self.closed: list[str] = []
        self.transfers: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        #: The move that took the account to another bank, while it is away (else None).
        self.departed: dict[str, Any] | None = None
        #: Arrivals from other banks, by arrival id (``ledger.federation.arrival_id``).
        self.arrivals: dict[str, dict[str, Any]] = {}

    def check_open(self) -> None:
        """Refuse any write for a learner whose account departed to another bank."""
        if self.departed is not None:
            raise AccountDeparted(
                f"the learner's account left this bank for {self.departed['destination']} "
                f"on {self.departed['on']}; it is kept there now",
                field="learner_id",
            )

    def carried(self) -> list[dict[str, Any]]:
        """The completions arrivals carried into this bank, in arrival order."""
        return [c for arrival in self.arrivals.values() for c in arrival["completions"]]

    def depart(self, destination: str, on: date, completions: list[dict[str, Any]], digest: str) -> None:
        """Close the account here for ``destination`` (another bank's id); ``completions``
        the counted ones it takes along, ``digest`` their ``history_digest``."""
        self.check_open()
        hours = sum((c["hours"] for c in completions), Decimal(0))
        self._departed(
            learner_id=self.learner_id,
            origin=self.jurisdiction,
            destination=destination,
            on=on,
            hours=hours,
            completions=completions,
            digest=digest,
        )

    @event("Departed")
    def _departed(
        self,
        learner_id: str,
        origin: str,
        destination: str,
        on: date,
        hours: Decimal,
        completions: list[dict[str, Any]],
        digest: str,
    ) -> None:
        self.departed = {"destination": destination, "on": on, "hours": hours, "digest": digest}

    def arrive(self, arrival: dict[str, Any]) -> None:
        """Open the account here from another bank's departure (``ledger.federation``:
        ``arrival_id``, ``origin``, ``origin_position``, ``jurisdiction``, ``on``, ``hours``,
        ``completions``, ``digest``, all checked there; the caller knows the account is not
        open here: the learner is new to this bank or departed from it)."""
        if arrival["arrival_id"] in self.arrivals:
            raise TransferConflict(f"arrival {arrival['arrival_id']} is recorded already", field="departure")
        self._arrived(learner_id=self.learner_id, **arrival)

    @event("Arrived")
    def _arrived(
        self,
        learner_id: str,
        arrival_id: str,
        origin: str,
        origin_position: int,
        jurisdiction: str,
        on: date,
        hours: Decimal,
        completions: list[dict[str, Any]],
        digest: str,
    ) -> None:
        self.arrivals[arrival_id] = {
            "arrival_id": arrival_id,
            "origin": origin,
            "origin_position": origin_position,
            "on": on,
            "hours": hours,
            "digest": digest,
            "completions": completions,
        }
        self.departed = None
        self.jurisdiction = jurisdiction

    def transfer(self, transfer_id: str, destination: str, on: date, carried: Sequence[Carried]) -> None:
        check_identifier(transfer_id, "transfer_id")
        self.check_open()
        if not is_jurisdiction(destination):
            raise TransferInvalid(f"{destination!r} is not a jurisdiction code", field="destination")
        if destination == self.jurisdiction:
            raise TransferInvalid(f"the account is already open in {destination}", field="destination")
        last = self.latest()
        if last is not None and on < last["on"]:
            raise TransferInvalid(f"a transfer on {on} cannot precede the last one ({last['on']})", field="on")
        hours = sum((c.hours for c in carried), Decimal(0))
        self._transferred(
            transfer_id=transfer_id,
            learner_id=self.learner_id,
            origin=self.jurisdiction,
            destination=destination,
            on=on,
            hours=hours,
            completions=[{"event_id": c.event_id, "hours": c.hours} for c in carried],
            digest=history_digest(self.learner_id, self.jurisdiction, carried),
        )

    def latest(self) -> dict[str, Any] | None:
        live = [t for t in self.order if not self.transfers[t]["reversed"]]
        return self.transfers[live[-1]] if live else None

    def reverse(self, transfer_id: str, reason: str, on: date) -> None:
        check_text(reason, "reason", max_length=REASON_LENGTH)
        record = self.transfers.get(transfer_id)
        if record is None:
            raise TransferNotFound(f"this learner has no transfer {transfer_id}")
        if record["reversed"]:
            raise TransferAlreadyReversed(f"transfer {transfer_id} was reversed already")
        if self.latest() is not record:
            raise TransferInvalid("only the latest transfer can be reversed; reverse the later ones first")
        self._reversed(
            transfer_id=transfer_id,
            learner_id=self.learner_id,
            reason=reason,
            on=on,
            reopened=record["origin"],
            closed=record["destination"],
        )

    def check_may_post(self, provider_jurisdiction: str) -> None:
        """Refuse a posting into a closed account (see the module invariants)."""
        self.check_open()
        if covers(provider_jurisdiction, self.jurisdiction):
            return
        for closed in self.closed:
            if covers(provider_jurisdiction, closed):
                raise AccountClosed(
                    f"the learner's account in {closed} was closed by a transfer; it is open in "
                    f"{self.jurisdiction}, where completions are posted now",
                    field="learner_id",
                )

    @event("Transferred")
    def _transferred(
        self,
        transfer_id: str,
        learner_id: str,
        origin: str,
        destination: str,
        on: date,
        hours: Decimal,
        completions: list[dict[str, Any]],
        digest: str,
    ) -> None:
        self.transfers[transfer_id] = {
            "transfer_id": transfer_id,
            "origin": origin,
            "destination": destination,
            "on": on,
            "hours": hours,
            "digest": digest,
            "reversed": False,
            "completions": completions,
        }
        self.order.append(transfer_id)
        self.closed = [j for j in self.closed if j != destination] + [origin]
        self.jurisdiction = destination

    @event("Reversed")
    def _reversed(self, transfer_id: str, learner_id: str, reason: str, on: date, reopened: str, closed: str) -> None:
        self.transfers[transfer_id]["reversed"] = True
        self.closed = [j for j in self.closed if j != reopened] + [closed]
        self.jurisdiction = reopened


def spendable(account_jurisdiction: str, closed: Iterable[str], counted_hours: Decimal) -> dict[str, Decimal]:
    """Spendable hours by jurisdiction: all in the open account, none in a closed one."""
    out = {j: Decimal(0) for j in closed}
    out[account_jurisdiction] = counted_hours
    return out
