"""The protected-tag rules through the API and their page: every role reads, admins change, bad patterns are 400s."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog.models import ProtectedTag
from core.models import AuditEntry

pytestmark = pytest.mark.django_db
URL = "/api/v1/protected-tags/"


def post(client: Client, body: Any) -> Any:
    return client.post(URL, body, content_type="application/json")


def test_an_admin_adds_lists_and_removes_a_rule_each_change_audited(admin_client_role: Client) -> None:
    created = post(admin_client_role, {"repositories": "**", "tags": r"^(latest|v?\d+\.\d+\.\d+)$"})

    assert created.status_code == 201
    rule = created.json()
    assert rule["repositories"] == "**" and rule["tags"] == r"^(latest|v?\d+\.\d+\.\d+)$"
    assert rule["created_by"] == "ada"
    assert rule["description"] == f'protected by rule {rule["id"]}: repositories "**", tags "{rule["tags"]}"'
    listed = admin_client_role.get(URL).json()
    assert [item["id"] for item in listed["results"]] == [rule["id"]]
    assert admin_client_role.get(f"{URL}{rule['id']}/").json() == rule

    removed = admin_client_role.delete(f"{URL}{rule['id']}/")

    assert removed.status_code == 204
    assert not ProtectedTag.objects.exists()
    assert admin_client_role.delete(f"{URL}{rule['id']}/").status_code == 404
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "outcome", "actor"))
    assert actions == [("protect-tags", "succeeded", "ada"), ("unprotect-tags", "succeeded", "ada")]


def test_every_role_reads_but_only_admins_change(viewer_client: Client, operator_client: Client) -> None:
    rule = ProtectedTag.objects.create(repositories="team/*", tags="^latest$")

    assert viewer_client.get(URL).json()["results"][0]["id"] == rule.pk
    assert operator_client.get(f"{URL}{rule.pk}/").status_code == 200
    for client in (viewer_client, operator_client):
        refused = post(client, {"repositories": "**", "tags": "x"})
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]
        assert client.delete(f"{URL}{rule.pk}/").status_code == 403
    assert ProtectedTag.objects.count() == 1
    assert Client().get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"repositories": "Team/*", "tags": "x"}, "repositories", "cannot appear"),
        ({"repositories": "team//x", "tags": "x"}, "repositories", "empty component"),
        ({"repositories": "team/**x", "tags": "x"}, "repositories", "stands alone"),
        ({"repositories": "**", "tags": "(latest"}, "tags", "not a valid regular expression"),
        ({"repositories": "**", "tags": ""}, "tags", ""),
        ({"repositories": "**"}, "tags", "required"),
        ({"repositories": 3, "tags": "x"}, "repositories", ""),
        ({"repositories": "**", "tags": "x", "extra": 1}, "extra", "Unknown field"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(admin_client_role: Client, body: Any, field: str, message: str) -> None:
    answer = post(admin_client_role, body)

    assert answer.status_code == 400
    errors = answer.json()
    assert field in errors
    assert message in str(errors[field])
    assert not ProtectedTag.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(admin_client_role: Client) -> None:
    assert post(admin_client_role, ["**", "x"]).status_code == 400


def test_an_unknown_or_malformed_id_is_a_json_404(admin_client_role: Client) -> None:
    for pk in ("999", "abc"):
        answer = admin_client_role.get(f"{URL}{pk}/")
        assert answer.status_code == 404 and "detail" in answer.json()


def test_the_page_lists_the_rules_and_says_the_registry_cannot_enforce_them(viewer_client: Client) -> None:
    ProtectedTag.objects.create(repositories="team/**", tags="^<b>latest</b>$")

    page = viewer_client.get("/catalog/protected-tags/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "The registry itself cannot enforce this" in html and "can still delete a protected tag" in html
    assert "^&lt;b&gt;latest&lt;/b&gt;$" in html  # escaped
    assert 'data-testid="add-rule"' not in html and 'data-testid="remove-rule"' not in html
    assert viewer_client.post("/catalog/protected-tags/", {"repositories": "**", "tags": "x"}).status_code == 403
    assert ProtectedTag.objects.count() == 1


def test_an_admin_adds_and_removes_a_rule_on_the_page(admin_client_role: Client) -> None:
    bad = admin_client_role.post("/catalog/protected-tags/", {"repositories": "a//b", "tags": "(x"})
    assert bad.status_code == 400
    assert "empty component" in bad.content.decode() and "not a valid regular expression" in bad.content.decode()
    assert not ProtectedTag.objects.exists()

    added = admin_client_role.post("/catalog/protected-tags/", {"repositories": " team/* ", "tags": "^latest$"})

    assert added.status_code == 302
    rule = ProtectedTag.objects.get()
    assert (rule.repositories, rule.tags, rule.created_by.username) == ("team/*", "^latest$", "ada")  # type: ignore[union-attr]
    listed = admin_client_role.get("/catalog/protected-tags/").content.decode()
    assert f"Rule {rule.pk} added" in listed and 'data-testid="remove-rule"' in listed
    removed = admin_client_role.post(f"/catalog/protected-tags/{rule.pk}/delete/")
    assert removed.status_code == 302 and not ProtectedTag.objects.exists()
    assert admin_client_role.get(f"/catalog/protected-tags/{rule.pk}/delete/").status_code == 405
