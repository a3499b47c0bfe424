"""Transfer commands of the ``CreditBank``: move a learner's account, reverse a move.

Invariants: run on the writer thread, retry on a version conflict, answer ``Written``;
the carried completions are read by the caller from the read side at one position and
passed in; the same transfer id with the same facts again is a duplicate, with other
facts a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ledger.application import CreditBank, Written
from ledger.credit_errors import TransferConflict, TransferInvalid
from ledger.transfer import Account, Carried, account_uuid


def account(bank: CreditBank, learner_id: str) -> Account | None:
    """The account of the learner with this teacher number, if it was ever transferred."""
    return _account_of(bank, bank.subject_of(learner_id))


def _account_of(bank: CreditBank, subject: str) -> Account | None:
    return bank._get(account_uuid(subject), Account, fresh=True)


def transfer_account(
    bank: CreditBank, transfer_id: str, learner_id: str, destination: str, carried: Sequence[Carried],
    on: date | None = None,
) -> Written:
    def command() -> Written:
        learner = bank.learner(learner_id, fresh=True)
        subject = learner.learner_id
        found = _account_of(bank, subject) or Account(learner_id=subject, jurisdiction=learner.jurisdiction)
        day = on or bank._today()
        if day > bank._today():
            raise TransferInvalid(f"{day} is in the future", field="on")
        earlier = found.transfers.get(transfer_id)
        if earlier is not None:
            if earlier["destination"] != destination:
                raise TransferConflict(f"transfer {transfer_id} moved {learner_id} to {earlier['destination']}")
            return Written(None, "duplicate")
        found.transfer(transfer_id, destination, day, carried)
        return Written(bank._save_all(found), "recorded")

    return bank._retrying(command)


def reverse_transfer(bank: CreditBank, learner_id: str, transfer_id: str, reason: str) -> Written:
    def command() -> Written:
        found = account(bank, learner_id)
        if found is None:
            raise TransferInvalid(f"{learner_id} was never transferred", field="transfer_id")
        found.reverse(transfer_id, reason, bank._today())
        return Written(bank._save_all(found), "recorded")

    return bank._retrying(command)
