"""Transfer commands of the ``CreditBank``: move a learner's account, reverse a move.

Invariants:
- like the bank's own commands they run on the writer thread in its unit of work
  (``CreditBank.unit_of_work``) and answer ``Written``;
- the carried completions are the learner's passed, unrevoked completions as the event
  store records them inside the command (``CreditBank.standing``), so a transfer right
  after a posting carries it, whatever the read models have applied;
- an HR caller moves or moves back only a learner whose current jurisdiction (the open
  account's) its scope covers, checked inside the command, so after one transfer the
  origin's HR can no longer move the learner;
- the same transfer id with the same destination again is a duplicate (answered with the
  original's position and hours), with another destination a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.application import CreditBank, Written
from ledger.errors import TransferConflict, TransferInvalid
from ledger.standing import check_scope
from ledger.transfer import Account, Carried


@dataclass(frozen=True)
class Transferred:
    written: Written
    #: The hours the transfer carried to the destination.
    hours: Decimal


def account(bank: CreditBank, learner_id: str) -> Account | None:
    """The account of the learner with this teacher number, if it was ever transferred."""
    return bank.account_of(bank.subject_of(learner_id))


def transfer_account(
    bank: CreditBank,
    transfer_id: str,
    learner_id: str,
    destination: str,
    on: date | None = None,
    scope: str | None = None,
) -> Transferred:
    """Move the account to ``destination``; ``scope``: an HR caller's jurisdiction."""

    def command() -> Transferred:
        standing = bank.standing(learner_id)
        subject = standing.learner.learner_id
        found = standing.account or Account(learner_id=subject, jurisdiction=standing.learner.jurisdiction)
        earlier = found.transfers.get(transfer_id)
        # A retry of a transfer answers as the first time, to the caller who could make it.
        check_scope(scope, earlier["origin"] if earlier is not None else standing.jurisdiction)
        day = on or bank.today()
        if day > bank.today():
            raise TransferInvalid(f"{day} is in the future", field="on")
        if earlier is not None:
            if earlier["destination"] != destination:
                raise TransferConflict(f"transfer {transfer_id} moved {learner_id} to {earlier['destination']}")
            position = bank.position_of(found.id, ".Transferred", transfer_id=transfer_id)
            return Transferred(Written(position, "duplicate"), earlier["hours"])
        carried = [Carried(c.event_id, c.hours, c.category, c.completed_on) for c in standing.facts.completions]
        found.transfer(transfer_id, destination, day, carried)
        return Transferred(Written(bank.record(found), "recorded"), sum((c.hours for c in carried), Decimal(0)))

    return bank.unit_of_work(command)


def reverse_transfer(
    bank: CreditBank, learner_id: str, transfer_id: str, reason: str, scope: str | None = None
) -> Written:
    def command() -> Written:
        learner = bank.learner_in_scope(learner_id, scope)
        found = bank.account_of(learner.learner_id)
        if found is None:
            raise TransferInvalid(f"{learner_id} was never transferred", field="transfer_id")
        found.reverse(transfer_id, reason, bank.today())
        return Written(bank.record(found), "recorded")

    return bank.unit_of_work(command)
