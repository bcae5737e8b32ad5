"""The token endpoint's work: who is asking (HTTP Basic, locked out like the login form), what they
get, the signed token, and the record of every request (the Activity page's token list)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from access import signing
from access.models import AnonymousPullRule, Robot, TokenRequest
from access.policy import DASHBOARD_ACCOUNT, Account, decide
from access.scopes import ScopeInvalid, parse
from core.audit import client_ip
from core.roles import role_of

log = logging.getLogger(__name__)

ROBOT_PREFIX = "robot$"
# last_used_at is written at most this often per robot, not on every token.
LAST_USE_RESOLUTION = timedelta(seconds=60)


def secret_digest(secret: str) -> str:
    """Robot secrets are 32 random bytes: SHA-256 is enough (no password to stretch), and fast."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class TokenAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, status: int, outcome: str, message: str, kind: str, account: str = "") -> None:
        super().__init__(message)
        self.status, self.outcome, self.message, self.kind, self.account = status, outcome, message, kind, account


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(name, password) of ``Authorization: Basic``; None without the header; Refused when unreadable."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise Refused(401, TokenRequest.Outcome.BAD_CREDENTIALS, "Log in with HTTP Basic (docker login).", "anonymous")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error, and non-ASCII text (ValueError)
        raise Refused(
            401,
            TokenRequest.Outcome.BAD_CREDENTIALS,
            "The Basic credentials are not base64 of name:password.",
            "anonymous",
        ) from None
    name, sep, password = decoded.partition(":")
    if not sep or not name:
        raise Refused(401, TokenRequest.Outcome.BAD_CREDENTIALS, "The Basic credentials name no account.", "anonymous")
    return name, password


def _kind_of(name: str) -> str:
    if name == DASHBOARD_ACCOUNT:
        return TokenRequest.Kind.DASHBOARD
    return TokenRequest.Kind.ROBOT if name.startswith(ROBOT_PREFIX) else TokenRequest.Kind.USER


def _locked(request: HttpRequest, name: str, kind: str) -> Refused:
    minutes = int(settings.LOGIN_LOCKOUT_MINUTES)
    return Refused(
        429,
        TokenRequest.Outcome.LOCKED_OUT,
        f"Too many failed logins for {name} from your address ({settings.LOGIN_FAILURE_LIMIT} within {minutes} "
        f"minutes). Try again {minutes} minutes after the last attempt, or ask an admin to unlock it on the admin "
        "site (Axes > Access attempts).",
        kind,
        name,
    )


def _failed(request: HttpRequest, name: str, kind: str) -> Refused:
    """A wrong password: counted towards the lockout of (name, address), like the login form."""
    if kind != TokenRequest.Kind.USER:  # django's authenticate() already sent it for users
        user_login_failed.send(sender=__name__, credentials={"username": name}, request=request)
    if getattr(request, "axes_locked_out", False):
        return _locked(request, name, kind)
    return Refused(401, TokenRequest.Outcome.BAD_CREDENTIALS, "Wrong user name or password.", kind, name)


def account_for(request: HttpRequest) -> Account:
    """The account of the request's credentials (anonymous without any); Refused otherwise."""
    credentials = _basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    if credentials is None:
        return Account(kind=TokenRequest.Kind.ANONYMOUS)
    name, password = credentials
    kind = _kind_of(name)
    if AxesProxyHandler.is_locked(request, {"username": name}):
        raise _locked(request, name, kind)
    if kind == TokenRequest.Kind.DASHBOARD:
        if not hmac.compare_digest(password.encode(), settings.DASHBOARD_REGISTRY_PASSWORD.encode()):
            raise _failed(request, name, kind)
        account = Account(kind=kind, name=name)
    elif kind == TokenRequest.Kind.ROBOT:
        account = _robot_account(request, name, password)
    else:
        user = authenticate(request, username=name, password=password)
        if user is None:
            raise _failed(request, name, kind)
        account = Account(kind=kind, name=user.get_username(), role=role_of(user))
    AxesProxyHandler.reset_attempts(ip_address=client_ip(request), username=name)
    return account


def _robot_account(request: HttpRequest, name: str, password: str) -> Account:
    kind = TokenRequest.Kind.ROBOT
    robot = Robot.objects.prefetch_related("rules").filter(name=name[len(ROBOT_PREFIX) :]).first()
    digest = secret_digest(password)
    if robot is None or not hmac.compare_digest(robot.secret_hash, digest):
        raise _failed(request, name, kind)
    if robot.revoked_at is not None:
        raise Refused(401, TokenRequest.Outcome.REVOKED, f"The robot {name} was revoked.", kind, name)
    if robot.expired:
        raise Refused(401, TokenRequest.Outcome.EXPIRED, f"The robot {name} expired.", kind, name)
    now = timezone.now()
    if robot.last_used_at is None or now - robot.last_used_at > LAST_USE_RESOLUTION:
        Robot.objects.filter(pk=robot.pk).update(last_used_at=now, last_used_ip=client_ip(request))
    rules = tuple((rule.repositories, frozenset(rule.action_list())) for rule in robot.rules.all())
    return Account(kind=kind, name=name, rules=rules)


class AnonymousTokenThrottle(SimpleRateThrottle):
    """REGISTRY_TOKEN_ANON_RATE per address for token requests without credentials (DRF's counter
    in the cache, outside DRF: the token endpoint is a plain view). Logins are axes' business."""

    scope = "registry-token-anonymous"

    def get_rate(self) -> str | None:
        return str(settings.REGISTRY_TOKEN_ANON_RATE) or None

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


def throttled(request: HttpRequest) -> int | None:
    """Seconds to wait when this address asked for more anonymous tokens than the rate allows, else None.

    The counters live in the cache (Redis): while it is down, requests are let through.
    """
    throttle = AnonymousTokenThrottle()
    if throttle.rate is None:
        return None
    try:
        # A plain Django request: the throttle reads only its address (get_cache_key) and no view.
        if throttle.allow_request(cast(Any, request), cast(Any, None)):
            return None
    except (redis.RedisError, OSError) as e:
        log.warning("Token endpoint throttling skipped: the cache cannot be reached (%s)", type(e).__name__)
        return None
    return max(1, int(throttle.wait() or 1))


def _throttled_answer(wait: int) -> TokenAnswer:
    """429 as the registry's clients read it (distribution's errcode: ``errors[].code`` TOOMANYREQUESTS),
    with the ``detail`` every other answer of the endpoint carries."""
    message = (
        f"Too many token requests without a login from your address (REGISTRY_TOKEN_ANON_RATE="
        f"{settings.REGISTRY_TOKEN_ANON_RATE}). Try again in {wait} s, or log in (docker login): logins are not "
        "limited by this rate."
    )
    body = {
        "errors": [{"code": "TOOMANYREQUESTS", "message": message, "detail": {"retry_after": wait}}],
        "detail": message,
    }
    return TokenAnswer(429, body, {"Retry-After": str(wait)})


# Counted in the cache, not recorded one by one (the Activity page shows both).
THROTTLED_COUNTER = "access:token-requests:throttled"
DASHBOARD_COUNTER = "access:token-requests:dashboard-signed"


def count_throttled() -> None:
    """Refused anonymous requests are counted (the Activity page says how many), not recorded one by one."""
    _count(THROTTLED_COUNTER)


def _count(key: str) -> None:
    """One more in the cache's counter (one round trip once it exists); nothing when the cache is down."""
    try:
        try:
            cache.incr(key)
        except ValueError:  # the first one
            if not cache.add(key, 1, timeout=None):
                cache.incr(key)
    except (redis.RedisError, OSError, ValueError):
        pass


def counters() -> dict[str, int | None]:
    """What is counted and not recorded: tokens the dashboard signed for itself, throttled requests
    (None: the cache does not answer)."""
    try:
        found = cache.get_many([DASHBOARD_COUNTER, THROTTLED_COUNTER])
    except (redis.RedisError, OSError):
        return {"dashboard": None, "throttled": None}
    return {"dashboard": int(found.get(DASHBOARD_COUNTER, 0)), "throttled": int(found.get(THROTTLED_COUNTER, 0))}


def anonymous_globs() -> list[str]:
    return list(AnonymousPullRule.objects.values_list("repositories", flat=True))


def answer(request: HttpRequest) -> TokenAnswer:
    """The token endpoint's answer to ``request`` (GET ?service=&scope=...), recorded."""
    service = request.GET.get("service", "")
    asked_strings = request.GET.getlist("scope")
    record = TokenRequest(address=client_ip(request), service=service[:255], asked=asked_strings[:100])
    try:
        account = account_for(request)
        record.kind, record.account = account.kind, account.name
        if account.kind == TokenRequest.Kind.ANONYMOUS and (wait := throttled(request)) is not None:
            count_throttled()
            return _throttled_answer(wait)
        if service and service != settings.REGISTRY_TOKEN_SERVICE:
            raise Refused(
                400,
                TokenRequest.Outcome.BAD_REQUEST,
                f'This token server signs for the service "{settings.REGISTRY_TOKEN_SERVICE}", not "{service}": set '
                "the registry's auth.token.service and REGISTRY_TOKEN_SERVICE alike.",
                account.kind,
                account.name,
            )
        try:
            asked = parse(asked_strings)
        except ScopeInvalid as e:
            raise Refused(400, TokenRequest.Outcome.BAD_REQUEST, str(e), account.kind, account.name) from None
    except Refused as refused:
        record.kind, record.account, record.outcome = refused.kind, refused.account[:200], refused.outcome
        _save(record)
        headers = {}
        if refused.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{settings.REGISTRY_TOKEN_SERVICE}"'
        elif refused.status == 429:
            headers["Retry-After"] = str(int(settings.LOGIN_LOCKOUT_MINUTES) * 60)
        return TokenAnswer(refused.status, {"detail": refused.message}, headers)
    decision = decide(account, asked, anonymous_globs())
    ttl = int(settings.REGISTRY_TOKEN_TTL)
    token, issued = signing.sign(account.name, [scope.claim() for scope in decision.granted], ttl)
    record.granted, record.refused = decision.granted_strings(), decision.refused_strings()
    record.outcome = TokenRequest.Outcome.ISSUED
    _save(record)
    issued_at = datetime.fromtimestamp(issued, tz=UTC).isoformat().replace("+00:00", "Z")
    return TokenAnswer(200, {"token": token, "access_token": token, "expires_in": ttl, "issued_at": issued_at})


def _save(record: TokenRequest) -> None:
    record.save()
    if record.pk % 500 == 0:  # now and then, not on every request: drop what the Activity page no longer keeps
        cutoff = timezone.now() - timedelta(days=int(settings.EVENTS_RETENTION_DAYS))
        TokenRequest.objects.filter(created_at__lt=cutoff).delete()


def own_token(challenge: Mapping[str, str]) -> tuple[str, int] | None:
    """The dashboard's own token for a registry challenge, signed in-process with the endpoint's key.

    The registry client's token provider (``AccessConfig.ready`` injects it): when the registry sends
    the dashboard's own client (``robot$dashboard``) to this dashboard's realm, asking /auth/token over
    HTTP would only sign the same token after a round trip and a recorded request per repository. The
    scope is the challenge's, granted whole (robot$dashboard may do everything, policy.py). Counted
    on the Activity page, not recorded one by one. None (ask the realm over HTTP): another realm,
    service or account, or a scope this server would refuse as malformed.
    """
    realm = settings.REGISTRY_TOKEN_REALM
    if not realm or challenge.get("realm") != realm or settings.REGISTRY_USERNAME != DASHBOARD_ACCOUNT:
        return None
    if not hmac.compare_digest(settings.REGISTRY_PASSWORD.encode(), settings.DASHBOARD_REGISTRY_PASSWORD.encode()):
        return None  # the endpoint would refuse this password: let it say so (401, recorded)
    if challenge.get("service", "") not in ("", settings.REGISTRY_TOKEN_SERVICE):
        return None
    try:
        asked = parse([challenge["scope"]] if challenge.get("scope") else [])
    except ScopeInvalid:
        return None
    # What decide() grants robot$dashboard, without its protected-tag query: repositories and the catalog.
    granted = [s for s in asked if s.base_type == "repository" or (s.base_type == "registry" and s.name == "catalog")]
    ttl = int(settings.REGISTRY_TOKEN_TTL)
    token, _issued = signing.sign(DASHBOARD_ACCOUNT, [scope.claim() for scope in granted], ttl)
    _count(DASHBOARD_COUNTER)
    return token, ttl
