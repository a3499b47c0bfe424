"""The bodies and queries of the evaluation endpoints (``api.service.evaluations``): a
learner's anonymous evaluation, an auditor's review, the provider and ranking reads."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from api.service.schemas import JURISDICTION_PATTERN, Day, FullMatch, ReadQuerySchema, Strict, Text, identifier
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


evaluation_schema = EvaluationSchema()
review_schema = ReviewSchema()
provider_evaluations_query_schema = ProviderEvaluationsQuerySchema()
ranking_query_schema = RankingQuerySchema()
