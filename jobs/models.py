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
        # It ran to the end but found problems or did only part of its work (a verification
        # that found something missing, a retention run whose deletes partly failed): never
        # "succeeded", so a script checking ``status == "succeeded"`` does not take it for one.
        WARNING = "warning", "Problems found"

    class RequestedVia(models.TextChoices):
        """Who asked for the job: the actor of everything it does (issue 25)."""

        SESSION = "session", "a user on the dashboard"
        TOKEN = "token", "an API token"
        SCHEDULE = "schedule", "the schedule"
        SYSTEM = "system", "the dashboard itself"

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Who asked: a user (``user``), one of their API tokens (``user`` and ``token_name``), the
    # schedule (beat) or the dashboard itself (first start, a follow-up with no one behind it).
    requested_via = models.CharField(max_length=20, choices=RequestedVia.choices, default=RequestedVia.SYSTEM)
    token_name = models.CharField(max_length=100, blank=True)
    # The name of who asked, kept when the user is later removed.
    requested_by = models.CharField(max_length=150, blank=True)
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
    def actor(self) -> str:
        """Who the audit log credits with what this job does: the user who asked (also through
        one of their tokens), "scheduler" for a scheduled run, "system" otherwise."""
        if self.requested_via == self.RequestedVia.SCHEDULE:
            return "scheduler"
        return self.requested_by or (self.user.get_username() if self.user else "") or "system"

    @property
    def asked_by(self) -> str:
        """Who asked, in words: "acc-admin", "acc-admin's API token ci", "the schedule"."""
        via = self.requested_via
        if via == self.RequestedVia.SCHEDULE:
            return "the schedule"
        if via == self.RequestedVia.TOKEN:
            owner = self.actor
            return f"{owner}'s API token {self.token_name}" if self.token_name else f"an API token of {owner}"
        if via == self.RequestedVia.SESSION or self.requested_by or self.user_id:
            return self.actor
        return "the dashboard itself"

    @property
    def audit_via(self) -> str:
        """The audit log's channel for what this job does: "retention run #12", "gc run #7"."""
        return f"{self.kind} run #{self.pk}"

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
