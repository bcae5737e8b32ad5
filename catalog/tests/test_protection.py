"""Protected-tag rules: which tags of a repository they protect, and which rule is named."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ProtectedTag
from catalog.protection import load_rules, protected, protecting_rule

pytestmark = pytest.mark.django_db


def test_a_rule_describes_itself_by_its_number_and_patterns() -> None:
    rule = ProtectedTag.objects.create(repositories="**", tags="^latest$")
    assert rule.describe() == f'protected by rule {rule.pk}: repositories "**", tags "^latest$"'


def test_it_finds_the_protected_tags_among_many_in_one_query() -> None:
    ProtectedTag.objects.create(repositories="team/**", tags=r"^v\d+\.\d+\.\d+$")
    ProtectedTag.objects.create(repositories="other", tags=".*")
    tags = [f"build-{n}" for n in range(5000)] + ["v1.2.3", "v1.2.3-rc1"]
    with CaptureQueriesContext(connection) as queries:
        found = protected("team/web/api", tags)
    assert len(queries) == 1
    assert sorted(found) == ["v1.2.3"]


def test_the_oldest_matching_rule_is_the_one_named() -> None:
    first = ProtectedTag.objects.create(repositories="team/*", tags="^latest$")
    ProtectedTag.objects.create(repositories="**", tags="latest")
    assert protecting_rule("team/web", "latest") == first
    assert protecting_rule("team/web/api", "latest") != first  # team/* is one level only
    assert protecting_rule("elsewhere", "stable") is None


def test_rules_read_once_serve_many_repositories_without_another_query() -> None:
    ProtectedTag.objects.create(repositories="team/*", tags="^latest$")
    rules = load_rules()
    with CaptureQueriesContext(connection) as queries:
        answers = {name: protected(name, ["latest", "old"], rules=rules) for name in ("team/a", "team/b", "solo")}
    assert len(queries) == 0
    assert {name: sorted(found) for name, found in answers.items()} == {
        "team/a": ["latest"],
        "team/b": ["latest"],
        "solo": [],
    }


def test_without_rules_nothing_is_protected() -> None:
    assert protected("app", ["latest"]) == {}


def test_a_rule_with_a_bad_pattern_does_not_validate_and_names_each_field() -> None:
    rule = ProtectedTag(repositories="Team//x", tags="(latest")
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert set(raised.value.message_dict) == {"repositories", "tags"}
    assert "not a valid regular expression" in raised.value.message_dict["tags"][0]
