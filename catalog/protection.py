"""Which tags the protected-tag rules keep from the dashboard's deletes, and changing the rules.

One query reads every rule; matching runs in Python on the cached compiled patterns, so a
retention run over 5,000 tags (or 10,000 repositories, passing ``rules`` once) costs one query.
When several rules protect a tag, the oldest (lowest id) is the one named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.http import HttpRequest

from catalog.models import ProtectedTag
from core import audit, patterns
from core.patterns import regex_matches


def load_rules() -> list[ProtectedTag]:
    """Every rule, oldest first: pass it as ``rules`` when asking about many repositories."""
    return list(ProtectedTag.objects.order_by("id"))


def protected(
    repository: str, tags: Iterable[str], *, rules: Sequence[ProtectedTag] | None = None
) -> dict[str, ProtectedTag]:
    """The protected ones among ``tags`` of ``repository``, each with the rule protecting it."""
    applicable = [rule for rule in (load_rules() if rules is None else rules) if rule.applies_to(repository)]
    if not applicable:
        return {}
    found: dict[str, ProtectedTag] = {}
    for tag in tags:
        for rule in applicable:
            if _protects(rule, tag):
                found[tag] = rule
                break
    return found


def _protects(rule: ProtectedTag, tag: str) -> bool:
    """A rule saved before RE2 (issue 26) whose pattern it cannot compile protects every tag of its
    repositories: a rule that cannot be read keeps tags rather than lets them go."""
    try:
        return regex_matches(rule.tags, tag)
    except patterns.PatternInvalid:
        return True


def protecting_rule(repository: str, tag: str) -> ProtectedTag | None:
    """The rule that protects ``tag`` of ``repository``, or None."""
    return protected(repository, [tag]).get(tag)


# --- Changing the rules (admins): validated, audited -------------------------------------------


class RuleInvalid(ValueError):
    """A rule whose glob or regular expression is not valid: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def cleaned(repositories: str, tags: str) -> tuple[str, str]:
    """Both patterns checked (``core.patterns``); RuleInvalid names every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for field, value, validate in (
        ("repositories", repositories, patterns.validate_glob),
        ("tags", tags, patterns.validate_regex),
    ):
        try:
            values[field] = validate(value)
        except ValueError as e:
            errors[field] = str(e)
    if errors:
        raise RuleInvalid(errors)
    return values["repositories"], values["tags"]


def add_rule(repositories: str, tags: str, request: HttpRequest | None = None) -> ProtectedTag:
    """Protect the tags matching ``tags`` in the repositories matching ``repositories``."""
    repositories, tags = cleaned(repositories, tags)
    user = getattr(request, "user", None)
    rule = ProtectedTag.objects.create(
        repositories=repositories,
        tags=tags,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    audit.record(action="protect-tags", outcome="succeeded", request=request, detail=f"Added: {rule.describe()}.")
    return rule


def remove_rule(rule: ProtectedTag, request: HttpRequest | None = None) -> None:
    description = rule.describe()
    rule.delete()
    audit.record(
        action="unprotect-tags", outcome="succeeded", request=request, detail=f"Removed the rule: {description}."
    )
