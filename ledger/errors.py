"""Domain errors: one root, one subclass per rule the ledger protects.

Invariant: every refusal the write side makes is a ``DomainError`` whose ``code`` is
stable (clients branch on it) and whose ``status`` is the HTTP status an entry point
should answer with. Nothing here knows HTTP; ``status`` is only a hint carried with
the rule so that one middleware can map every error the same way.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command was refused because it would break a rule of the ledger."""

    code = "domain_error"
    status = 422
    title = "The ledger refused the command"

    def __init__(self, detail: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.context = context


class LearnerNotFound(DomainError):
    code = "learner_not_found"
    status = 404
    title = "No such learner"


class LearnerAlreadyRegistered(DomainError):
    code = "learner_already_registered"
    status = 409
    title = "A learner with this id is registered with other details"


class RoleNotHeld(DomainError):
    code = "role_not_held"
    status = 409
    title = "The learner does not hold this role"


class RoleAlreadyHeld(DomainError):
    code = "role_already_held"
    status = 409
    title = "The learner already holds this role"


class RoleDatesOutOfOrder(DomainError):
    code = "role_dates_out_of_order"
    status = 422
    title = "A role cannot end before it started"


class ProviderNotFound(DomainError):
    code = "provider_not_found"
    status = 404
    title = "No such training institution"


class ProviderSuspended(DomainError):
    code = "provider_suspended"
    status = 403
    title = "The training institution is suspended"


class ProviderNotSuspended(DomainError):
    code = "provider_not_suspended"
    status = 409
    title = "The training institution is not suspended"


class OutsideAccreditation(DomainError):
    code = "outside_accreditation"
    status = 403
    title = "The completion is outside the institution's accreditation"


class AccreditationInvalid(DomainError):
    code = "accreditation_invalid"
    status = 422
    title = "The accreditation is not valid"


class CompletionInFuture(DomainError):
    code = "completion_in_future"
    status = 422
    title = "A completion cannot be dated in the future"


class CompletionDatesOutOfOrder(DomainError):
    code = "completion_dates_out_of_order"
    status = 422
    title = "A completion cannot end before it started"


class HoursInvalid(DomainError):
    code = "hours_invalid"
    status = 422
    title = "Hours must be an exact decimal above 0 with at most two places"


class CompletionConflict(DomainError):
    code = "completion_conflict"
    status = 409
    title = "This record id was already used for a different completion"


class CompletionNotFound(DomainError):
    code = "completion_not_found"
    status = 404
    title = "No such completion"


class RevocationNotPermitted(DomainError):
    code = "revocation_not_permitted"
    status = 403
    title = "Only the posting institution or an admin may revoke a completion"


class UnknownCode(DomainError):
    code = "unknown_code"
    status = 422
    title = "The value is not one of the known codes"


class PostingAsAnotherProvider(DomainError):
    code = "posting_as_another_provider"
    status = 403
    title = "An institution posts only as itself"
