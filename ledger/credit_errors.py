"""Refusals of certificates, transfers and degree-credit recognitions.

Invariant: like ``ledger.errors``, every refusal is a ``DomainError`` with a stable
``code`` and the HTTP ``status`` an entry point should answer with.
"""

from __future__ import annotations

from ledger.errors import DomainError


class CertificateKindUnknown(DomainError):
    code = "certificate_kind_unknown"
    status = 422
    title = "No such certificate kind"


class CertificateNotEarned(DomainError):
    code = "certificate_not_earned"
    status = 422
    title = "The learner does not meet the rule for this certificate"


class CertificateNotFound(DomainError):
    code = "certificate_not_found"
    status = 404
    title = "No such certificate"


class CertificateRevoked(DomainError):
    code = "certificate_revoked"
    status = 409
    title = "The certificate is revoked; a revoked certificate stays revoked"


class CertificateNotSuspended(DomainError):
    code = "certificate_not_suspended"
    status = 409
    title = "The certificate is not suspended"


class CertificateDatesInvalid(DomainError):
    code = "certificate_dates_invalid"
    status = 422
    title = "The certificate's dates are not in order or lie in the future"


class AccountClosed(DomainError):
    code = "account_closed"
    status = 409
    title = "The learner's account in this jurisdiction was closed by a transfer"


class TransferInvalid(DomainError):
    code = "transfer_invalid"
    status = 422
    title = "The transfer is not valid"


class TransferNotFound(DomainError):
    code = "transfer_not_found"
    status = 404
    title = "No such transfer"


class TransferAlreadyReversed(DomainError):
    code = "transfer_already_reversed"
    status = 409
    title = "The transfer was reversed already"


class TransferConflict(DomainError):
    code = "transfer_conflict"
    status = 409
    title = "This transfer id was already used for a different transfer"


class MappingInvalid(DomainError):
    code = "degree_mapping_invalid"
    status = 422
    title = "The degree-credit mapping is not valid"


class MappingNotFound(DomainError):
    code = "degree_mapping_not_found"
    status = 404
    title = "No such degree-credit mapping"


class HoursAlreadyRecognised(DomainError):
    code = "hours_already_recognised"
    status = 409
    title = "These hours were already recognised as degree credit"


class RecognitionInvalid(DomainError):
    code = "recognition_invalid"
    status = 422
    title = "The recognition is not valid"


class MappingVersionConflict(DomainError):
    code = "degree_mapping_version_conflict"
    status = 409
    title = "This mapping version number was already published with other content"


class CompletionNotRecognisable(DomainError):
    code = "completion_not_recognisable"
    status = 409
    title = "The completion cannot be recognised as degree credit (revoked, failed, or not counted)"


class DegreeCapExceeded(DomainError):
    code = "degree_cap_exceeded"
    status = 409
    title = "The recognition would exceed a cap of the degree programme"


class RecognitionNotFound(DomainError):
    code = "recognition_not_found"
    status = 404
    title = "No such degree-credit recognition"


class RecognitionAlreadyReversed(DomainError):
    code = "recognition_already_reversed"
    status = 409
    title = "The recognition was reversed already"


class RecognitionConflict(DomainError):
    code = "recognition_conflict"
    status = 409
    title = "This recognition id was already used for a different recognition"
