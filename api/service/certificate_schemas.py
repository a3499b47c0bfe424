"""Request schemas for certificates, module-level instances, unknown fields refused;
and the documented shape of a certificate's record."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.service.schemas import MAX_POSITION, Answer, Day, Strict, Text, Whole, identifier
from ledger.vocabulary import CERTIFICATES

_ID = identifier(64)


class IssueSchema(Strict):
    learner_id = fields.String(required=True, validate=_ID)
    kind = fields.String(required=True, validate=validate.OneOf(sorted(CERTIFICATES)))
    #: Default: today. Never in the future.
    issued_on = Day()
    valid_until = Day(load_default=None, allow_none=True)
    #: Names this issuance for idempotency; default the issue date (one per kind and day).
    issuance_id = fields.String(validate=_ID)


class StatusChangeSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))
    #: The day the change takes effect; default today, never in the future.
    on = Day()


class PresentedSchema(Strict):
    #: The certificate as issued: the compact JWS (``header.payload.signature``).
    jws = fields.String(required=True, validate=validate.Length(min=5, max=65536))


class MinPositionSchema(Strict):
    """Public reads answer for now; ``min_position`` waits (bounded) for a recent write."""

    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION))


class WriteQuerySchema(MinPositionSchema):
    """A write decides on the log head: ``min_position`` is accepted (and waited for, like a
    read's), a timeline (``as_of``, ``at_position``) is refused by name."""

    as_of = fields.Raw(load_only=True, metadata={"description": "refused: a write decides on the log head"})
    at_position = fields.Raw(load_only=True, metadata={"description": "refused: a write decides on the log head"})

    @validates_schema
    def _no_timeline(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("as_of", "at_position"):
            if name in data:
                raise ValidationError(
                    "a write decides on the whole ledger as recorded now; no earlier position or day can be asked for",
                    field_name=name,
                )


class CertificateRecordSchema(Answer):
    """``GET /v1/certificates/{id}``: the status view, the learner, the basis and the JWS."""

    certificate_id = fields.String(required=True)
    learner_id = fields.String(required=True)
    basis = fields.Dict(
        required=True,
        metadata={
            "description": "what the issue rested on: the completion events and policy versions (an object, "
            "as in the learner profile's certificates)"
        },
    )
    jws = fields.String(required=True)
    position = fields.Integer(required=True)


issue_schema = IssueSchema()
write_query_schema = WriteQuerySchema()
status_change_schema = StatusChangeSchema()
presented_schema = PresentedSchema()
min_position_schema = MinPositionSchema()
