"""Request schemas for certificates (issue 4), module-level instances, unknown fields refused."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas import MAX_POSITION, Day, Strict, Text, Whole
from ledger.vocabulary import CERTIFICATES

_ID = validate.Length(min=1, max=64)


class IssueSchema(Strict):
    learner_id = Text(required=True, validate=_ID)
    kind = fields.String(required=True, validate=validate.OneOf(sorted(CERTIFICATES)))
    #: Default: today. Never in the future.
    issued_on = Day()
    valid_until = Day(load_default=None, allow_none=True)
    #: Names this issuance for idempotency; default the issue date (one per kind and day).
    issuance_id = Text(validate=_ID)


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


issue_schema = IssueSchema()
status_change_schema = StatusChangeSchema()
presented_schema = PresentedSchema()
min_position_schema = MinPositionSchema()
