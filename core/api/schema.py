"""The OpenAPI description's shared parts: error bodies, and responses every endpoint can give.

How an endpoint is described (the pattern for new ones):

- Request and response bodies that a DRF serializer already validates or renders are found
  by drf-spectacular itself (``serializer_class``, ``ListAPIView``).
- Bodies built by hand (dicts from a service's ``as_dict``) get a documentation serializer in
  the app's ``api/schema.py`` naming every field the dict has, and the view gets
  ``@extend_schema(responses={200: ThatSerializer, **errors(400, 404)})``.
- ``errors(...)`` adds the error bodies by status; 401, 403 and 429 are added to every
  operation (``SECURITY_ERRORS``), since any call can be unauthenticated, under-privileged or
  throttled.
- Path parameters that may hold slashes (repository names) say so: ``catalog.api.schema.NAME_PARAMETER``.

The test ``core/tests/test_schema.py`` fails when a URL under /api/v1/ is missing from the
schema or an operation lacks a documented success response.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    """Every refusal and failure: ``{"detail": "what went wrong and what to do"}``."""

    detail = serializers.CharField()


# A 400 maps each offending field (or ``non_field_errors``) to its message(s).
FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Each offending field (or non_field_errors, or detail) with its message or messages.",
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object"},
        ]
    },
    "minProperties": 1,
}

DESCRIPTIONS = {
    400: "Invalid input: the fields with their messages (or detail).",
    401: "Not authenticated: no, an unknown, an expired or a revoked token.",
    403: "Authenticated, but the role (of the user or the token) is too low; detail says which is needed.",
    404: "Not found.",
    409: "Refused: the current state does not allow it; detail says why.",
    429: "Too many requests for this token (or address): detail says when to try again.",
    502: "The registry gave an answer we could not use.",
    503: "The registry, the broker or the workers cannot be reached.",
    504: "The registry did not answer in time.",
}


def error(status: int, description: str = "") -> OpenApiResponse:
    if status == 400:
        return OpenApiResponse(FIELD_ERRORS_SCHEMA, description=description or DESCRIPTIONS[400])
    return OpenApiResponse(ErrorSerializer, description=description or DESCRIPTIONS.get(status, ""))


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation, by status: ``{**errors(400, 404)}``."""
    return {status: error(status) for status in statuses}


SECURITY_ERRORS = (401, 403, 429)
# What a registry-backed operation can answer when the registry misbehaves.
REGISTRY_ERRORS = (502, 503, 504)


def paginated(item: Any, name: str) -> Any:
    """The ``{"count", "next", "previous", "results"}`` page of ``item`` (a serializer class)."""

    @extend_schema_serializer(component_name=name)
    class Page(serializers.Serializer[dict[str, Any]]):
        count = serializers.IntegerField(min_value=0)
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = item(many=True)

    Page.__name__ = name
    return Page


class JsonBooleanField(serializers.BooleanField):
    """true or false as JSON has them: DRF's BooleanField also takes 0, 1, "yes", "on"..."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


# DRF's CharField refuses NUL characters (400): free text says so in its schema.
NO_NUL = "^[^\\u0000]*$"
# Free text that must hold something besides spaces (DRF trims it and refuses it blank), no NUL.
SOMETHING = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class JsonCharField(serializers.CharField):
    """A JSON string: DRF's CharField also takes 0 and turns it into "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictSerializer(serializers.Serializer[Any]):
    """A request body that refuses fields it does not name (400), and says so in the schema
    (``additionalProperties: false``), so the description and the validation agree."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = ", ".join(self.fields)
            unknown = {name: f"Unknown field: the fields are {known}." for name in data if name not in self.fields}
            if unknown:
                raise ValidationError(unknown)
        return super().to_internal_value(data)


class StrictSerializerExtension(OpenApiSerializerExtension):
    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


def body(serializer_class: type[serializers.Serializer[Any]], request: Request, **kwargs: Any) -> dict[str, Any]:
    """The request's JSON body validated by the serializer its schema is made from (400 otherwise)."""
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    """The query parameters validated by the serializer the schema lists them from (400 otherwise).

    Declare the same class in ``@extend_schema(parameters=[ThatSerializer])``: the schema and the
    validation then come from one place. Parameters it does not name (page, page_size, format)
    are left to their owners.
    """
    names = set(serializer_class().fields)
    data = {name: request.query_params.get(name) for name in names if name in request.query_params}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
