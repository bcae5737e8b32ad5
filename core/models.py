from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One recorded action: a delete, a job start or end, a schedule change.

    ``actor`` keeps the name even when the user is later removed; ``via`` says whether it
    came from the browser session, an API token or the scheduler.
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        REFUSED = "refused"
        FAILED = "failed"
        STARTED = "started"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=20, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=50, db_index=True)
    repository = models.CharField(max_length=255, blank=True, db_index=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, db_index=True)
    detail = models.TextField(blank=True)
    registry_response = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = f"{self.repository}:{self.tag}" if self.tag else self.repository or self.digest
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {target} {self.outcome}"
