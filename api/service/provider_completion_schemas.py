"""The query of a provider's own postings (``api.service.provider_completions``)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.service.schemas import MAX_POSITION, SHEET_LANG, Day, ReadQuerySchema, Whole


class ProviderCompletionsQuerySchema(ReadQuerySchema):
    after = Whole(
        validate=validate.Range(min=1, max=MAX_POSITION),
        metadata={"description": "The next page: next_after of the page before (newest first, so older rows)"},
    )
    limit = Whole(load_default=100, validate=validate.Range(min=1, max=1000))
    # ``from`` is a Python keyword: the fields are named by data_key.
    start = Day(data_key="from", metadata={"description": "completed on or after this day"})
    end = Day(data_key="to", metadata={"description": "completed on or before this day"})
    lang = fields.String(validate=validate.OneOf(["zh", "en"]), metadata={"description": SHEET_LANG})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("must not be before from", field_name="to")


provider_completions_query_schema = ProviderCompletionsQuerySchema()
