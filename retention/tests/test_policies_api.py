"""The policies' API: CRUD as the issue names it, 400s naming the field, roles, the schedule in beat."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_celery_beat.models import PeriodicTask

from core.models import AuditEntry
from retention.models import RetentionPolicy

pytestmark = [pytest.mark.django_db, pytest.mark.database]

URL = "/api/v1/retention-policies/"
POLICY = {
    "name": "ci builds",
    "repositories": ["team/*", "ci/**"],
    "exclude_repositories": ["team/keep"],
    "tags": "^pr-",
    "exclude_tags": "-keep$",
    "keep_last": 5,
    "order_by": "created",
    "keep_days": 30,
    "keep_pulled_days": 7,
    "keep_tags": "^stable$",
    "untagged": True,
    "schedule": "0 3 * * 0",
    "then_gc": True,
}


def test_admins_create_read_change_and_delete_a_policy(admin_client_role: Client) -> None:
    created = admin_client_role.post(URL, POLICY, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["id"] and {k: body[k] for k in POLICY} == POLICY and body["enabled"] is True
    assert body["next_run"] is not None
    task = PeriodicTask.objects.get(pk=RetentionPolicy.objects.get(pk=body["id"]).periodic_task_id)
    assert task.task == "retention.tasks.scheduled_retention" and task.enabled
    assert task.crontab.hour == "3" and task.crontab.day_of_week == "0"

    item = f"{URL}{body['id']}/"
    assert admin_client_role.get(item).json()["name"] == "ci builds"
    assert [p["id"] for p in admin_client_role.get(URL).json()["results"]] == [body["id"]]
    changed = admin_client_role.patch(item, {"enabled": False, "keep_last": None}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["keep_last"] is None
    assert changed.json()["next_run"] is None  # disabled: beat does not fire it
    assert not PeriodicTask.objects.get(pk=task.pk).enabled

    replaced = admin_client_role.put(item, {"name": "all", "repositories": ["**"]}, content_type="application/json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["repositories"] == ["**"] and replaced.json()["schedule"] == "0 3 * * 0"
    unscheduled = admin_client_role.patch(item, {"schedule": ""}, content_type="application/json")
    assert unscheduled.json()["next_run"] is None and not PeriodicTask.objects.filter(pk=task.pk).exists()

    assert admin_client_role.delete(item).status_code == 204
    assert not RetentionPolicy.objects.exists()
    actions = list(AuditEntry.objects.filter(action__startswith="retention-policy").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["retention-policy-created"] + ["retention-policy-changed"] * 3 + ["retention-policy-deleted"]
    )


def test_deleting_a_policy_removes_its_schedule(admin_client_role: Client) -> None:
    body = admin_client_role.post(URL, POLICY, content_type="application/json").json()
    task_id = RetentionPolicy.objects.get(pk=body["id"]).periodic_task_id
    admin_client_role.delete(f"{URL}{body['id']}/")
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"repositories": ["Team/*"]}, "repositories"),
        ({"repositories": ["team/**x"]}, "repositories"),
        ({"repositories": []}, "repositories"),
        ({"repositories": "team/*"}, "repositories"),
        ({"exclude_repositories": ["a//b"]}, "exclude_repositories"),
        ({"tags": "(unclosed"}, "tags"),
        ({"exclude_tags": "[z-a]"}, "exclude_tags"),
        ({"keep_tags": "*latest"}, "keep_tags"),
        ({"keep_last": 0}, "keep_last"),
        ({"keep_last": "many"}, "keep_last"),
        ({"keep_days": -1}, "keep_days"),
        ({"keep_pulled_days": 10**9}, "keep_pulled_days"),
        ({"order_by": "size"}, "order_by"),
        ({"schedule": "0 3 * *"}, "schedule"),
        ({"schedule": "61 3 * * 0"}, "schedule"),
        ({"untagged": "yes"}, "untagged"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_400s_naming_the_field(
    admin_client_role: Client, change: dict[str, Any], field: str
) -> None:
    answer = admin_client_role.post(URL, {**POLICY, **change}, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert not RetentionPolicy.objects.exists()


def test_a_name_taken_is_a_conflict_and_a_bad_patch_changes_nothing(admin_client_role: Client) -> None:
    body = admin_client_role.post(URL, POLICY, content_type="application/json").json()
    again = admin_client_role.post(URL, POLICY, content_type="application/json")
    assert again.status_code == 409, again.content
    assert POLICY["name"] in again.json()["detail"] and f"id {body['id']}" in again.json()["detail"]
    assert RetentionPolicy.objects.count() == 1
    bad = admin_client_role.patch(f"{URL}{body['id']}/", {"tags": "("}, content_type="application/json")
    assert bad.status_code == 400 and "tags" in bad.json()
    assert RetentionPolicy.objects.get().tags == "^pr-"


def test_viewers_read_operators_cannot_change_and_nobody_anonymous(
    admin_client_role: Client, operator_client: Client, viewer_client: Client, client: Client
) -> None:
    body = admin_client_role.post(URL, POLICY, content_type="application/json").json()
    item = f"{URL}{body['id']}/"
    assert viewer_client.get(item).status_code == 200
    assert viewer_client.post(f"{item}preview/").status_code == 403
    assert viewer_client.post(f"{item}run/", {}, content_type="application/json").status_code == 403
    for user in (viewer_client, operator_client):
        assert user.post(URL, POLICY, content_type="application/json").status_code == 403
        assert user.patch(item, {"enabled": False}, content_type="application/json").status_code == 403
        assert user.delete(item).status_code == 403
    assert client.get(URL).status_code in (401, 403)
    assert RetentionPolicy.objects.get().enabled


def test_an_unknown_or_malformed_id_is_a_json_404(viewer_client: Client) -> None:
    for item in ("12345/", "abc/"):
        answer = viewer_client.get(f"{URL}{item}")
        assert answer.status_code == 404 and "detail" in answer.json()
