"""The bodies of the service-record writes (``api.service.records``): refusals, appraisals,
teaching qualifications, attested prior certificates, and an appointment's override; and
the question and answer of an appointment's dry run (``api.service.appointments``).

Invariants: the shared fields and rules of ``api.service.schemas`` apply (unknown fields
refused, known vocabulary codes, the ledger's grammar of text); a school year is written
``YYYY-YYYY`` (``ledger.school_year``), the years consecutive.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from api.service.policy_schemas import VerdictSchema
from api.service.schemas import MAX_POSITION, Answer, Day, Strict, Text, Whole, role
from ledger.school_year import parse_school_year
from ledger.vocabulary import APPRAISAL_GRADES, CERTIFICATES, POSTS, QUALIFICATIONS


def _school_year(value: Any) -> None:
    try:
        parse_school_year(value)
    except ValueError as error:
        raise ValidationError(f"{error} (a school year such as 2026-2027)") from None


def _one_of(codes: dict[str, str]) -> validate.OneOf:
    return validate.OneOf(codes, error="must be one of {choices}")


class Flag(fields.Boolean):
    """A JSON true or false, nothing that merely looks like one ("yes", 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class RefusalSchema(Strict):
    """A recorded refusal of a post (seed 001 二(四)9); the reason is sealed."""

    post = fields.String(required=True, validate=_one_of(POSTS))
    school_year = fields.String(required=True, validate=_school_year, metadata={"example": "2026-2027"})
    on = Day(required=True)
    justified = Flag(required=True)
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class AppraisalSchema(Strict):
    """An annual appraisal result (年度考核); an optional reason (sealed)."""

    school_year = fields.String(required=True, validate=_school_year, metadata={"example": "2026-2027"})
    grade = fields.String(required=True, validate=_one_of(APPRAISAL_GRADES))
    on = Day(required=True)
    reason = Text(validate=validate.Length(min=1, max=500))


class QualificationSchema(Strict):
    """A teaching qualification (教师资格); the number is sealed."""

    kind = fields.String(required=True, validate=_one_of(QUALIFICATIONS))
    number = Text(required=True, validate=validate.Length(min=1, max=100))
    issued_on = Day(required=True)
    reason = Text(validate=validate.Length(min=1, max=500))


class PriorCertificateSchema(Strict):
    """A certificate issued on paper before the bank, attested by HR; the number is sealed."""

    kind = fields.String(required=True, validate=_one_of(CERTIFICATES))
    issuer = Text(required=True, validate=validate.Length(min=1, max=200))
    number = Text(required=True, validate=validate.Length(min=1, max=100))
    issued_on = Day(required=True)
    attested_by = Text(required=True, validate=validate.Length(min=1, max=200))
    document_sha256 = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}\Z", error="64 lower-case hex digits"),
    )
    reason = Text(validate=validate.Length(min=1, max=500))


class OverrideSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class AppointmentSchema(Answer):
    target = fields.String()
    on = fields.String()
    eligible = fields.Boolean(allow_none=True)
    overridden = fields.Boolean()
    policies = fields.List(fields.String())
    missing = fields.List(fields.Dict())
    note = fields.String(allow_none=True)


class RoleWrittenSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["recorded"]})
    position = fields.Integer(required=True, allow_none=True)
    appointment = fields.Nested(AppointmentSchema, metadata={"description": "principal and head_teacher only"})


class AppointmentCheckQuerySchema(Strict):
    role = fields.String(required=True, validate=role, metadata={"description": "The role to start, e.g. principal."})
    on = Day(metadata={"description": "The day the role would start (since); default today."})
    min_position = Whole(
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={
            "description": "Met by any written position (the check reads the event store itself, as the write "
            "would); beyond the log's end: 422 position_not_written."
        },
    )


class AppointmentCheckSchema(Answer):
    learner_id = fields.String(required=True)
    role = fields.String(required=True)
    on = fields.Date(required=True)
    judged = fields.Boolean(required=True, metadata={"description": "false: the role starts without a check"})
    target = fields.String(required=True, allow_none=True, metadata={"description": "null when not judged"})
    may_appoint = fields.Boolean(
        required=True,
        metadata={"description": "true when POST .../roles with this role and since would start it without override"},
    )
    verdict = fields.Nested(
        VerdictSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the verdict judged; null if not judged"},
    )
    position = fields.Integer(required=True, allow_none=True)


refusal_schema = RefusalSchema()
appraisal_schema = AppraisalSchema()
qualification_schema = QualificationSchema()
prior_certificate_schema = PriorCertificateSchema()
appointment_check_query_schema = AppointmentCheckQuerySchema()
