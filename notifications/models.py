"""Notifications (issue 27): channels messages go out on, rules saying what goes where, and the log.

A channel's URL and a webhook's signing secret are credentials: they are kept here and used
by the worker that delivers, and shown nowhere whole (``notifications.masking``).
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from notifications import topics


class Channel(models.Model):
    class Kind(models.TextChoices):
        APPRISE = "apprise", "Apprise URL (Discord, Slack, Teams, Telegram, ntfy, Gotify, e-mail, ...)"
        WEBHOOK = "webhook", "Webhook (JSON, signed)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The Apprise URL or the webhook's address: may hold tokens, passwords, keys. Never shown whole.
    url = models.TextField()
    # The webhook's HMAC-SHA256 key, shown once when made; empty for Apprise channels.
    secret = models.CharField(max_length=100, blank=True, default="")
    cloudevents = models.BooleanField(
        default=False, help_text="Webhook only: send the body as a CloudEvents 1.0 structured event."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Delivery health: each delivery that failed after all its attempts counts; a success resets.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("notifications:channel", args=[self.pk])

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


class Rule(models.Model):
    """Which topics go to which channel; repository globs and a tag expression narrow push and delete."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="rules")
    topics = models.JSONField(help_text="The topics (notifications.topics.TOPICS) this rule sends.")
    repositories = models.JSONField(
        default=list, blank=True, help_text='Repository globs ("prod/**"); empty: every repository.'
    )
    tags = models.CharField(
        max_length=500, blank=True, default="", help_text="A regular expression the tag must match; blank: any tag."
    )
    disk_threshold = models.PositiveSmallIntegerField(
        default=90, help_text="Disk usage topic: percent of the registry's volume above which to tell."
    )
    # Whether the last disk usage told was above the threshold (the next crossing is told, not each sample).
    disk_above = models.BooleanField(default=False, editable=False)
    digest_minutes = models.PositiveIntegerField(
        default=0, help_text="0: one message per event; N: at most one message per N minutes, listing them all."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def topic_labels(self) -> list[str]:
        return [topics.TOPICS.get(topic, topic) for topic in self.topics]


class Digest(models.Model):
    """Events gathered for a rule in digest mode, sent as one message when ``due_at`` comes."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="digests")
    opened_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)
    # The first MAX_LISTED messages' lines; ``count`` has them all.
    lines = models.JSONField(default=list)
    topics = models.JSONField(default=list)
    sent_at = models.DateTimeField(null=True, blank=True)

    MAX_LISTED = 50

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule"], condition=models.Q(sent_at__isnull=True), name="one_open_digest")
        ]

    def __str__(self) -> str:
        return f"digest of rule {self.rule_id} ({self.count} events)"


class Delivery(models.Model):
    """One message to one channel, and how its delivery went."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying"
        SENT = "sent"
        FAILED = "failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    topic = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    text = models.TextField()
    link = models.CharField(max_length=500, blank=True, default="")
    facts = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.topic} to {self.channel_id} ({self.status})"


class HealthWatch(models.Model):
    """What the registry watcher last saw, so that down and back are told once each (debounced)."""

    name = models.CharField(max_length=50, unique=True)
    ok = models.BooleanField(default=True)
    failures = models.PositiveIntegerField(default=0, help_text="failed checks in a row")
    down_since = models.DateTimeField(null=True, blank=True)
    announced_down = models.BooleanField(default=False)
    detail = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'down'}"
