from django.conf import settings
from django.db import models

from jobs.models import Job


class RegistryMaintenance(models.Model):
    """The registry container's full configuration, saved before a GC or an update changes anything.

    Written before the container is stopped or recreated and closed (``ended_at``) once it is
    back as it was, so that a worker killed in between leaves enough for the watchdog to
    rebuild the container exactly (Harbor #13512, #8946: registries stuck read-only).
    """

    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="maintenance")
    container_name = models.CharField(max_length=255)
    mode = models.CharField(max_length=20)
    attrs = models.JSONField(help_text="docker inspect of the container before the GC")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    restored_by = models.CharField(max_length=20, blank=True, help_text="job or watchdog")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.container_name} {self.mode} ({'open' if self.ended_at is None else 'closed'})"


# --- Statistics and the snapshot pause ----------------------------------------------------


class StatsSample(models.Model):
    """One statistics reading of the registry: its container, its storage and its content.

    A field is null when that part could not be measured (a paused container cannot be
    exec'd into, an unreachable registry gives no counts); ``errors`` says why.
    """

    collected_at = models.DateTimeField(db_index=True)
    cpu_percent = models.FloatField(null=True)
    memory_bytes = models.BigIntegerField(null=True)
    memory_limit_bytes = models.BigIntegerField(null=True)
    net_rx_bytes = models.BigIntegerField(null=True)
    net_tx_bytes = models.BigIntegerField(null=True)
    block_read_bytes = models.BigIntegerField(null=True)
    block_write_bytes = models.BigIntegerField(null=True)
    pids = models.IntegerField(null=True)
    storage_bytes = models.BigIntegerField(null=True)
    blob_count = models.IntegerField(null=True)
    repository_count = models.IntegerField(null=True)
    tag_count = models.IntegerField(null=True)
    total_bytes = models.BigIntegerField(null=True, help_text="compressed bytes referenced by tags, per tag")
    unique_bytes = models.BigIntegerField(null=True, help_text="compressed bytes referenced by tags, deduplicated")
    largest_repositories = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-collected_at", "-id"]

    def __str__(self) -> str:
        return f"Statistics at {self.collected_at:%Y-%m-%d %H:%M}"


class RegistryPause(models.Model):
    """A "prepare for snapshot" pause with its deadline, kept in the database so a beat
    watchdog can resume the registry even when the countdown task is lost."""

    paused_at = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField(db_index=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resumed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resumed_how = models.CharField(max_length=20, blank=True)  # button, timer, watchdog, restart
    container = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-paused_at", "-id"]

    def __str__(self) -> str:
        return f"Pause of {self.container} at {self.paused_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.resumed_at is None
