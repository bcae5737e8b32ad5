"""/api/v1/robots/, /api/v1/anonymous-pulls/ (admins) and /api/v1/token-requests/ (viewers read)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import services
from access.api import schema
from access.models import AnonymousPullRule, Robot, TokenRequest
from core.api.schema import body, errors, query
from core.pagination import PageNumberPagination
from core.permissions import IsAdmin, IsViewer
from jobs.api.serializers import JobReferenceSerializer
from jobs.services import job_reference

_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The id.")


def _pk(pk: str | None) -> int:
    return int(pk) if pk and pk.isascii() and pk.isdigit() and len(pk) < 18 else -1


def _refused(e: services.AccessInvalid) -> Response:
    if isinstance(e, services.NameTaken):  # a conflict with what exists: {"detail"} like every 409, and the field
        return Response({"detail": str(e.errors[next(iter(e.errors))]), **e.errors}, status=status.HTTP_409_CONFLICT)
    return Response(e.errors, status=status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(
        summary="List robot accounts (admins)", responses={200: schema.RobotSerializer(many=True), **errors(400, 404)}
    ),
    retrieve=extend_schema(
        summary="A robot account (admins)", parameters=[_ID], responses={200: schema.RobotSerializer, **errors(404)}
    ),
    create=extend_schema(
        summary="Make a robot account; its secret is in this answer only (admins)",
        request=schema.RobotCreateSerializer,
        responses={201: schema.RobotCreatedSerializer, **errors(400, 409)},
    ),
    partial_update=extend_schema(
        summary="Change a robot's rules, description or expiry (admins)",
        parameters=[_ID],
        request=schema.RobotChangeSerializer,
        responses={200: schema.RobotSerializer, **errors(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a robot account (admins)", parameters=[_ID], responses={204: None, **errors(404)}
    ),
)
class RobotViewSet(viewsets.ViewSet):
    permission_classes = [IsAdmin]
    pagination_class = PageNumberPagination
    lookup_value_regex = "[^/]+"  # any id reaches _get: not a number is a JSON 404, not the HTML page

    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(services.robots(), request, view=self)
        return paginator.get_paginated_response([schema.robot_dict(robot) for robot in page or []])

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(schema.robot_dict(self._get(pk)))

    def create(self, request: Request) -> Response:
        values = body(schema.RobotCreateSerializer, request)
        try:
            robot, secret = services.create_robot(
                values["name"],
                [dict(rule) for rule in values["rules"]],
                description=values.get("description", ""),
                expires_at=values.get("expires_at"),
                request=request,
            )
        except services.AccessInvalid as e:
            return _refused(e)
        return Response({**schema.robot_dict(robot), "secret": secret}, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        robot = self._get(pk)
        values = body(schema.RobotChangeSerializer, request)
        changes: dict[str, Any] = {}
        if "rules" in values:
            changes["rules"] = [dict(rule) for rule in values["rules"]]
        if "description" in values:
            changes["description"] = values["description"]
        if "expires_at" in values:
            changes["expires_at"] = values["expires_at"]
        try:
            services.change_robot(robot, request=request, **changes)
        except services.AccessInvalid as e:
            return _refused(e)
        return Response(schema.robot_dict(self._get(pk)))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.delete_robot(self._get(pk), request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Revoke a robot: no new token from now on (admins)",
        parameters=[_ID],
        request=None,
        responses={200: schema.RobotSerializer, **errors(404)},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        return Response(schema.robot_dict(services.revoke_robot(self._get(pk), request)))

    def _get(self, pk: str | None) -> Robot:
        return get_object_or_404(services.robots(), pk=_pk(pk))


@extend_schema_view(
    list=extend_schema(
        summary="List the repositories anyone may pull (admins)",
        responses={200: schema.AnonymousRuleSerializer(many=True), **errors(400, 404)},
    ),
    create=extend_schema(
        summary="Let anyone pull the repositories matching a glob (admins)",
        request=schema.AnonymousRuleRequestSerializer,
        responses={201: schema.AnonymousRuleSerializer, **errors(400, 409)},
    ),
    destroy=extend_schema(
        summary="End anonymous pulls of a glob (admins)", parameters=[_ID], responses={204: None, **errors(404)}
    ),
)
class AnonymousPullViewSet(viewsets.ViewSet):
    permission_classes = [IsAdmin]
    pagination_class = PageNumberPagination
    lookup_value_regex = "[^/]+"

    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(services.anonymous_rules(), request, view=self)
        return paginator.get_paginated_response(schema.AnonymousRuleSerializer(page or [], many=True).data)

    def create(self, request: Request) -> Response:
        values = body(schema.AnonymousRuleRequestSerializer, request)
        try:
            rule = services.add_anonymous_rule(values["repositories"], request)
        except services.AccessInvalid as e:
            return _refused(e)
        return Response(schema.AnonymousRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.remove_anonymous_rule(get_object_or_404(AnonymousPullRule, pk=_pk(pk)), request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="The token endpoint's requests, newest first: account, address, scopes asked, granted, refused",
    parameters=[schema.TokenRequestQuerySerializer],
    responses={200: schema.TokenRequestSerializer(many=True), **errors(400, 404)},
)
class TokenRequestList(generics.ListAPIView[TokenRequest]):
    permission_classes = [IsViewer]
    serializer_class = schema.TokenRequestSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self) -> Any:
        return services.token_requests(query(schema.TokenRequestQuerySerializer, self.request))


class RegistryLogin(APIView):
    """POST {"enabled": true|false} -> 202 with the queued switch job (admins); 409 while another job runs."""

    permission_classes = [IsAdmin]

    @extend_schema(
        summary="Require login for the registry, or stop requiring it: recreate, check, roll back on failure (admins)",
        request=schema.RegistryLoginRequestSerializer,
        responses={202: JobReferenceSerializer, **errors(400, 409, 503)},
    )
    def post(self, request: Request) -> Response:
        values = body(schema.RegistryLoginRequestSerializer, request)
        job = services.request_switch(values["enabled"], request)  # SwitchRefused: core.api.exceptions answers
        return Response(job_reference(request, job), status=status.HTTP_202_ACCEPTED)
