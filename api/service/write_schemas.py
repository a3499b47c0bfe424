"""The bodies and answers of the write endpoints (``api.service.writes``): providers,
learners and their roles, completions one by one or in a batch.

Invariants: the shared fields and rules of ``api.service.schemas`` apply (unknown fields
refused, exact decimal hours, known vocabulary codes, the ledger's grammar of text and
identifiers); a batch's items are each a ``CompletionSchema``, loaded one by one.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.service.record_schemas import OverrideSchema
from api.service.schemas import (
    LEARNER_ID,
    Answer,
    Day,
    Hours,
    Strict,
    Text,
    WrittenSchema,
    assessment,
    category,
    identifier,
    jurisdiction,
    level,
    role,
)


class ProgrammeSchema(Strict):
    code = Text(required=True, validate=validate.Length(min=1, max=64))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(required=True, validate=category)
    level = fields.String(required=True, validate=level)


class CompletionSchema(Strict):
    record_id = fields.String(required=True, validate=identifier(128))
    provider_id = fields.String(validate=identifier(64))
    learner_id = fields.String(required=True, validate=identifier(64))
    programme = fields.Nested(ProgrammeSchema, required=True)
    hours = Hours(required=True, metadata={"example": "2.5"})
    assessment = fields.String(required=True, validate=assessment)
    completed_on = Day(required=True)
    started_on = Day(load_default=None, allow_none=True)
    topics = fields.List(
        Text(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )


def batch_of(each: type[Schema], name: str) -> fields.List[Any]:
    """A batch envelope's list: each item is loaded on its own (a bad one is rejected alone, in
    the 207); ``each`` tells the OpenAPI document so (``api.openapi``)."""
    return fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"each": each, "description": f"one to CREDITBANK_MAX_BATCH (10,000 by default) {name}"},
    )


class CompletionBatchSchema(Strict):
    """The envelope of a batch; items are validated one by one (a bad item is rejected
    alone, the rest are recorded)."""

    completions = batch_of(CompletionSchema, "completions")


class AccreditationSchema(Strict):
    categories = fields.List(fields.String(validate=category), required=True, validate=validate.Length(min=1))
    levels = fields.List(fields.String(validate=level), required=True, validate=validate.Length(min=1))
    valid_from = Day(required=True)
    valid_to = Day(load_default=None, allow_none=True)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError("must not be before valid_from", "valid_to")


class ProviderSchema(Strict):
    provider_id = fields.String(required=True, validate=identifier(64))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    accreditation = fields.Nested(AccreditationSchema, required=True)


class SuspensionSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class RoleSpellSchema(Strict):
    role = fields.String(required=True, validate=role)
    since = Day(required=True)


class LearnerSchema(Strict):
    learner_id = fields.String(required=True, validate=LEARNER_ID)
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    school = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    hired_on = Day(load_default=None, allow_none=True)
    roles = fields.List(fields.Nested(RoleSpellSchema), load_default=list)


class LearnerBatchSchema(Strict):
    """A roster; items are validated one by one (a bad item is rejected alone, the rest are
    recorded)."""

    learners = batch_of(LearnerSchema, "learners")


class RegisteredSchema(WrittenSchema):
    """The answer to one registration, or to its dry run."""

    dry_run = fields.Boolean(
        metadata={
            "description": "true when nothing was recorded (?dry_run=true): position is null for a learner "
            "that would be recorded, the original position for one registered already"
        }
    )


class LearnerResultSchema(Answer):
    #: null for a rejected item that had no usable learner_id
    learner_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["recorded", "duplicate", "rejected"]})
    position = fields.Integer(allow_none=True)
    code = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class CorrectionSchema(Strict):
    """A correction of a registration: at least one of name, school, hired_on, and why."""

    name = Text(validate=validate.Length(min=1, max=100))
    school = Text(allow_none=True, validate=validate.Length(min=1, max=200))
    hired_on = Day(allow_none=True)
    reason = Text(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _corrects_something(self, data: dict[str, Any], **_: Any) -> None:
        if not {"name", "school", "hired_on"} & data.keys():
            raise ValidationError("give at least one of name, school, hired_on")


class RoleChangeSchema(Strict):
    role = fields.String(required=True, validate=role)
    since = Day(load_default=None)
    until = Day(load_default=None)
    #: An admin's override of a refused appointment (principal, head_teacher), recorded.
    override = fields.Nested(OverrideSchema)

    @validates_schema
    def _one_of_since_until(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("since") is None) == (data.get("until") is None):
            raise ValidationError("give exactly one of since (role starts) or until (role ends)")
        if "override" in data and data.get("since") is None:
            raise ValidationError({"override": ["an override goes with a role that starts (since)"]})


class CompletionResultSchema(Answer):
    #: null for a rejected batch item that had no usable record_id
    record_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["recorded", "duplicate", "rejected"]})
    position = fields.Integer(allow_none=True)
    completion_id = fields.String()
    code = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class DryRunQuerySchema(Strict):
    """The query of a post that may be a dry run (completions, learners)."""

    dry_run = fields.Boolean(
        load_default=False,
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "true: judge every item on the ledger exactly as a post would, and record nothing; "
            "an item that would be recorded answers recorded with position null"
        },
    )


class BatchResultSchema(Answer):
    results = fields.List(fields.Nested(CompletionResultSchema))
    dry_run = fields.Boolean(metadata={"description": "true when nothing was recorded (?dry_run=true)"})
    recorded = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    position = fields.Integer(allow_none=True)


class LearnerBatchResultSchema(BatchResultSchema):
    results = fields.List(fields.Nested(LearnerResultSchema))


completion_schema = CompletionSchema()
dry_run_query_schema = DryRunQuerySchema()
completion_batch_schema = CompletionBatchSchema()
provider_schema = ProviderSchema()
suspension_schema = SuspensionSchema()
learner_schema = LearnerSchema()
learner_batch_schema = LearnerBatchSchema()
correction_schema = CorrectionSchema()
role_change_schema = RoleChangeSchema()
