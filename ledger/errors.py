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


class RepeatedInRoster(DomainError):
    """A roster names the same learner twice: the first stands, the repeat is refused."""

    code = "repeated_in_batch"
    status = 422
    title = "The learner is repeated in this roster"


class CorrectionEmpty(DomainError):
    """A correction must name at least one changed field (the command answers "unchanged"
    before it comes to this)."""

    code = "correction_empty"
    status = 422
    title = "The correction changes nothing"


class LearnerErased(DomainError):
    code = "learner_erased"
    status = 410
    title = "The learner's personal data was erased; nothing more is recorded for them"


class PersonalDataUnreadable(DomainError):
    code = "personal_data_unreadable"
    status = 410
    title = "The learner's personal data cannot be opened (erased, or not sealed by this bank)"


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


class OutsideJurisdiction(DomainError):
    """The caller's jurisdiction does not cover the learner's current one (HR scope)."""

    code = "forbidden"
    status = 403
    title = "Outside your scope"


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


class PolicyNotFound(DomainError):
    code = "policy_not_found"
    status = 404
    title = "No such policy"


class PolicyInvalid(DomainError):
    code = "policy_invalid"
    status = 422
    title = "The policy version is not valid"


class RuleInvalid(DomainError):
    code = "rule_invalid"
    status = 422
    title = "A rule of the policy is not valid"


class RuleKindUnknown(DomainError):
    code = "rule_kind_unknown"
    status = 422
    title = "The rule kind is not one the bank can evaluate"


class PolicyVersionsOverlap(DomainError):
    code = "policy_versions_overlap"
    status = 409
    title = "The new version overlaps a published version of the same policy"


class PolicyVersionConflict(DomainError):
    code = "policy_version_conflict"
    status = 409
    title = "This version number was already published with other content"


class PolicyJurisdictionChanged(DomainError):
    code = "policy_jurisdiction_changed"
    status = 409
    title = "A policy keeps the jurisdiction it was first published for"


class LooseningNotExplicit(DomainError):
    code = "loosening_not_explicit"
    status = 422
    title = "A lower-level rule loosens a higher-level one without saying so"


class ReplacedRuleNotFound(DomainError):
    code = "replaced_rule_not_found"
    status = 422
    title = "The rule named in replaces is not in force above this jurisdiction"


class ConcurrentWriteConflict(DomainError):
    code = "concurrent_write_conflict"
    status = 409
    title = "Another writer kept changing the same records; retry shortly"


class RoleSpellsOverlap(DomainError):
    code = "role_spells_overlap"
    status = 409
    title = "A role cannot start again before its previous spell ended"


class IdentifierInvalid(DomainError):
    code = "identifier_invalid"
    status = 422
    title = "An identifier is not of the form the bank records"


class IdentifierReserved(DomainError):
    code = "identifier_reserved"
    status = 422
    title = "The identifier starts with a prefix the bank reserves"


class TextInvalid(DomainError):
    code = "text_invalid"
    status = 422
    title = "A text holds characters the bank does not record, or is empty or too long"


# -- certificates, transfers and degree-credit recognitions -------------------------


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


class AccountDeparted(DomainError):
    code = "account_departed"
    status = 409
    title = "The learner's account left this bank for another province's bank"


class DepartureInvalid(DomainError):
    """A departure record another bank presents is not one this bank can accept: not signed
    by a bank it trusts, meant for another bank, or its digest does not match its history."""

    code = "departure_invalid"
    status = 422
    title = "The departure record is not valid here"


class ArrivalConflict(DomainError):
    code = "arrival_conflict"
    status = 409
    title = "The learner's account is open in this bank already"


class FederationNotConfigured(DomainError):
    code = "federation_not_configured"
    status = 409
    title = "This bank has no bank id, so it can take part in no moves between banks"


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


class VocabularyInvalid(DomainError):
    code = "vocabulary_invalid"
    status = 422
    title = "The vocabulary document is not valid"


class VocabularyCodeTaken(DomainError):
    code = "vocabulary_code_taken"
    status = 409
    title = "The code is already in the national vocabulary or a parent jurisdiction's"


class VocabularyVersionConflict(DomainError):
    code = "vocabulary_version_conflict"
    status = 409
    title = "This version number was already published with other content"


class VocabularyVersionsOverlap(DomainError):
    code = "vocabulary_versions_overlap"
    status = 409
    title = "The new version must start after the latest published version"


class CodeNotInForce(DomainError):
    code = "code_not_in_force"
    status = 422
    title = "The code is not in force in the jurisdictions concerned"


class DateOutsideSchoolYear(DomainError):
    """A refusal is dated within the school year it is recorded for."""

    code = "date_outside_school_year"
    status = 422
    title = "The date lies outside the school year"


class ServiceRecordInFuture(DomainError):
    code = "service_record_in_future"
    status = 422
    title = "A service-record fact cannot be dated in the future"


class RefusalConflict(DomainError):
    """One refusal of a post is recorded per school year; other content under it is a conflict."""

    code = "refusal_conflict"
    status = 409
    title = "A different refusal of this post is already recorded for this school year"


class AppraisalConflict(DomainError):
    """One appraisal result is recorded per school year."""

    code = "appraisal_conflict"
    status = 409
    title = "A different appraisal result is already recorded for this school year"


class QualificationConflict(DomainError):
    """One teaching qualification of each kind is recorded per learner."""

    code = "qualification_conflict"
    status = 409
    title = "A different teaching qualification of this kind is already recorded"


class PriorCertificateConflict(DomainError):
    """One prior certificate of a kind is recorded per issue date."""

    code = "prior_certificate_conflict"
    status = 409
    title = "A different prior certificate of this kind and date is already recorded"


class AppointmentNotEligible(DomainError):
    """持证上岗: an appointment to principal or head teacher is judged on its start date
    (context: the verdict)."""

    code = "appointment_not_eligible"
    status = 422
    title = "The learner does not meet the appointment's requirements on that date"


class AppointmentOverrideNotPermitted(DomainError):
    """Only an admin may appoint past the verdict, with a recorded reason."""

    code = "appointment_override_not_permitted"
    status = 403
    title = "Only an admin may override the appointment check"


class EvaluationInvalid(DomainError):
    """An evaluation or review outside the contract's grammar (scores 1-5, known kinds)."""

    code = "evaluation_invalid"
    status = 422
    title = "The evaluation is not valid"


class AlreadyEvaluated(DomainError):
    """A learner evaluates each passed completion once (seed 000 §8)."""

    code = "already_evaluated"
    status = 409
    title = "This completion was evaluated already"


class CompletionNotEvaluable(DomainError):
    """Only a passed, unrevoked completion of the learner's own can be evaluated."""

    code = "completion_not_evaluable"
    status = 422
    title = "Only a passed, unrevoked completion can be evaluated"


class ReviewConflict(DomainError):
    code = "review_conflict"
    status = 409
    title = "A review of this kind and day was recorded with other findings"


class SchoolInvalid(DomainError):
    code = "school_invalid"
    status = 422
    title = "The school's details are not valid"


class SchoolNotFound(DomainError):
    code = "school_not_found"
    status = 404
    title = "No such school"


class SchoolConflict(DomainError):
    code = "school_conflict"
    status = 409
    title = "A school with this id is registered with other details"


class UnknownSchool(DomainError):
    """Once a jurisdiction has registered schools, a new learner there names one of them."""

    code = "unknown_school"
    status = 422
    title = "No such school is registered in the jurisdiction"


class PlanConflict(DomainError):
    code = "plan_conflict"
    status = 409
    title = "The school filed another plan for this school year"


class SessionNotFound(DomainError):
    code = "session_not_found"
    status = 404
    title = "No such session at this school"


class SessionConflict(DomainError):
    code = "session_conflict"
    status = 409
    title = "A session with this id was recorded with other facts"


class SessionSlotInvalid(DomainError):
    code = "slot_invalid"
    status = 422
    title = "The slot does not name the day the session was held on"


class AttendanceSheetInvalid(DomainError):
    code = "attendance_sheet_invalid"
    status = 422
    title = "The attendance sheet cannot be recorded"


class NotATeacherOfSchool(DomainError):
    """A school's sheet names only its own teachers (the learner's school, as recorded)."""

    code = "not_a_teacher_of_school"
    status = 422
    title = "The learner is not a teacher of this school"
