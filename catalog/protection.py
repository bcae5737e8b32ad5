"""Which tags the protected-tag rules keep from the dashboard's deletes.

One query reads every rule; matching runs in Python on the cached compiled patterns, so a
retention run over 5,000 tags (or 10,000 repositories, passing ``rules`` once) costs one query.
When several rules protect a tag, the oldest (lowest id) is the one named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from catalog.models import ProtectedTag
from catalog.patterns import regex_matches


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
            if regex_matches(rule.tags, tag):
                found[tag] = rule
                break
    return found


def protecting_rule(repository: str, tag: str) -> ProtectedTag | None:
    """The rule that protects ``tag`` of ``repository``, or None."""
    return protected(repository, [tag]).get(tag)
