"""The OpenAPI document, generated from the routes table and the marshmallow schemas.

Invariant: built once per process from ``api.routes.ROUTES``; what is served is what
the router and the authorisation middleware enforce.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from api.schemas import ProblemSchema

_PARAM = re.compile(r"{(\w+)}")


def build_openapi(routes: Any) -> dict[str, Any]:
    spec = APISpec(
        title="Creditbank",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "An event-sourced credit bank for the in-service training hours "
            "(学时) of teachers and principals. Hours are strings holding exact decimals.",
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {"summary": route.summary, "responses": {}}
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
        ]
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": route.body}},
            }
        for status, (description, schema) in route.responses.items():
            content = {ct: {"schema": schema if schema is not None else {}} for ct in route.content_types}
            operation["responses"][str(status)] = {"description": description, "content": content}
        errors = {"400": "malformed request", "422": "invalid fields or a broken rule"}
        if route.roles is not None:
            operation["security"] = [{"bearer": []}]
            operation["x-roles"] = sorted(route.roles)
            errors |= {"401": "missing or bad token", "403": "outside the token's scope"}
        if route.method in {"POST", "DELETE"}:
            errors |= {"404": "no such resource", "409": "conflicts with what is recorded",
                       "413": "body or batch too large", "415": "not JSON"}
        errors |= {"503": "temporarily unavailable; retry after the Retry-After header"}
        for status, description in errors.items():
            operation["responses"].setdefault(status, {"description": description, "content": problem})
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
