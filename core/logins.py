"""Failed-login limits (django-axes): the lockout answer and its audit entry."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core import audit, notable


def _minutes() -> int:
    return int(settings.LOGIN_LOCKOUT_MINUTES)


def lockout_message(request: HttpRequest) -> str:
    """When the pair (user name, address) may try again: LOGIN_LOCKOUT_MINUTES after the last failure."""
    retry_at = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    return (
        f"Too many failed logins for this user name from your address ({settings.LOGIN_FAILURE_LIMIT} "
        f"within {_minutes()} minutes). Try again after {retry_at:%H:%M} ({_minutes()} minutes from now), "
        "or ask an admin to unlock it on the admin site (Axes > Access attempts)."
    )


def lockout_response(
    request: HttpRequest, response: Any = None, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """The login page again, with the lockout message, as 429 Too Many Requests."""
    from django.contrib.auth.forms import AuthenticationForm

    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout": lockout_message(request), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def _on_lockout(
    sender: Any, request: HttpRequest | None, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    audit.record(
        action="login-locked-out",
        outcome="refused",
        request=request,
        user=None,
        via="login",
        detail=(
            f"Login for {username or '?'!s} from {ip_address or '?'} locked for {_minutes()} minutes after "
            f"{settings.LOGIN_FAILURE_LIMIT} failures."
        ),
    )
    notable.announce(notable.LOGIN_LOCKOUT, username=username or "?", ip=ip_address or "?", minutes=_minutes())


def connect() -> None:
    from axes.signals import user_locked_out

    receiver(user_locked_out, dispatch_uid="registry-admin-lockout-audit")(_on_lockout)
