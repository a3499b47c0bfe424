"""The bodies and queries of the evaluation endpoints (``api.service.evaluations``): a
learner's anonymous evaluation, an auditor's review, the provider and ranking reads."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from api.service.schemas import (
    JURISDICTION_PATTERN,
    Answer,
    Day,
    FullMatch,
    ReadQuerySchema,
    Strict,
    Text,
    identifier,
)
from ledger.evaluation import COMMENT_LENGTH, FINDINGS_LENGTH, REVIEW_KINDS


class Score(fields.Integer):
    """A score as the contract writes one: a JSON integer from 1 to 5 (not "5", 5.0 or true)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=True, validate=validate.Range(min=1, max=5), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number from 1 to 5 (a JSON integer)")
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


class ScoresSchema(Strict):
    content = Score()
    teaching = Score()
    organisation = Score()


class EvaluationSchema(Strict):
    provider_id = fields.String(required=True, validate=identifier(64))
    record_id = fields.String(required=True, validate=identifier(128))
    scores = fields.Nested(ScoresSchema, required=True)
    comment = Text(
        validate=validate.Length(min=1, max=COMMENT_LENGTH),
        metadata={"description": "anonymous: write nothing that names you or anyone else"},
    )


class ReviewSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(REVIEW_KINDS))
    on = Day(required=True)
    findings = Text(required=True, validate=validate.Length(min=1, max=FINDINGS_LENGTH))
    rating = Score()


class ProviderEvaluationsQuerySchema(ReadQuerySchema):
    programme = Text(validate=validate.Length(min=1, max=64))


class RankingQuerySchema(ReadQuerySchema):
    jurisdiction = fields.String(
        required=True, validate=FullMatch(JURISDICTION_PATTERN, error="CN or a six-digit division code")
    )


class CriterionSummarySchema(Answer):
    average = fields.String(required=True, metadata={"description": "two decimals, e.g. 4.00"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ProgrammeEvaluationsSchema(Answer):
    """A programme's evaluations: nothing but ``withheld`` while fewer than ``minimum`` are
    published (a smaller group would hide its writers less)."""

    programme = fields.String(required=True)
    count = fields.Integer(
        required=True, allow_none=True, metadata={"description": "evaluations received; null while withheld"}
    )
    withheld = fields.Boolean(required=True, metadata={"description": "true while fewer than minimum are published"})
    published = fields.Integer(required=True, metadata={"description": "0 while withheld, else minimum or more"})
    minimum = fields.Integer(required=True)
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(CriterionSummarySchema),
        required=True,
        allow_none=True,
        metadata={"description": "per criterion (content, teaching, organisation); null while withheld"},
    )
    comments = fields.List(fields.String(), required=True, allow_none=True)


class ProviderReviewSchema(Answer):
    kind = fields.String(required=True, metadata={"enum": list(REVIEW_KINDS)})
    on = fields.Date(required=True)
    findings = fields.String(required=True)
    rating = fields.Integer(required=True)
    position = fields.Integer(required=True)
    event_id = fields.String(required=True)


class ProviderEvaluationsSchema(Answer):
    provider_id = fields.String(required=True)
    minimum = fields.Integer(required=True)
    programmes = fields.List(fields.Nested(ProgrammeEvaluationsSchema), required=True)
    reviews = fields.List(fields.Nested(ProviderReviewSchema), required=True)
    position = fields.Integer(required=True)


evaluation_schema = EvaluationSchema()
review_schema = ReviewSchema()
provider_evaluations_query_schema = ProviderEvaluationsQuerySchema()
ranking_query_schema = RankingQuerySchema()
