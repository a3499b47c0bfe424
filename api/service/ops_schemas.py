"""The answers of the operational endpoints (``api.service.ops``): liveness and readiness.

Invariant: answers are ``Answer`` schemas (open to new fields).
"""

from __future__ import annotations

from marshmallow import fields

from api.service.schemas import Answer


class HealthSchema(Answer):
    status = fields.String(required=True)


class ReadinessSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["ready", "unavailable"]})
    database = fields.String(required=True, metadata={"enum": ["ok", "unreachable"]})
    position = fields.Integer()
    head = fields.Integer()
    lag = fields.Integer()
    projection = fields.String(metadata={"enum": ["stuck"], "description": "only while an event cannot be applied"})
    incident = fields.Dict(
        metadata={
            "description": "the event the read models cannot apply: position, event_id, "
            "topic, error, description, attempts, first/last_failed_at"
        }
    )
    replicas = fields.List(
        fields.Nested(lambda: ReplicaSchema()),
        metadata={"description": "only with CREDITBANK_READ_DATABASE_URL: each read standby"},
    )


class ReplicaSchema(Answer):
    standby = fields.String(required=True, metadata={"description": "host:port of the read standby"})
    status = fields.String(required=True, metadata={"enum": ["ok", "unreachable", "not_in_recovery"]})
    position = fields.Integer(metadata={"description": "the position its read models have replayed"})
    lag = fields.Integer(metadata={"description": "positions behind the primary's log"})
    replay_delay_seconds = fields.Float(
        allow_none=True, metadata={"description": "seconds since its last replayed commit (grows while idle)"}
    )
    error = fields.String(metadata={"description": "the kind of failure, when unreachable"})
