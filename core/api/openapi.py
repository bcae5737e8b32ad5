"""drf-spectacular hooks: the responses every API operation can give, added in one place."""

from __future__ import annotations

from typing import Any

from core.api.schema import DESCRIPTIONS, SECURITY_ERRORS

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """401, 403 and 429 on every operation, each a ``{"detail"}`` body (the Error component)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    )
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status in SECURITY_ERRORS:
                responses.setdefault(
                    str(status),
                    {"content": {"application/json": {"schema": ERROR_REF}}, "description": DESCRIPTIONS[status]},
                )
    return result
