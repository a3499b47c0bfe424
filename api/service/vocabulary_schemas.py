"""Bodies and queries of the vocabulary endpoints (``api.service.vocabularies``)."""

from __future__ import annotations

from marshmallow import fields, validate

from api.service.schemas import MAX_POSITION, Answer, Day, Strict, Whole, jurisdiction


class LabelsSchema(Strict):
    zh = fields.String(required=True, metadata={"example": "特殊教育"})
    en = fields.String(required=True, metadata={"example": "special education"})


class VocabularyDocSchema(Strict):
    """A version of a jurisdiction's vocabulary document: codes (lower-case names) it adds,
    each with its Chinese and English labels."""

    jurisdiction = fields.String(required=True, validate=jurisdiction)
    version = Whole()
    effective_from = Day(required=True)
    categories = fields.Dict(keys=fields.String(), values=fields.Nested(LabelsSchema))
    roles = fields.Dict(keys=fields.String(), values=fields.Nested(LabelsSchema))
    certificates = fields.Dict(keys=fields.String(), values=fields.Nested(LabelsSchema))


class VocabularyQuerySchema(Strict):
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    on = Day(metadata={"description": "The codes in force on this day (default today)."})
    at_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION))
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION))


class VocabularySchema(Answer):
    jurisdiction = fields.String()
    on = fields.Date()
    codes = fields.Dict(metadata={"description": "field (category, level, role, ...) -> code -> {zh, en, source}"})
    position = fields.Integer()


vocabulary_doc_schema = VocabularyDocSchema()
vocabulary_query_schema = VocabularyQuerySchema()
