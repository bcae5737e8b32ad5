"""Robot accounts and anonymous pulls: validated, saved and audited. Pages and the API call these."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from access import task_names
from access.models import ACTIONS, AnonymousPullRule, Robot, RobotRule, TokenRequest
from access.tokens import ROBOT_PREFIX, secret_digest
from core import audit, notable, patterns
from core.errors import ActionableError
from jobs import services as job_services
from jobs.models import Job
from registry_client import client as registry

NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
_NAME = re.compile(NAME_PATTERN)
RESERVED_NAMES = frozenset({"dashboard"})  # robot$dashboard is the dashboard's own account
MAX_RULES = 50
SECRET_PREFIX = "rs_"  # noqa: S105 - the prefix of generated secrets, not a secret


class AccessInvalid(ValueError):
    """Bad input: ``errors`` maps each field to what to change."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


class NameTaken(AccessInvalid):
    pass


def validate_name(value: str) -> str:
    name = (value or "").strip()
    if not _NAME.fullmatch(name):
        raise ValueError(
            "A robot's name is 1 to 64 lowercase letters, digits, '.', '_' and '-', starting with a letter or digit "
            "(e.g. ci or nas-backup); it logs in as robot$NAME."
        )
    if name in RESERVED_NAMES:
        raise ValueError(f'"{name}" is the dashboard\'s own account: choose another name.')
    return name


def validate_actions(values: Iterable[Any]) -> str:
    listed = list(values)
    if not listed or not all(isinstance(value, str) and value in ACTIONS for value in listed):
        raise ValueError(f"Actions are one or more of {', '.join(ACTIONS)}.")
    return ",".join(action for action in ACTIONS if action in listed)


def clean_rules(rules: Any) -> list[tuple[str, str]]:
    """[{"repositories": glob, "actions": [...]}, ...] as (glob, "pull,push"): ValueError says what is wrong."""
    if not isinstance(rules, list):
        raise ValueError('Give a list of rules: [{"repositories": "ci/**", "actions": ["pull", "push"]}].')
    if len(rules) > MAX_RULES:
        raise ValueError(f"At most {MAX_RULES} rules per robot.")
    cleaned: list[tuple[str, str]] = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, Mapping) or set(rule) != {"repositories", "actions"}:
            raise ValueError(f'Rule {number}: give exactly "repositories" (a glob) and "actions" (a list).')
        if not isinstance(rule["repositories"], str):
            raise ValueError(f"Rule {number}: repositories is a glob such as ci/** (a string).")
        try:
            glob = patterns.validate_glob(rule["repositories"])
            actions = validate_actions(rule["actions"] if isinstance(rule["actions"], list) else [None])
        except ValueError as e:
            raise ValueError(f"Rule {number}: {e}") from None
        cleaned.append((glob, actions))
    return cleaned


def validate_expiry(value: datetime | None) -> datetime | None:
    """Any time, or None for never: a time already past makes a robot that gets no token (state expired)."""
    if value is not None and not isinstance(value, datetime):
        raise ValueError("Give the expiry as a date and time (or empty: never).")
    return value


def robots() -> QuerySet[Robot]:
    return Robot.objects.prefetch_related("rules").select_related("created_by")


def _user(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _describe(robot: Robot, rules: list[tuple[str, str]]) -> str:
    expiry = f", expires {robot.expires_at:%Y-%m-%d %H:%M} UTC" if robot.expires_at else ""
    return f"{robot.login}: {'; '.join(f'{glob}: {actions}' for glob, actions in rules) or 'no rules'}{expiry}"


@transaction.atomic
def create_robot(
    name: str,
    rules: Any,
    *,
    description: str = "",
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[Robot, str]:
    """A new robot and its secret (shown once, stored as SHA-256). AccessInvalid names the bad fields."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks: list[tuple[str, Any, Any]] = [
        ("name", validate_name, name),
        ("rules", clean_rules, rules),
        ("expires_at", validate_expiry, expires_at),
    ]
    for field, check, value in checks:
        try:
            values[field] = check(value)
        except ValueError as e:
            errors[field] = str(e)
    if errors:
        raise AccessInvalid(errors)
    if Robot.objects.filter(name=values["name"]).exists():
        raise NameTaken({"name": f"A robot named {values['name']} exists: revoke or delete it, or choose another."})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    robot = Robot.objects.create(
        name=values["name"],
        description=(description or "").strip()[:200],
        secret_hash=secret_digest(secret),
        created_by=_user(request),
        expires_at=values["expires_at"],
    )
    RobotRule.objects.bulk_create(
        RobotRule(robot=robot, repositories=glob, actions=actions) for glob, actions in values["rules"]
    )
    audit.record(action="robot-create", outcome="succeeded", request=request, detail=_describe(robot, values["rules"]))
    by = robot.created_by.get_username() if robot.created_by is not None else ""
    notable.announce(notable.ROBOT_CREATED, name=robot.name, by=by)
    return robot, secret


@transaction.atomic
def change_robot(
    robot: Robot, *, rules: Any = None, description: str | None = None, expires_at: Any = ..., request: Any = None
) -> Robot:
    """Replace the rules, the description or the expiry (``None``: never); what is not given stays."""
    errors: dict[str, str] = {}
    cleaned: list[tuple[str, str]] | None = None
    if rules is not None:
        try:
            cleaned = clean_rules(rules)
        except ValueError as e:
            errors["rules"] = str(e)
    if expires_at is not ...:
        try:
            robot.expires_at = validate_expiry(expires_at)
        except ValueError as e:
            errors["expires_at"] = str(e)
    if errors:
        raise AccessInvalid(errors)
    if description is not None:
        robot.description = description.strip()[:200]
    robot.save()
    if cleaned is not None:
        robot.rules.all().delete()
        RobotRule.objects.bulk_create(
            RobotRule(robot=robot, repositories=glob, actions=actions) for glob, actions in cleaned
        )
    current = [(rule.repositories, rule.actions) for rule in robot.rules.all()]
    audit.record(action="robot-change", outcome="succeeded", request=request, detail=_describe(robot, current))
    return robot


def revoke_robot(robot: Robot, request: HttpRequest | None = None) -> Robot:
    """No new token from now on; tokens already issued run out within REGISTRY_TOKEN_TTL."""
    if robot.revoked_at is None:
        robot.revoked_at = timezone.now()
        robot.save(update_fields=["revoked_at"])
        audit.record(action="robot-revoke", outcome="succeeded", request=request, detail=f"Revoked {robot.login}.")
    return robot


def delete_robot(robot: Robot, request: HttpRequest | None = None) -> None:
    login = robot.login
    robot.delete()
    audit.record(action="robot-delete", outcome="succeeded", request=request, detail=f"Deleted {login}.")


def anonymous_rules() -> QuerySet[AnonymousPullRule]:
    return AnonymousPullRule.objects.all()


def add_anonymous_rule(repositories: str, request: HttpRequest | None = None) -> AnonymousPullRule:
    try:
        glob = patterns.validate_glob(repositories if isinstance(repositories, str) else "")
    except ValueError as e:
        raise AccessInvalid({"repositories": str(e)}) from None
    if AnonymousPullRule.objects.filter(repositories=glob).exists():
        raise NameTaken({"repositories": f"{glob} may already be pulled anonymously."})
    rule = AnonymousPullRule.objects.create(repositories=glob, created_by=_user(request))
    audit.record(action="anonymous-pull-add", outcome="succeeded", request=request, detail=f"Anyone may pull {glob}.")
    return rule


def remove_anonymous_rule(rule: AnonymousPullRule, request: HttpRequest | None = None) -> None:
    glob = rule.repositories
    rule.delete()
    audit.record(
        action="anonymous-pull-remove", outcome="succeeded", request=request, detail=f"Anonymous pulls of {glob} end."
    )


def token_requests(filters: Mapping[str, Any]) -> QuerySet[TokenRequest]:
    found = TokenRequest.objects.all()
    if account := filters.get("account"):
        found = found.filter(account=account)
    if outcome := filters.get("outcome"):
        found = found.filter(outcome=outcome)
    if filters.get("hide_dashboard"):
        found = found.exclude(kind=TokenRequest.Kind.DASHBOARD)
    return found


def robot_login(name: str) -> str:
    return f"{ROBOT_PREFIX}{name}"


# --- The guided switch: require login for the registry (worker side: access/switch.py) ---------

CERTIFICATE_FILE = "registry-admin/token.pem"  # under the registry's storage root, in its volume


class SwitchRefused(ActionableError):
    """The switch cannot be queued (409, 503 when the registry does not answer); ``job``: the job in the way."""

    status = 409

    def __init__(self, message: str, status: int = 409, job: Job | None = None) -> None:
        super().__init__(message, status=status)
        self.job = job

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        """``{"detail"}``, and ``job`` (``JobReference``) when a job is in the way."""
        body = super().body(request)
        if self.job is not None:
            body["job"] = job_services.job_reference(request, self.job)
        return body


def token_env(root: str) -> list[str]:
    """The registry settings that make it take the dashboard's tokens (``root``: its storage root)."""
    return [
        "REGISTRY_AUTH=token",
        f"REGISTRY_AUTH_TOKEN_REALM={settings.REGISTRY_TOKEN_REALM}",
        f"REGISTRY_AUTH_TOKEN_SERVICE={settings.REGISTRY_TOKEN_SERVICE}",
        f"REGISTRY_AUTH_TOKEN_ISSUER={settings.REGISTRY_TOKEN_ISSUER}",
        f"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE={root.rstrip('/')}/{CERTIFICATE_FILE}",
    ]


def login_required() -> bool | None:
    """Whether the registry asks clients for a login now (None: it does not answer)."""
    try:
        return registry.get_client().requires_login()
    except registry.RegistryError:
        return None


def request_switch(enable: bool, request: HttpRequest | None = None) -> Job:
    """Queue the switch (admins): SwitchRefused when something else is in progress or it cannot work."""
    if enable and not settings.REGISTRY_TOKEN_REALM:
        raise SwitchRefused(
            "Set REGISTRY_TOKEN_REALM (this dashboard's /auth/token as docker clients reach it, e.g. "
            "http://nas.lan:8000/auth/token) on web and worker first, and restart them."
        )
    conflict = job_services.busy(Job.Kind.REGISTRY_LOGIN)
    if conflict is not None:
        raise SwitchRefused(conflict.message, job=conflict.job)
    state = login_required()
    if state is None:
        raise SwitchRefused(
            f"The registry at {settings.REGISTRY_URL} does not answer: start it (Registry page), then switch.",
            status=503,
        )
    if state == enable:
        raise SwitchRefused(
            "The registry requires a login already." if enable else "The registry requires no login already."
        )
    try:
        job = job_services.queue(
            task_names.SWITCH_REGISTRY_LOGIN, Job.Kind.REGISTRY_LOGIN, {"enable": enable}, request=request
        )
    except job_services.JobBusy as e:
        raise SwitchRefused(e.message, job=e.job) from e
    except job_services.JobRequestError as e:
        raise SwitchRefused(e.message, status=e.status) from e
    audit.record(
        action="registry-login-on" if enable else "registry-login-off",
        outcome="started",
        request=request,
        detail=f"Job {job.pk}: " + ("require login for the registry." if enable else "stop requiring login."),
    )
    return job


def latest_switch() -> Job | None:
    return Job.objects.filter(kind=Job.Kind.REGISTRY_LOGIN).first()
