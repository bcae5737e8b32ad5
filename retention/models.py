"""Retention policies: which tags to keep, the rest deleted by a run (issue 14).

A policy selects repositories by glob and tags by regular expression; its keep rules are OR'ed
(any of them keeps a tag). ``retention.plan`` works out, from the inventory, what a run deletes;
``retention.run`` (worker side) deletes exactly that through ``catalog.deletion``.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from retention import rules

MAX_COUNT = 1_000_000
MAX_DAYS = 36_500

#: What a policy says, in the order the API, the form and the audit log give it.
FIELDS = (
    "name",
    "enabled",
    "repositories",
    "exclude_repositories",
    "tags",
    "exclude_tags",
    "keep_last",
    "order_by",
    "keep_days",
    "keep_pulled_days",
    "keep_tags",
    "untagged",
    "schedule",
    "then_gc",
)


class RetentionPolicy(models.Model):
    class OrderBy(models.TextChoices):
        CREATED = "created", "image creation date (from its config)"
        PUSHED = "pushed", "push time (from the registry's events)"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    repositories = models.JSONField(
        validators=[rules.validate_some_globs],
        help_text='Repository patterns: "team/*" one level, "team/**" any depth, "**" every repository.',
    )
    exclude_repositories = models.JSONField(default=list, blank=True, validators=[rules.validate_globs])
    tags = models.CharField(
        max_length=500,
        blank=True,
        default="",
        validators=[rules.validate_regex],
        help_text="A regular expression selecting the tags the policy considers; blank: every tag.",
    )
    exclude_tags = models.CharField(max_length=500, blank=True, default="", validators=[rules.validate_regex])
    keep_last = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_COUNT)]
    )
    # Created by default: push times come only with the registry's events (a sync alone leaves them
    # empty, and tags without the date count as oldest).
    order_by = models.CharField(max_length=10, choices=OrderBy.choices, default=OrderBy.CREATED)
    keep_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)]
    )
    keep_pulled_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_DAYS)]
    )
    keep_tags = models.CharField(max_length=500, blank=True, default="", validators=[rules.validate_regex])
    untagged = models.BooleanField(
        default=False, help_text="Also delete the manifests the run leaves without a tag (and their platforms)."
    )
    schedule = models.CharField(max_length=100, blank=True, default="", validators=[rules.validate_cron])
    then_gc = models.BooleanField(
        default=False, help_text="Run a read-only garbage collection after a run that deleted something."
    )
    # The beat entry firing ``schedule`` (retention.schedules keeps it in step with the policy).
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="retention_policy"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("retention:policy", args=[self.pk])

    @property
    def keep_rules(self) -> list[str]:
        """The keep rules in words, for the page."""
        words = []
        if self.keep_last:
            words.append(f"the last {self.keep_last} by {self.order_by}")
        if self.keep_days:
            words.append(f"{self.order_by} within {self.keep_days} days")
        if self.keep_pulled_days:
            words.append(f"pulled within {self.keep_pulled_days} days")
        if self.keep_tags:
            words.append(f"tags matching {self.keep_tags}")
        return words
