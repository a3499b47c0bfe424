"""Bodies and queries of the vocabulary endpoints (``api.service.vocabularies``)."""

from __future__ import annotations

from marshmallow import fields

from api.service.schemas import AS_OF, Answer, Day, ReadQuerySchema, Strict, Whole, jurisdiction


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


class VocabularyQuerySchema(ReadQuerySchema):
    jurisdiction = fields.String(
        load_default="CN", validate=jurisdiction, metadata={"description": "Default CN: the national vocabulary."}
    )
    on = Day(metadata={"description": "The codes in force on this day (default: the as_of day, else today)."})
    as_of = Day(metadata={"description": "The vocabulary in force on this day, as known at its end. " + AS_OF})


class VocabularySchema(Answer):
    jurisdiction = fields.String()
    on = fields.Date()
    codes = fields.Dict(
        metadata={
            "description": "field (category, level, assessment, role, appraisal_grade, certificate, target, "
            "token_role, problem, column, posting_status, audit_section) -> code -> {zh, en, source}. problem: "
            "every problem code's title; column: the headers of the CSV and xlsx exports; posting_status and "
            "audit_section: the bank's own codes the exports write in cells"
        }
    )
    position = fields.Integer()


vocabulary_doc_schema = VocabularyDocSchema()
vocabulary_query_schema = VocabularyQuerySchema()
