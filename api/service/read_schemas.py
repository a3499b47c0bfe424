"""The answers of the ledger reads (``api.service.reads``): a learner's profile, balance and
history, and the public page of the log.

Invariant: answers are ``Answer`` schemas: the fields listed always have these types and an
answer may carry more, so a new field never breaks a client. The queries these reads take
are shared (``api.service.schemas``: time travel and read-your-writes).
"""

from __future__ import annotations

from marshmallow import fields

from api.service.schemas import Answer


class TotalSchema(Answer):
    hours = fields.String()
    events = fields.List(fields.String())
    positions = fields.List(fields.Integer())


class BalanceSchema(Answer):
    learner_id = fields.String()
    position = fields.Integer()
    total = fields.Nested(TotalSchema)
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(TotalSchema))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(TotalSchema))
    cycles = fields.List(fields.Dict())


class EventSchema(Answer):
    position = fields.Integer(required=True)
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    recorded_at = fields.String(required=True)
    data = fields.Dict(required=True)
    hash = fields.String(required=True, allow_none=True, metadata={"description": "null until indexed"})


class HistorySchema(Answer):
    learner_id = fields.String(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
    position = fields.Integer(required=True)
    timeline = fields.String(required=True, metadata={"enum": ["current", "as_known_on", "at_position"]})
    as_of = fields.String()


class EventsPageSchema(Answer):
    events = fields.List(fields.Nested(EventSchema), required=True)
    after = fields.Integer(required=True)
    next_after = fields.Integer(required=True)


class LearnerViewSchema(Answer):
    learner_id = fields.String(metadata={"description": "the teacher number; erased:<pseudonym> once erased"})
    name = fields.String(allow_none=True, metadata={"description": "null once the learner's personal data is erased"})
    jurisdiction = fields.String()
    school = fields.String(allow_none=True)
    hired_on = fields.String(allow_none=True)
    roles = fields.List(fields.Dict())
    certificates = fields.List(fields.Dict())
    position = fields.Integer()
