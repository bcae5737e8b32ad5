"""A policy's fields checked one way for the API, the page's form and the model: each validator
raises Django's ValidationError with a message a user can act on.

Repository globs and tag regular expressions follow ``core.patterns`` (the grammar protected
tags use too); cron expressions follow ``maintenance.schedules`` (the GC schedules' grammar).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from core import patterns
from maintenance import schedules

ORDER_BY = ("pushed", "created")
MAX_PATTERNS = 50


def validate_globs(value: Any) -> None:
    """A list of one or more repository globs (``team/*``, ``team/**``, ``**``)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('Expected a list of repository patterns, e.g. ["team/*", "web"].')
    if len(value) > MAX_PATTERNS:
        raise ValidationError(f"At most {MAX_PATTERNS} repository patterns.")
    for item in value:
        try:
            patterns.validate_glob(item)
        except ValueError as e:
            raise ValidationError(str(e)) from e


def validate_some_globs(value: Any) -> None:
    validate_globs(value)
    if not value:
        raise ValidationError('Give at least one repository pattern ("**" matches every repository).')


def validate_regex(value: Any) -> None:
    """A regular expression (``re.search``: anchor it with ^ and $ to match whole tags); blank is allowed."""
    if not isinstance(value, str):
        raise ValidationError("Expected a regular expression as a string.")
    if value == "":
        return
    try:
        patterns.validate_regex(value)
    except ValueError as e:
        raise ValidationError(str(e)) from e


def validate_cron(value: Any) -> None:
    """Five cron fields (``0 3 * * 0``), or blank for no schedule."""
    if not isinstance(value, str):
        raise ValidationError("Expected a cron expression as a string.")
    if value.strip() == "":
        return
    try:
        schedules.parse_cron(value.strip())
    except schedules.ScheduleInvalid as e:
        raise ValidationError(e.errors.get("cron", str(e))) from e
