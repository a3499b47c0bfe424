"""The OpenAPI document, generated from the routes table and the marshmallow schemas.

Invariant: built once per process from ``api.service.routes.ROUTES``; what is served is what
the router and the authorisation middleware enforce.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from api.service.routes import path_parameter_schema
from api.service.schemas import ProblemSchema

_PARAM = re.compile(r"{(\w+)}")


#: Public routes that touch no resource named by the caller: no 404 beyond the router's.
_FIXED = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/v1/keys", "/v1/audit/checkpoints"}


def _errors(route: Any, has_path_parameters: bool) -> dict[str, str]:
    """The refusals an operation can actually give, as the middleware and handlers raise them."""
    errors = {"400": "malformed request (a query string or body that cannot be read)"}
    if route.roles is not None:
        errors |= {
            "401": "missing, unknown, expired or revoked token",
            "403": "the token's role may not do this, or the resource lies outside its scope",
        }
    elif route.path == "/metrics":
        errors |= {"403": "asked from outside the host (metrics answer loopback clients only)"}
    if has_path_parameters or route.path not in _FIXED:
        errors |= {"404": "no such resource (or a path that names none)"}
    if route.method in {"POST", "DELETE", "PUT", "PATCH"}:
        errors |= {"409": "conflicts with what is recorded"}
    if route.body is not None:
        errors |= {"413": "body or batch too large", "415": "not JSON (Content-Type must be application/json)"}
    if route.body is not None or route.query is not None or route.path not in _FIXED:
        errors |= {"422": "invalid fields or a broken rule; errors maps each field path to its messages"}
    errors |= {"503": "temporarily unavailable (database down, or read models behind); retry after Retry-After"}
    return errors


def _one_of(schema: Any) -> Any:
    """A schema, or for several forms of one body or answer a ``oneOf`` of them (each
    form's fields tell it apart: a batch has ``completions``, a degree credit ``type``)."""
    return {"oneOf": list(schema)} if isinstance(schema, tuple) else schema


def _each(converter: Any, field: Any, **_: Any) -> dict[str, Any]:
    """A list whose items are loaded one by one (a batch) documents the item's schema,
    named in the field's ``each`` metadata."""
    each = field.metadata.get("each")
    return {"items": converter.resolve_nested_schema(each)} if each is not None else {}


def build_openapi(routes: Any) -> dict[str, Any]:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="Creditbank",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[marshmallow],
        info={
            "description": "An event-sourced credit bank for the in-service training hours "
            "(学时) of teachers and principals. Hours are strings holding exact decimals.",
        },
    )
    assert marshmallow.converter is not None  # set by APISpec's init_spec
    marshmallow.converter.add_attribute_function(_each)  # type: ignore[no-untyped-call]
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {"summary": route.summary, "responses": {}}
        names = _PARAM.findall(route.path)
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": path_parameter_schema(name)} for name in names
        ]
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _one_of(route.body)}},
            }
        for status, (description, schema) in route.responses.items():
            content = {ct: {"schema": _one_of(schema) if schema is not None else {}} for ct in route.content_types}
            operation["responses"][str(status)] = {"description": description, "content": content}
        if route.roles is not None:
            operation["security"] = [{"bearer": []}]
            operation["x-roles"] = sorted(route.roles)
        else:
            operation["security"] = []
        for status, description in _errors(route, bool(names)).items():
            operation["responses"].setdefault(status, {"description": description, "content": problem})
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
