"""/api/v1/events/: thin views over inventory.services and inventory.events."""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.utils.dateparse import parse_datetime
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.permissions import IsViewer
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


class EventsView(GenericAPIView):  # type: ignore[type-arg]
    """POST: the registry's notifications (``Authorization: Bearer <REGISTRY_EVENTS_TOKEN>``).
    GET: ``?repository=&action=&since=`` the events kept, newest first, paginated (viewers)."""

    def get_authenticators(self) -> list[Any]:
        # The registry sends its own bearer token, not a DRF token: POST checks it itself.
        return [] if self.request.method == "POST" else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [] if self.request.method == "POST" else [IsViewer()]

    def get(self, request: Request) -> Response:
        filters: dict[str, Any] = {}
        for name in ("repository", "tag", "action", "actor", "address"):
            filters[name] = request.query_params.get(name, "").strip()
        if filters["action"] and filters["action"] not in events.ACTIONS:
            raise ValidationError({"action": f"Use one of {', '.join(events.ACTIONS)}."})
        for name in ("since", "until"):
            value = request.query_params.get(name, "").strip()
            if value:
                try:
                    parsed = parse_datetime(value)
                except ValueError:
                    parsed = None
                if parsed is None:
                    raise ValidationError({name: "Use an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z."})
                filters[name] = parsed
        page = self.paginate_queryset(services.recent_events(filters))  # type: ignore[arg-type]
        return self.get_paginated_response([event_dict(event) for event in page or []])

    def post(self, request: Request) -> Response:
        token = settings.REGISTRY_EVENTS_TOKEN
        header = request.META.get("HTTP_AUTHORIZATION", "")
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
            document = json.loads(request.body)
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
