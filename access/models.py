"""Who may pull, push and delete on the registry: robot accounts, anonymous pulls, token requests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

ACTIONS = ("pull", "push", "delete")


class Robot(models.Model):
    """An account for CI and servers: ``docker login -u robot$NAME``; its secret is kept as SHA-256."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.login

    @property
    def login(self) -> str:
        """The user name ``docker login`` takes: ``$`` is not allowed in the dashboard's user names."""
        return f"robot${self.name}"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired else "active"


class RobotRule(models.Model):
    """Repositories matching the glob (catalog.patterns) may get these actions."""

    robot = models.ForeignKey(Robot, on_delete=models.CASCADE, related_name="rules")
    repositories = models.CharField(max_length=255)
    actions = models.CharField(max_length=32)  # "pull,push,delete" in that order, a subset

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.describe()

    def action_list(self) -> list[str]:
        return [action for action in self.actions.split(",") if action]

    def describe(self) -> str:
        return f"{self.repositories}: {', '.join(self.action_list())}"


class AnonymousPullRule(models.Model):
    """Repositories anyone may pull without logging in (none by default)."""

    repositories = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["repositories"]

    def __str__(self) -> str:
        return self.repositories


class TokenRequest(models.Model):
    """One request to the token endpoint: who asked, from where, what was asked, granted and refused."""

    class Kind(models.TextChoices):
        USER = "user"
        ROBOT = "robot"
        DASHBOARD = "dashboard"
        ANONYMOUS = "anonymous"

    class Outcome(models.TextChoices):
        ISSUED = "issued"
        BAD_CREDENTIALS = "bad-credentials"
        LOCKED_OUT = "locked-out"
        REVOKED = "revoked"
        EXPIRED = "expired"
        BAD_REQUEST = "bad-request"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    account = models.CharField(max_length=200, blank=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    address = models.GenericIPAddressField(null=True, blank=True)
    service = models.CharField(max_length=255, blank=True)
    asked = models.JSONField(default=list)
    granted = models.JSONField(default=list)
    refused = models.JSONField(default=list)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account or 'anonymous'} {self.outcome} {self.created_at:%Y-%m-%d %H:%M:%S}"
