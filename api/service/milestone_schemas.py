"""Schemas of the milestones endpoint (marshmallow, module-level instances).

Invariants: unknown query fields are refused; ``years`` is a comma-separated list of whole
numbers of years (1-60, at most 20 of them); ``school_year`` is written ``YYYY-YYYY``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from api.service.schemas import (
    AT_POSITION,
    MAX_POSITION,
    MIN_POSITION,
    SHEET_LANG,
    FullMatch,
    Strict,
    Text,
    Whole,
    jurisdiction,
)
from ledger.grammar import NAME_PATTERN
from ledger.school_year import SchoolYear, parse_school_year

#: The most numbers of years one question asks for.
MAX_MILESTONES = 20


class YearsList(fields.Field):  # type: ignore[type-arg]
    """``10,20,25,30``: distinct whole numbers of years, ascending in the answer."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        parts = value.split(",") if isinstance(value, str) else []
        if (
            not parts
            or len(parts) > MAX_MILESTONES
            or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts)  # int() of a huge text is slow
        ):
            raise ValidationError(
                f"a comma-separated list of at most {MAX_MILESTONES} whole numbers from 1 to 60, e.g. 10,20,25,30"
            )
        years = sorted({int(p) for p in parts})
        if years[0] < 1 or years[-1] > 60:
            raise ValidationError("each number of years is from 1 to 60")
        return years


class SchoolYearField(fields.Field):  # type: ignore[type-arg]
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> SchoolYear:
        try:
            return parse_school_year(value)
        except ValueError as e:
            raise ValidationError(f"{e}, e.g. 2026-2027") from None


class MilestonesQuerySchema(Strict):
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    role = fields.String(
        required=True,
        validate=FullMatch(NAME_PATTERN, error="a role is a code such as head_teacher"),
        metadata={"description": "The role whose years of service are counted, e.g. head_teacher."},
    )
    years = YearsList(
        required=True,
        metadata={
            "type": "string",
            "pattern": r"^[0-9]{1,2}(,[0-9]{1,2}){0,19}$",
            "example": "10,20,25,30",
            "description": "numbers of years, each 1 to 60 (others are refused with 422)",
        },
    )
    school_year = SchoolYearField(
        metadata={
            "type": "string",
            "pattern": r"^[0-9]{4}-[0-9]{4}$",
            "example": "2026-2027",
            "description": "The school year (YYYY-YYYY) the milestones fall in; default: the current one.",
        }
    )
    school = Text(validate=validate.Length(min=1, max=200))
    lang = fields.String(validate=validate.OneOf(["zh", "en"]), metadata={"description": SHEET_LANG})
    at_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": AT_POSITION})
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": MIN_POSITION})


milestones_query_schema = MilestonesQuerySchema()
