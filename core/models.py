from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One recorded action: a delete, a job start or end, a schedule change.

    ``actor`` keeps the name even when the user is later removed; ``via`` says whether it
    came from the browser session, an API token, the scheduler, the command line, or a job
    run for someone ("retention run #12": the actor is who asked for the run).
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        REFUSED = "refused"
        FAILED = "failed"
        STARTED = "started"
        # A job that ran but found problems or did only part of its work (Job.Status.WARNING).
        WARNING = "warning", "Problems found"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=150, blank=True)
    # "session", "token", "scheduler", "command line", or the job that did it: "retention run #12".
    via = models.CharField(max_length=50, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=50, db_index=True)
    repository = models.CharField(max_length=255, blank=True, db_index=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)
    detail = models.TextField(blank=True)
    registry_response = models.TextField(blank=True)
    # What the action did, for code to read back (a delete: its removed tags, deleted manifests
    # and attached artifacts, see catalog.deletion.audit); ``detail`` is the sentence for people.
    fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = f"{self.repository}:{self.tag}" if self.tag else self.repository or self.digest
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {target} {self.outcome}"


class ApiToken(models.Model):
    """A named API token of one user, with a role no higher than the user's.

    Only a SHA-256 of the token is kept (tokens are 256 random bits, so a fast hash suffices);
    ``prefix`` is its first characters, shown so the owner can tell tokens apart.
    """

    class Role(models.IntegerChoices):
        VIEWER = 1, "viewer"
        OPERATOR = 2, "operator"
        ADMIN = 3, "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.PositiveSmallIntegerField(choices=Role.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["user", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name_per_user")]

    def __str__(self) -> str:
        return f"{self.user} / {self.name} ({self.get_role_display()})"
