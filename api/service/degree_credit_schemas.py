"""The bodies and answers of the degree-credit endpoints (``api.service.degree_credits``):
mappings, recognitions, and the query of what a learner's completions are worth.

Invariants: credits and hours per credit are exact decimals above 0 with at most two places
(``Amount``); a programme is named by its mapping UUID or as ``university:programme``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from api.service.schemas import (
    MAX_POSITION,
    Answer,
    Day,
    FullMatch,
    Hours,
    ReadQuerySchema,
    Strict,
    Text,
    Whole,
    WrittenSchema,
    category,
    identifier,
    level,
)
from ledger.errors import HoursInvalid
from ledger.grammar import KEY_PATTERN
from ledger.hours import exact_decimal

_KEY = identifier(64, KEY_PATTERN)
_ID = identifier(64)


class Amount(fields.Field):  # type: ignore[type-arg]
    """An exact decimal above 0 with at most two places (credits, hours per credit)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValidationError('send an exact decimal such as "16" or "0.5"')
        try:
            amount = exact_decimal(value, field="amount")
        except HoursInvalid as error:
            raise ValidationError(error.detail) from None
        if amount <= 0 or amount > 1000:
            raise ValidationError("must be above 0 and at most 1000")
        return amount.quantize(Decimal("0.01"))


#: A programme named by its mapping UUID or as ``university:programme``.
MAPPING_NAME = [
    validate.Length(min=1, max=130),
    FullMatch(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9][A-Za-z0-9._-]*)?$", error="a mapping UUID or university:programme"
    ),
]


class CategoryCapSchema(Strict):
    category = fields.String(required=True, validate=category)
    #: Most degree credits from this category; omitted: only the overall cap limits it.
    cap = Amount(load_default=None, allow_none=True, metadata={"type": "string", "example": "8"})


class MappingSchema(Strict):
    university = fields.String(required=True, validate=_KEY)
    programme = fields.String(required=True, validate=_KEY)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    programme_credits = Amount(required=True, metadata={"type": "string", "example": "36"})
    hours_per_credit = Amount(required=True, metadata={"type": "string", "example": "16"})
    overall_cap = Amount(metadata={"type": "string", "example": "12"})
    overall_cap_fraction = fields.String(
        validate=FullMatch(r"^[1-9][0-9]{0,2}/[1-9][0-9]{0,2}$"), metadata={"example": "1/3"}
    )
    categories = fields.List(fields.Nested(CategoryCapSchema), required=True, validate=validate.Length(min=1, max=50))
    levels = fields.List(fields.String(validate=level), required=True, validate=validate.Length(min=1))
    effective_from = Day(required=True)
    version = Whole(validate=validate.Range(min=1, max=MAX_POSITION))


class RecognitionItemSchema(Strict):
    provider_id = fields.String(required=True, validate=_ID)
    record_id = fields.String(required=True, validate=identifier(128))
    #: Omitted: every hour of the completion still recognisable.
    hours = Hours(metadata={"example": "32"})


class RecognitionSchema(Strict):
    """``POST /v1/transfers`` with ``type: "degree_credit"``."""

    transfer_id = fields.String(required=True, validate=_ID)
    learner_id = fields.String(required=True, validate=_ID)
    type = fields.String(required=True, validate=validate.Equal("degree_credit"))
    mapping_id = fields.String(
        required=True, validate=MAPPING_NAME, metadata={"description": "the mapping's UUID, or university:programme"}
    )
    mapping_version = Whole(validate=validate.Range(min=1, max=MAX_POSITION))
    on = Day()
    completions = fields.List(
        fields.Nested(RecognitionItemSchema), required=True, validate=validate.Length(min=1, max=500)
    )


class DegreeCreditsQuerySchema(ReadQuerySchema):
    programme = fields.String(
        required=True, validate=MAPPING_NAME, metadata={"description": "the mapping's UUID, or university:programme"}
    )


class RecognisedLineSchema(Answer):
    provider_id = fields.String()
    record_id = fields.String()
    event_id = fields.String()
    category = fields.String()
    hours = fields.String()
    credits = fields.String()


class RecognisedSchema(WrittenSchema):
    """The answer to ``POST /v1/transfers`` with ``type: "degree_credit"``."""

    type = fields.String(required=True, metadata={"enum": ["degree_credit"]})
    transfer_id = fields.String(required=True)
    learner_id = fields.String()
    mapping_id = fields.String()
    university = fields.String()
    programme = fields.String()
    mapping_version = fields.Integer()
    on = fields.String()
    hours = fields.String()
    credits = fields.String()
    completions = fields.List(fields.Nested(RecognisedLineSchema))


mapping_schema = MappingSchema()
recognition_schema = RecognitionSchema()
degree_credits_query_schema = DegreeCreditsQuerySchema()
