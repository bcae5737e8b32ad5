"""What the catalog keeps in the database: the protected-tag rules.

The registry cannot protect a tag: anyone with push rights deletes through its v2 API. These
rules bind the dashboard's own deletes (single, manifest, bulk, retention), which refuse a
protected tag with 409 naming the rule (``catalog.protection``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core import patterns


class ProtectedTag(models.Model):
    """Tags matching ``tags`` (a regular expression, ``re.search``) in repositories matching
    ``repositories`` (a glob: ``team/*``, ``team/**``, ``**``) are never deleted by the dashboard."""

    repositories = models.CharField(max_length=patterns.GLOB_MAX_LENGTH, help_text="repository glob")
    tags = models.CharField(max_length=patterns.REGEX_MAX_LENGTH, help_text="tag regular expression (re.search)")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """The sentence that names the rule in refusals, badges and the audit log."""
        return f'protected by rule {self.pk}: repositories "{self.repositories}", tags "{self.tags}"'

    def applies_to(self, repository: str) -> bool:
        try:
            return patterns.glob_matches(self.repositories, repository)
        except patterns.PatternInvalid:  # saved before RE2 (issue 26): a rule that cannot be read protects
            return True

    def protects(self, repository: str, tag: str) -> bool:
        if not self.applies_to(repository):
            return False
        try:
            return patterns.regex_matches(self.tags, tag)
        except patterns.PatternInvalid:
            return True

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for field, validate in (("repositories", patterns.validate_glob), ("tags", patterns.validate_regex)):
            try:
                setattr(self, field, validate(getattr(self, field)))
            except ValueError as e:
                errors[field] = str(e)
        if errors:
            raise ValidationError(errors)
