"""Recording and listing the audit log: who did what, from where, and how it ended."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from core.models import AuditEntry


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the server saw it (no X-Forwarded-For: it can be forged)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def via_of(request: HttpRequest | None) -> str:
    if request is None:
        return "scheduler"
    # DRF's request.auth is the Token (drf_create_token) or the ApiToken (core.tokens) of a token call.
    auth = getattr(request, "auth", None)
    return "token" if auth is not None and (hasattr(auth, "key") or hasattr(auth, "key_hash")) else "session"


def record(
    *,
    action: str,
    outcome: str,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    repository: str = "",
    tag: str = "",
    digest: str = "",
    detail: str = "",
    registry_response: str = "",
    via: str | None = None,
    fields: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry. ``request`` (a Django or DRF request) gives user, IP and channel."""
    if user is None and request is not None:
        user = request.user
    real_user = user if user is not None and user.is_authenticated else None
    return AuditEntry.objects.create(
        user=real_user,  # type: ignore[misc]
        actor=real_user.get_username() if real_user else "system",
        via=via or via_of(request),
        ip=client_ip(request),
        action=action,
        repository=repository,
        tag=tag,
        digest=digest,
        outcome=outcome,
        detail=detail[:10_000],
        registry_response=registry_response[:10_000],
        fields=fields or {},
    )


def filtered(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    """The log narrowed by the cleaned data of ``AuditFilterForm``."""
    entries = AuditEntry.objects.all()
    for name in ("action", "outcome", "actor"):
        if value := filters.get(name):
            entries = entries.filter(**{name: value})
    if repository := filters.get("repository"):
        entries = entries.filter(repository__startswith=repository)
    if since := filters.get("since"):
        entries = entries.filter(created_at__date__gte=since)
    if until := filters.get("until"):
        entries = entries.filter(created_at__date__lte=until)
    return entries


def known_actions() -> list[str]:
    return list(AuditEntry.objects.order_by().values_list("action", flat=True).distinct())
