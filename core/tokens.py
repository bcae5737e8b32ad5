"""Named API tokens (issue 12): made on the Tokens page or by ``manage.py create_token``.

A token is ``ra_`` and 43 URL-safe characters, shown once; the database keeps its SHA-256. Its
role caps the user's: a viewer token of an admin can only read. ``Authorization: Token ...``
(or ``Bearer ...``) authenticates with it; DRF's own ``drf_create_token`` tokens keep working
beside them, with the user's full role.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions, throttling
from rest_framework.request import Request

from core import audit, notable
from core.models import ApiToken
from core.roles import Role, role_of

log = logging.getLogger(__name__)

PREFIX = "ra_"
# last_used_at is written at most this often per token, not on every request.
LAST_USE_RESOLUTION = timedelta(seconds=60)


class TokenInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def allowed_roles(user: Any) -> list[Role]:
    """The roles a token of this user may have: up to the user's own."""
    held = role_of(user)
    return [role for role in Role if held is not None and role <= held]


def parse_role(value: Any) -> Role:
    if isinstance(value, Role):
        return value
    names = {role.group_name: role for role in Role}
    if isinstance(value, str) and value.strip().lower() in names:
        return names[value.strip().lower()]
    raise TokenInvalid({"role": f"Must be one of {', '.join(names)}."})


@transaction.atomic
def create(
    user: Any,
    name: str,
    role: Role | str,
    expires_at: datetime | None = None,
    request: Any = None,
    via: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once, never stored). TokenInvalid({field: why}).

    Audited as ``request``'s user and channel; without a request, as ``user`` ``via`` what made
    it (``manage.py create_token``: "command line"), never the scheduler."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the token a name, e.g. ci-push or grafana."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    elif ApiToken.objects.filter(user=user, name=name).exists():
        errors["name"] = f"You already have a token named {name!r}: revoke it or choose another name."
    try:
        chosen = parse_role(role)
    except TokenInvalid as e:
        errors.update(e.errors)
    else:
        if chosen not in allowed_roles(user):
            held = role_of(user)
            errors["role"] = f"A token's role cannot be higher than yours ({held.group_name if held else 'none'})."
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "The expiry must be in the future."
    if errors:
        raise TokenInvalid(errors)
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, role=int(chosen), key_hash=digest(raw), prefix=raw[:10], expires_at=expires_at
    )
    audit.record(
        action="token-created",
        outcome="succeeded",
        request=request,
        user=user,
        via=via if request is None else None,
        detail=_describe(token),
    )
    by = request.user.get_username() if request is not None and getattr(request, "user", None) else ""
    notable.announce(
        notable.TOKEN_CREATED, name=token.name, owner=user.get_username(), role=token.get_role_display(), by=by
    )
    return token, raw


def revoke(token: ApiToken, request: Any = None) -> None:
    description = _describe(token)
    user = token.user
    token.delete()
    audit.record(action="token-revoked", outcome="succeeded", request=request, user=user, detail=description)


def _describe(token: ApiToken) -> str:
    expiry = f", expires {token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else ""
    return f"token {token.name!r} ({token.get_role_display()}{expiry}) of {token.user.get_username()}"


def is_expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= timezone.now()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token ra_...`` or ``Bearer ra_...``; other tokens go on to DRF's class."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() not in (b"token", b"bearer"):
            return None
        try:
            raw = parts[1].decode()
        except UnicodeError:
            return None
        if not raw.startswith(PREFIX):
            return None  # a drf_create_token token: TokenAuthentication's turn
        token = ApiToken.objects.select_related("user").filter(key_hash=digest(raw)).first()
        if token is None or not token.user.is_active:
            throttle_anonymous(request)
            raise exceptions.AuthenticationFailed("Invalid token: it does not exist or was revoked.")
        if is_expired(token):
            throttle_anonymous(request)
            raise exceptions.AuthenticationFailed(
                f"This token expired at {token.expires_at:%Y-%m-%d %H:%M %Z}: make a new one on the Tokens page."
            )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
            ip = audit.client_ip(request)
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
            token.last_used_at, token.last_used_ip = now, ip
        user = token.user
        user._registry_admin_role_cap = Role(token.role)  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class _FailOpen:
    """The counters live in the cache (Redis): while it is down, calls are let through rather
    than answered 500, and the health endpoint can still say that the broker is down."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
            return allowed
        except (redis.RedisError, OSError) as e:
            log.warning("API throttling skipped: the cache cannot be reached (%s)", type(e).__name__)
            return True


class TokenRateThrottle(_FailOpen, throttling.SimpleRateThrottle):
    """API_THROTTLE_RATE per token (each named token and each DRF token on its own), or per user
    for a browser session; anonymous calls are AnonAddressThrottle's."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        auth = request.auth
        if isinstance(auth, ApiToken):
            ident = f"api-{auth.pk}"
        elif auth is not None and hasattr(auth, "key"):
            ident = f"drf-{request.user.pk}"
        else:
            ident = f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonAddressThrottle(_FailOpen, throttling.AnonRateThrottle):
    """API_ANON_THROTTLE_RATE per address for calls without valid credentials.

    DRF checks throttles after authentication and permissions, so an anonymous call (401) or a
    bad token would never reach it: ``throttle_anonymous`` is also called from those two places.
    """

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "_user", None)  # not request.user: it may be mid-authentication
        if user is not None and user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": audit.client_ip(request) or "unknown"}


def throttle_anonymous(request: Request, view: Any = None) -> None:
    """Count one anonymous call of this address; Throttled (429) once over the rate."""
    throttle = AnonAddressThrottle()
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(throttle.wait())
