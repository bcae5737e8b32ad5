"""/api/v1/events/: thin views over inventory.services and inventory.receiving."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import StrictSerializer, errors, query
from core.permissions import IsViewer
from inventory import receiving, services
from inventory.models import Event


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "timestamp": event.timestamp.isoformat(),
        "action": event.action,
        "repository": event.repository,
        "tag": event.tag or None,
        "digest": event.digest or None,
        "media_type": event.media_type or None,
        "size": event.size,
        "actor": event.actor or None,
        "address": event.address or None,
        "user_agent": event.user_agent or None,
    }


class EventQuerySerializer(serializers.Serializer[None]):
    """The events' filters, validated as the schema lists them (core.api.schema.query)."""

    repository = serializers.CharField(required=False, max_length=255)
    tag = serializers.CharField(required=False, max_length=128)
    action = serializers.ChoiceField(required=False, choices=list(receiving.ACTIONS))
    actor = serializers.CharField(required=False, max_length=255)
    address = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(required=False, help_text="ISO 8601, e.g. 2026-01-31T12:00:00Z")
    until = serializers.DateTimeField(required=False, help_text="ISO 8601")


class EventSerializer(serializers.Serializer[dict[str, Any]]):
    """Documentation of event_dict."""

    id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    action = serializers.CharField()
    repository = serializers.CharField()
    tag = serializers.CharField(allow_null=True)
    digest = serializers.CharField(allow_null=True)
    media_type = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    actor = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField(allow_null=True)


class NotificationEventSerializer(serializers.Serializer[dict[str, Any]]):
    """One event of the registry's notification."""

    # Documentation only: inventory.receiving.parse reads the body, the one place that validates it.

    id = serializers.CharField(max_length=100)
    timestamp = serializers.DateTimeField(help_text="RFC 3339; events dated in year 1 or 9999 are ignored")
    action = serializers.CharField(
        required=False, allow_blank=True, help_text="push, pull, mount or delete; others are ignored"
    )
    target = serializers.DictField(required=False, help_text="repository, tag, digest, mediaType, size")
    request = serializers.DictField(required=False, help_text="addr, method, useragent")
    actor = serializers.DictField(
        required=False,
        help_text="name; beside it, source {addr, instanceID}: a new instanceID (a new registry process) "
        "records an events gap",
    )


class NotificationSerializer(StrictSerializer):
    """What the registry POSTs to the endpoint its REGISTRY_NOTIFICATIONS_ENDPOINTS names: the envelope
    has events only (another field is a 400); an event may carry fields not listed here (source,
    target.url, ...), which later registries add."""

    events = NotificationEventSerializer(many=True)


class ReceivedSerializer(serializers.Serializer[dict[str, Any]]):
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    ignored = serializers.IntegerField()


class EventsView(GenericAPIView):  # type: ignore[type-arg]
    """POST: the registry's notifications (``Authorization: Bearer <REGISTRY_EVENTS_TOKEN>``).
    GET: ``?repository=&action=&since=`` the events kept, newest first, paginated (viewers)."""

    serializer_class = EventSerializer  # what OPTIONS describes (without one it answered 500)

    def _checks_itself(self) -> bool:
        """POST checks the registry's bearer token itself (not a DRF token); a method this view lacks
        answers 405 to anyone, as the schema says, rather than 401 to the registry's token."""
        method = getattr(self.request, "method", None)  # None while drf-spectacular reads the view
        return method is not None and (method == "POST" or method not in self.allowed_methods)

    def get_authenticators(self) -> list[Any]:
        return [] if self._checks_itself() else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [] if self._checks_itself() else [IsViewer()]

    def get_throttles(self) -> list[Any]:
        """The registry is the caller of POST: one request per event, one at a time, retried from its
        memory when refused. The API's anonymous throttle (60/minute) refused it under CI traffic and
        lost events, so a sender with the right token is never throttled; a wrong or missing token
        still counts against its address (``inventory.receiving.answer``)."""
        return [] if self._checks_itself() else super().get_throttles()

    @extend_schema(
        summary="The registry's events, newest first",
        parameters=[EventQuerySerializer],
        responses={200: EventSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        given = query(EventQuerySerializer, request)
        filters: dict[str, Any] = {
            name: given.get(name, "") for name in ("repository", "tag", "action", "actor", "address")
        }
        filters.update({name: given[name] for name in ("since", "until") if name in given})
        page = self.paginate_queryset(services.recent_events(filters))
        return self.get_paginated_response([event_dict(event) for event in page or []])

    @extend_schema(
        summary="The registry's notifications (Authorization: Bearer REGISTRY_EVENTS_TOKEN)",
        request=NotificationSerializer,
        responses={
            200: ReceivedSerializer,
            **errors(400, 401),
            413: OpenApiResponse(description="The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."),
            415: OpenApiResponse(description="Not application/json or the registry's events type."),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        """Answered by ``inventory.middleware.EventsReceiver`` before the full stack; here only
        where that middleware is not installed, with the same answer."""
        return receiving.answer(request._request)


class GapSerializer(serializers.Serializer[Any]):
    """An events gap: when events cannot be trusted to have arrived."""

    from_ = serializers.DateTimeField(help_text="the last moment events are known to have flowed")
    to = serializers.DateTimeField(allow_null=True, help_text="when they flowed again; null while open")
    reason = serializers.CharField()
    detected = serializers.DateTimeField()
    reconciled = serializers.DateTimeField(
        allow_null=True, help_text="when a full reconcile begun after it finished; null: the inventory cannot vouch"
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword, the API's name
        return fields


class EventsHealthSerializer(serializers.Serializer[Any]):
    """Documentation of inventory.services.events_health."""

    enabled = serializers.BooleanField()
    received_last_minute = serializers.IntegerField()
    received_last_hour = serializers.IntegerField()
    last_received = serializers.DateTimeField(allow_null=True)
    last_event = serializers.DateTimeField(allow_null=True, help_text="the newest event's own timestamp")
    refused_last_minute = serializers.IntegerField()
    refused_last_hour = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="received, not applied yet")
    lag_seconds = serializers.FloatField(help_text="age of the oldest event not applied yet")
    tracking_since = serializers.DateTimeField(allow_null=True, help_text="the first event applied")
    trusted = serializers.BooleanField(help_text="events on, tracked, and no gap a reconcile has not covered")
    open_gaps = GapSerializer(many=True)
    gaps = GapSerializer(many=True, help_text="the last 20")


class EventsHealthView(GenericAPIView):  # type: ignore[type-arg]
    """GET: whether the registry's events arrive and are applied, and the gaps (viewers)."""

    permission_classes = [IsViewer]
    serializer_class = EventsHealthSerializer

    @extend_schema(
        summary="The registry's events: received, refused, lag, gaps", responses={200: EventsHealthSerializer}
    )
    def get(self, request: Request) -> Response:
        return Response(services.events_health())
