"""The bodies and answers of the moves between provincial banks (``api.service.federation``).

Invariant: a departure answer carries the record exactly as signed (``signed``: a compact JWS
the destination verifies with the origin's public key); ``record`` repeats its payload for
reading, and is never what an arrival takes.
"""

from __future__ import annotations

from marshmallow import fields, validate

from api.service.schemas import Answer, Day, Strict, WrittenSchema, identifier
from api.service.write_schemas import LearnerSchema

_BANK = identifier(64)


class DepartureSchema(Strict):
    #: The destination's bank id (its ``CREDITBANK_BANK_ID``).
    destination = fields.String(required=True, validate=_BANK)
    on = Day()


class ArrivalSchema(Strict):
    #: The origin's signed departure record, as its departure answered it (``signed``).
    departure = fields.String(required=True, validate=validate.Length(min=1, max=4 * 1024 * 1024))
    #: The learner as this bank registers them (if new here): its jurisdiction is where the
    #: account opens; the teacher number must be the departure's.
    learner = fields.Nested(LearnerSchema, required=True)


class CarriedSchema(Answer):
    event_id = fields.String(required=True)
    provider_id = fields.String(required=True)
    record_id = fields.String(required=True)
    category = fields.String(required=True)
    hours = fields.String(required=True)
    completed_on = fields.String(required=True)


class DepartureRecordSchema(Answer):
    type = fields.String(required=True, metadata={"enum": ["departure"]})
    learner_id = fields.String(required=True)
    origin = fields.String(required=True)
    origin_position = fields.Integer(required=True)
    jurisdiction = fields.String(required=True)
    destination = fields.String(required=True)
    on = fields.String(required=True)
    hours = fields.String(required=True)
    completions = fields.List(fields.Nested(CarriedSchema), required=True)
    digest = fields.String(required=True)


class DepartedSchema(WrittenSchema):
    record = fields.Nested(DepartureRecordSchema, required=True)
    signed = fields.String(required=True, metadata={"description": "the record as a compact JWS (EdDSA)"})


class ArrivedSchema(WrittenSchema):
    arrival_id = fields.String(required=True)
    hours = fields.String(required=True, metadata={"description": "the hours the arrival carried in"})


class MoveSchema(Answer):
    direction = fields.String(required=True, metadata={"enum": ["departed", "arrived"]})
    bank = fields.String(required=True, metadata={"description": "the destination, or the origin of an arrival"})
    origin_position = fields.Integer(required=True, allow_none=True)
    on = fields.String(required=True)
    hours = fields.String(required=True)
    digest = fields.String(required=True)
    position = fields.Integer(required=True)
    event_id = fields.String(required=True)


class MovesSchema(Answer):
    learner_id = fields.String(required=True)
    departed = fields.Boolean(required=True, metadata={"description": "true while the account is kept elsewhere"})
    moves = fields.List(fields.Nested(MoveSchema), required=True)
    position = fields.Integer(required=True)


departure_schema = DepartureSchema()
arrival_schema = ArrivalSchema()
