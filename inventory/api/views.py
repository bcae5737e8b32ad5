"""/api/v1/events/: thin views over inventory.services and inventory.events."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import parsers
from core.api.schema import StrictSerializer, errors, query
from core.permissions import IsViewer
from core.tokens import throttle_anonymous
from inventory import events, services
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


class EventQuerySerializer(serializers.Serializer):
    """The events' filters, validated as the schema lists them (core.api.schema.query)."""

    repository = serializers.CharField(required=False, max_length=255)
    tag = serializers.CharField(required=False, max_length=128)
    action = serializers.ChoiceField(required=False, choices=list(events.ACTIONS))
    actor = serializers.CharField(required=False, max_length=255)
    address = serializers.CharField(required=False, max_length=255)
    since = serializers.DateTimeField(required=False, help_text="ISO 8601, e.g. 2026-01-31T12:00:00Z")
    until = serializers.DateTimeField(required=False, help_text="ISO 8601")


class EventSerializer(serializers.Serializer):
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


class NotificationEventSerializer(serializers.Serializer):
    """One event of the registry's notification."""

    # Documentation only: inventory.events.parse reads the body, the one place that validates it.

    id = serializers.CharField(max_length=100)
    timestamp = serializers.DateTimeField(help_text="RFC 3339; events dated in year 1 or 9999 are ignored")
    action = serializers.CharField(
        required=False, allow_blank=True, help_text="push, pull, mount or delete; others are ignored"
    )
    target = serializers.DictField(required=False, help_text="repository, tag, digest, mediaType, size")
    request = serializers.DictField(required=False, help_text="addr, method, useragent")
    actor = serializers.DictField(required=False, help_text="name")


class NotificationSerializer(StrictSerializer):
    """What the registry POSTs to the endpoint its REGISTRY_NOTIFICATIONS_ENDPOINTS names: the envelope
    has events only (another field is a 400); an event may carry fields not listed here (source,
    target.url, ...), which later registries add."""

    events = NotificationEventSerializer(many=True)


class ReceivedSerializer(serializers.Serializer):
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
        still counts against its address (``throttle_anonymous`` in ``post``)."""
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
        page = self.paginate_queryset(services.recent_events(filters))  # type: ignore[arg-type]
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
    def post(self, request: Request) -> Response:
        token = settings.REGISTRY_EVENTS_TOKEN
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if (
            not token
            or not header.startswith("Bearer ")
            or not hmac.compare_digest(header[7:].encode(), token.encode())
        ):
            throttle_anonymous(request)  # 429 past API_ANON_THROTTLE_RATE, as any call without credentials
        if not token:
            return Response(
                {"detail": "Events are off: set REGISTRY_EVENTS_TOKEN (see the Registry page)."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        if not header.startswith("Bearer ") or not hmac.compare_digest(header[7:].encode(), token.encode()):
            return Response(
                {"detail": "Send Authorization: Bearer <REGISTRY_EVENTS_TOKEN>."},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "Bearer"},
            )
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in events.CONTENT_TYPES:
            return Response(
                {"detail": f"Expected Content-Type {' or '.join(events.CONTENT_TYPES[:2])}."},
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        try:
            document = parsers.loads(request.body)
        except parsers.JsonTooDeep as e:
            return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        except RequestDataTooBig:
            return Response(
                {"detail": "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE: lower the endpoint's batch."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        except (ValueError, UnicodeDecodeError):
            return Response({"detail": "The body is not JSON."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            with transaction.atomic():
                received = events.receive(document)
        except events.MalformedEvents as e:
            return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"stored": received.stored, "duplicates": received.duplicates, "ignored": received.ignored})
