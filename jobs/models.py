"""The Job: one run of a background task, its parameters, output, result and timing."""

from django.conf import settings
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.urls import reverse


class Job(models.Model):
    """One run of a background task (GC, statistics, update, verify, sync, retention, scrub), with output that
    grows while it runs.

    Progress lives here, not in Celery's result backend, so the UI and the API can show it
    and it survives a worker restart.
    """

    class Kind(models.TextChoices):
        GC = "gc", "Garbage collection"
        STATS = "stats", "Statistics"
        UPDATE = "update", "Registry update"
        VERIFY = "verify", "Registry verification"
        SYNC = "sync", "Inventory sync"
        RETENTION = "retention", "Retention run"
        REGISTRY_LOGIN = "registry-login", "Registry login switch"
        SCRUB = "scrub", "Storage scrub"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Renewed by the worker while the job runs (jobs.runner): a job whose heartbeat is
    # older than JOB_HEARTBEAT_TIMEOUT lost its worker, and the watchdog fails it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had in maintenance: the move is state only (migrations
        # jobs 0001, maintenance 0008), and RegistryMaintenance.job still points at it.
        db_table = "maintenance_job"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("job", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def append_output(self, text: str) -> None:
        """Append to the output in one UPDATE, so a page polling it sees lines as they come."""
        Job.objects.filter(pk=self.pk).update(output=Concat(F("output"), Value(text)))
