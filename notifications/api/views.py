"""/api/v1/notifications/: channels and rules (admins only: a channel's address is a credential),
a channel's delivery log, a test message, a new signing secret."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.api.schema import errors, paginated
from core.api.viewsets import ServiceModelViewSet, described
from core.permissions import IsAdmin
from notifications import services
from notifications.api import schema
from notifications.models import Channel, Rule

_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The id.")


class TestQueuedSerializer(serializers.Serializer[Any]):
    delivery = serializers.IntegerField(help_text="the test delivery's id: see it in deliveries/")
    status = serializers.CharField()


@extend_schema_view(
    list=extend_schema(
        summary="List notification channels (admins)",
        responses={200: schema.ChannelSerializer(many=True), **errors(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A notification channel (admins)",
        parameters=[_ID],
        responses={200: schema.ChannelSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Create a notification channel (admins); a webhook's signing secret is in this answer only",
        request=schema.ChannelSerializer,
        responses={201: schema.CreatedChannelSerializer, **errors(400)},
    ),
    update=extend_schema(
        summary="Replace a notification channel (admins); one that becomes a webhook: POST secret/ for its key",
        parameters=[_ID],
        responses={200: schema.ChannelSerializer, **errors(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a notification channel (admins)",
        parameters=[_ID],
        responses={200: schema.ChannelSerializer, **errors(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a notification channel, its rules and its log (admins)",
        parameters=[_ID],
        responses={204: None, **errors(404)},
    ),
)
class ChannelViewSet(viewsets.ModelViewSet[Channel]):
    serializer_class = schema.ChannelSerializer
    permission_classes = [IsAdmin]
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel, secret = services.create_channel(dict(serializer.validated_data), request)
        answer = schema.CreatedChannelSerializer(channel, context=self.get_serializer_context()).data
        answer["secret"] = secret
        return Response(answer, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        channel = serializer.instance
        assert isinstance(channel, Channel)
        serializer.instance, _ = services.update_channel(channel, dict(serializer.validated_data), self.request)

    def perform_destroy(self, instance: Channel) -> None:
        services.delete_channel(instance, self.request)

    @extend_schema(
        summary="Send a test message on the channel, from a worker (admins)",
        parameters=[_ID],
        request=None,
        responses={202: TestQueuedSerializer, **errors(404, 503)},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.send_test(self.get_object(), request)
        return Response({"delivery": delivery.pk, "status": delivery.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Make a new signing secret for a webhook channel, shown only in this answer (admins)",
        parameters=[_ID],
        request=None,
        responses={200: schema.SecretSerializer, **errors(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def secret(self, request: Request, pk: str | None = None) -> Response:
        channel = self.get_object()
        if channel.kind != Channel.Kind.WEBHOOK:
            return Response({"detail": "Only a webhook channel signs its messages."}, status=409)
        return Response({"secret": services.rotate_secret(channel, request)})

    @extend_schema(
        summary="The channel's delivery log, newest first (admins)",
        parameters=[_ID],
        responses={200: paginated(schema.DeliverySerializer, "PaginatedDeliveryList"), **errors(404)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        paginator = self.paginator  # the viewset's queryset is channels; this page is their deliveries
        assert paginator is not None
        page = paginator.paginate_queryset(services.deliveries(self.get_object()), request, view=self) or []
        return self.get_paginated_response(schema.DeliverySerializer(page, many=True).data)


@extend_schema_view(
    **described(schema.RuleSerializer, _ID, one="notification rule", many="notification rules", read_by=" (admins)")
)
class RuleViewSet(ServiceModelViewSet[Rule]):
    model = Rule
    serializer_class = schema.RuleSerializer
    permission_classes = [IsAdmin]

    def get_queryset(self) -> QuerySet[Rule]:
        return Rule.objects.select_related("channel")

    def save(self, instance: Rule, *, created: bool) -> Rule:
        return services.save_rule(instance, self.request, created=created)

    def remove(self, instance: Rule) -> None:
        services.delete_rule(instance, self.request)
