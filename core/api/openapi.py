"""drf-spectacular hooks: the responses every API operation can give, added in one place."""

from __future__ import annotations

from typing import Any

import drf_spectacular.openapi
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from core.api.schema import DESCRIPTIONS, NO_NUL, SECURITY_ERRORS, StrictSerializer

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _tidy_any_or_null(node: Any) -> None:
    """``oneOf: [{}, {"type": "null"}]`` (a nullable JSONField) matches null twice, which a
    ``oneOf`` forbids: the value is any JSON, null included, so it becomes ``{}``."""
    if isinstance(node, dict):
        one_of = node.get("oneOf")
        if isinstance(one_of, list) and len(one_of) == 2 and {} in one_of and {"type": "null"} in one_of:
            del node["oneOf"]
        for value in node.values():
            _tidy_any_or_null(value)
    elif isinstance(node, list):
        for value in node:
            _tidy_any_or_null(value)


def _no_nul_in_free_text(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        free_text = schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema)
        if parameter.get("in") == "query" and free_text:
            schema["pattern"] = NO_NUL


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """401, 403, 429 and 503 on every operation, each a ``{"detail"}`` body (the Error component).

    503 is core.api.exceptions' answer when the database is locked or full or Redis refuses a task.
    """
    _tidy_any_or_null(result)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    )
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            _no_nul_in_free_text(operation)
            responses = operation.setdefault("responses", {})
            for status in (*SECURITY_ERRORS, 503):  # 503: the database is locked or the broker refuses
                responses.setdefault(
                    str(status),
                    {"content": {"application/json": {"schema": ERROR_REF}}, "description": DESCRIPTIONS[status]},
                )
    return result


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """drf-spectacular's, refusing a request body that is not a StrictSerializer: a new endpoint
    cannot take a body that quietly drops fields it does not know (``{"dryrun": true}`` deleted
    for real, issue 26). The schema test then fails, naming the view.

    The check sits in ``_get_request_body`` (drf-spectacular 0.30), which every request body goes
    through: ``@extend_schema(request=...)`` replaces ``get_request_serializer`` itself."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method in ("POST", "PUT", "PATCH"):
            serializer = self.get_request_serializer()
            found = serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer
            kind = found if isinstance(found, type) else type(found)
            if issubclass(kind, serializers.BaseSerializer) and not issubclass(kind, StrictSerializer):
                raise ImproperlyConfigured(
                    f"{self.method} {self.path}: the request body {kind.__name__} must derive from "
                    "core.api.schema.StrictSerializer (unknown fields are a 400)."
                )
        return super()._get_request_body(direction)
