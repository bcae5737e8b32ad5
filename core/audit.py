"""Recording and listing the audit log: who did what, from where, and how it ended."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from core.models import AuditEntry


@dataclass(frozen=True)
class Acting:
    """Who a job's work is credited to: the person who asked (or "scheduler"), and the run."""

    user: AbstractBaseUser | None
    actor: str
    via: str
    # How the job was asked for (jobs.models.Job.RequestedVia) and the token's name: a job it
    # queues (a retention run's GC) is asked for the same way.
    requested_via: str = ""
    token_name: str = ""


_acting: ContextVar[Acting | None] = ContextVar("audit_acting", default=None)


@contextlib.contextmanager
def acting_as(
    user: AbstractBaseUser | None, actor: str, via: str, *, requested_via: str = "", token_name: str = ""
) -> Iterator[None]:
    """Entries written without a request inside this block (a job's deletes, its follow-up jobs)
    are credited to ``actor`` (``user``), ``via`` the run: "acc-admin ... via retention run #12"."""
    token = _acting.set(Acting(user, actor, via, requested_via, token_name))
    try:
        yield
    finally:
        _acting.reset(token)


def acting() -> Acting | None:
    """Who the current job works for, or None outside a job."""
    return _acting.get()


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address as the server saw it (no X-Forwarded-For: it can be forged)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def via_of(request: HttpRequest | None) -> str:
    if request is None:
        # No request and no job: the dashboard itself (never "scheduler": only a scheduled run is
        # the scheduler's, and jobs say so through ``acting_as``).
        return "system"
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
    """Write one entry. ``request`` (a Django or DRF request) gives user, IP and channel; inside
    a job (``acting_as``) an entry without a request, user or channel is the job's asker's."""
    job = _acting.get() if request is None else None
    if job is not None and user is None and via is None:
        user, via = job.user, job.via
        actor = job.actor
    else:
        actor = ""
    if user is None and request is not None:
        user = request.user
    real_user = user if user is not None and user.is_authenticated else None
    return AuditEntry.objects.create(
        user=real_user,  # type: ignore[misc]
        actor=actor or (real_user.get_username() if real_user else "system"),
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
