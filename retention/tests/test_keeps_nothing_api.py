"""Issue 25: a policy that keeps nothing needs an explicit acknowledgement, and a preview before its
schedule is enabled, in the API as on the pages (400s naming the field). Normal policies are
created as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from retention import services
from retention.models import RetentionPolicy
from retention.tests.helpers import create_policy, preview, push

pytestmark = [pytest.mark.django_db]

URL = "/api/v1/retention-policies/"
NOTHING_KEPT = {"name": "sweep", "repositories": ["tmp/**"], "enabled": False}


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post(URL, body, content_type="application/json")


def patch(client: Client, policy_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"{URL}{policy_id}/", body, content_type="application/json")


def test_a_policy_that_keeps_nothing_is_refused_without_the_acknowledgement(admin_client_role: Client) -> None:
    answer = post(admin_client_role, NOTHING_KEPT)
    assert answer.status_code == 400
    assert list(answer.json()) == ["acknowledge_keeps_nothing"]
    assert "keeps no tag" in answer.json()["acknowledge_keeps_nothing"][0]
    assert not RetentionPolicy.objects.exists()


def test_with_the_acknowledgement_it_is_saved_and_the_flag_is_not_stored(admin_client_role: Client) -> None:
    answer = post(admin_client_role, {**NOTHING_KEPT, "acknowledge_keeps_nothing": True})
    assert answer.status_code == 201, answer.content
    assert "acknowledge_keeps_nothing" not in answer.json()
    assert RetentionPolicy.objects.get().keep_last is None


def test_a_normal_policy_needs_no_acknowledgement(admin_client_role: Client) -> None:
    answer = post(admin_client_role, {"name": "ci", "repositories": ["ci/**"], "keep_last": 3, "schedule": "0 3 * * 0"})
    assert answer.status_code == 201, answer.content
    assert answer.json()["enabled"] is True and answer.json()["next_run"] is not None


def test_its_schedule_is_refused_until_it_was_previewed_as_saved(admin_client_role: Client, registry: Any) -> None:
    scheduled = {**NOTHING_KEPT, "enabled": True, "schedule": "0 3 * * 0", "acknowledge_keeps_nothing": True}
    created = post(admin_client_role, scheduled)
    assert created.status_code == 400 and list(created.json()) == ["schedule"]
    assert "previewed" in created.json()["schedule"][0]

    policy = post(admin_client_role, {**NOTHING_KEPT, "acknowledge_keeps_nothing": True}).json()
    enable = {"enabled": True, "schedule": "0 3 * * 0", "acknowledge_keeps_nothing": True}
    assert patch(admin_client_role, policy["id"], enable).status_code == 400
    assert admin_client_role.post(f"{URL}{policy['id']}/preview/").status_code == 200
    enabled = patch(admin_client_role, policy["id"], enable)
    assert enabled.status_code == 200, enabled.content
    assert enabled.json()["next_run"] is not None


def test_removing_the_last_keep_rule_needs_the_acknowledgement(admin_client_role: Client) -> None:
    policy = post(admin_client_role, {"name": "ci", "repositories": ["ci/**"], "keep_last": 3}).json()
    answer = patch(admin_client_role, policy["id"], {"keep_last": None})
    assert answer.status_code == 400 and list(answer.json()) == ["acknowledge_keeps_nothing"]
    assert RetentionPolicy.objects.get().keep_last == 3


def test_renaming_or_turning_off_a_keep_nothing_policy_needs_nothing(admin_client_role: Client) -> None:
    policy = post(admin_client_role, {**NOTHING_KEPT, "enabled": True, "acknowledge_keeps_nothing": True}).json()
    assert patch(admin_client_role, policy["id"], {"name": "sweep tmp"}).status_code == 200
    assert patch(admin_client_role, policy["id"], {"enabled": False}).status_code == 200
    assert patch(admin_client_role, policy["id"], {"enabled": True}).status_code == 400


def test_the_acknowledgement_must_be_a_json_boolean(admin_client_role: Client) -> None:
    answer = post(admin_client_role, {**NOTHING_KEPT, "acknowledge_keeps_nothing": "yes"})
    assert answer.status_code == 400 and list(answer.json()) == ["acknowledge_keeps_nothing"]


def test_the_preview_answer_is_the_plan_through_its_serializer(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    repo = f"{repo_prefix}-{versioned_registry.major}"
    for tag, age in [("old", 20), ("new", 10)]:
        push(versioned_registry.url, repo, tag, age)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=1)
    answer = preview(admin_client_role, policy)
    plan = services.preview(RetentionPolicy.objects.get(pk=policy["id"]))
    assert answer == plan.as_dict()  # the same fields and values the hand-built answer had
    assert [e["tag"] for e in answer["repositories"][0]["delete"]] == ["old"]
