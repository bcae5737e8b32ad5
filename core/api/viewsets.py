"""One shape for a model's list and detail API whose writes go through its app's services, which
check and audit them (notification rules, retention policies): the viewset and its description."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import models
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from core.api.schema import errors

M = TypeVar("M", bound=models.Model)


class ServiceModelViewSet(viewsets.ModelViewSet[M], Generic[M]):
    # GET/POST on the list, GET/PUT/PATCH/DELETE on ``{id}/``; a subclass names its ``model`` and the
    # service calls that store (``save``: the instance with the request's fields set, and whether it is
    # new) and remove (``remove``) one. No docstring here: drf-spectacular would describe every
    # operation of a subclass without one of its own with it.

    model: type[M]
    lookup_value_regex = "[^/]+"  # any id reaches the view: not a number is a JSON 404, not the HTML page

    def save(self, instance: M, *, created: bool) -> M:
        raise NotImplementedError

    def remove(self, instance: M) -> None:
        raise NotImplementedError

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = self.save(self.model(**serializer.validated_data), created=True)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        instance = serializer.instance
        assert isinstance(instance, self.model)
        for name, value in serializer.validated_data.items():
            setattr(instance, name, value)
        serializer.instance = self.save(instance, created=False)

    def perform_destroy(self, instance: M) -> None:
        self.remove(instance)


def described(
    serializer: type[BaseSerializer[Any]],
    identifier: OpenApiParameter,
    *,
    one: str,
    many: str,
    read_by: str = "",
    deleted: str = "",
) -> dict[str, Any]:
    """The ``extend_schema_view`` arguments of a ``ServiceModelViewSet``: summaries naming ``one``
    and ``many`` (``read_by`` after the reads, e.g. " (admins)"; writes are the admins'), a 409 when
    a write conflicts, ``deleted`` saying what else a delete removes."""
    return {
        "list": extend_schema(
            summary=f"List {many}{read_by}", responses={200: serializer(many=True), **errors(400, 404)}
        ),
        "retrieve": extend_schema(
            summary=f"A {one}{read_by}", parameters=[identifier], responses={200: serializer, **errors(404)}
        ),
        "create": extend_schema(summary=f"Create a {one} (admins)", responses={201: serializer, **errors(400, 409)}),
        "update": extend_schema(
            summary=f"Replace a {one} (admins)",
            parameters=[identifier],
            responses={200: serializer, **errors(400, 404, 409)},
        ),
        "partial_update": extend_schema(
            summary=f"Change some of a {one} (admins)",
            parameters=[identifier],
            responses={200: serializer, **errors(400, 404, 409)},
        ),
        "destroy": extend_schema(
            summary=f"Delete a {one}{deleted} (admins)", parameters=[identifier], responses={204: None, **errors(404)}
        ),
    }
