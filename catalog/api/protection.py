"""GET/POST /api/v1/protected-tags/, GET/DELETE /api/v1/protected-tags/{id}/: every role reads, admins change.

A rule is ``{"id", "repositories": "<glob>", "tags": "<regular expression>"}`` (plus when and by
whom it was added, and the sentence the refusals name it by). The registry itself cannot
enforce these rules: they bind the dashboard's own deletes (``catalog.deletion``).
"""

from __future__ import annotations

from typing import Any, cast

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import protection
from catalog.api.schema import GlobField, RequiredRegexField
from catalog.models import ProtectedTag
from core import patterns
from core.api.schema import StrictSerializer, body, errors
from core.api.serializers import IsoDateTimeField
from core.pagination import PageNumberPagination
from core.permissions import ViewerReadsAdminWrites


def _checked(validate: Any, value: str) -> str:
    try:
        return str(validate(value))
    except ValueError as e:
        raise serializers.ValidationError(str(e)) from e


class ProtectedTagRequestSerializer(StrictSerializer):
    repositories = GlobField(
        max_length=patterns.GLOB_MAX_LENGTH,
        help_text='a repository glob: a name, "team/*" (one level), "team/**" (any depth), "**" (all)',
    )
    tags = RequiredRegexField(
        max_length=patterns.REGEX_MAX_LENGTH,
        trim_whitespace=False,
        help_text=(
            "an RE2 regular expression (no backreferences or look-arounds), matched anywhere in the tag unless "
            'anchored ("^latest$")'
        ),
    )

    def validate_repositories(self, value: str) -> str:
        return _checked(patterns.validate_glob, value)

    def validate_tags(self, value: str) -> str:
        return _checked(patterns.validate_regex, value)


class ProtectedTagSerializer(serializers.Serializer[ProtectedTag]):
    id = serializers.IntegerField()
    repositories = serializers.CharField()
    tags = serializers.CharField()
    created = IsoDateTimeField()
    # A rule whose admin was deleted has no created_by: null (DRF answers None for the missing user).
    created_by = serializers.CharField(
        source="created_by.get_username", allow_null=True, help_text="the user name of the admin who added it"
    )
    description = serializers.CharField(source="describe", help_text="how refusals and tag tables name the rule")


_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The rule's id.")


@extend_schema_view(
    list=extend_schema(
        summary="List the protected-tag rules",
        responses={200: ProtectedTagSerializer(many=True), **errors(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A protected-tag rule", parameters=[_ID], responses={200: ProtectedTagSerializer, **errors(404)}
    ),
    create=extend_schema(
        summary="Protect tags from the dashboard's deletes (admins)",
        description=(
            "The registry itself cannot enforce this unless it takes its tokens from the dashboard (/auth/token): "
            "then no token grants delete on a repository holding a protected tag; otherwise a docker client or curl "
            "with push rights can still delete a protected tag. A push over a protected tag cannot be refused by a "
            "token scope (a scope names no tag). A bad glob or regular expression is a 400 naming the field."
        ),
        request=ProtectedTagRequestSerializer,
        responses={201: ProtectedTagSerializer, **errors(400)},
    ),
    destroy=extend_schema(
        summary="Remove a protected-tag rule (admins)", parameters=[_ID], responses={204: None, **errors(404)}
    ),
)
class ProtectedTagViewSet(viewsets.ViewSet):
    permission_classes = [ViewerReadsAdminWrites]
    pagination_class = PageNumberPagination
    lookup_value_regex = "[^/]+"  # any id reaches _get: not a number is a JSON 404, not the HTML page

    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(ProtectedTag.objects.select_related("created_by"), request, view=self)
        return paginator.get_paginated_response(ProtectedTagSerializer(cast(Any, page or []), many=True).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(ProtectedTagSerializer(self._get(pk)).data)

    def create(self, request: Request) -> Response:
        values = body(ProtectedTagRequestSerializer, request)
        rule = protection.add_rule(values["repositories"], values["tags"], request)  # RuleInvalid: 400
        return Response(ProtectedTagSerializer(rule).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        protection.remove_rule(self._get(pk), request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _get(self, pk: str | None) -> ProtectedTag:
        return get_object_or_404(ProtectedTag, pk=int(pk) if pk and pk.isascii() and pk.isdigit() else -1)
