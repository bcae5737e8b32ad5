"""The Retention page's forms: the same validation as the API, roles, CSRF-protected POSTs, escaped data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from core.models import AuditEntry
from retention.models import RetentionPolicy
from retention.tests.helpers import push

pytestmark = pytest.mark.django_db

FORM = {"name": "web", "enabled": "on", "repositories": "team/*\nweb", "order_by": "pushed", "keep_last": "3"}


def test_admins_create_and_edit_a_policy_through_the_form(admin_client_role: Client) -> None:
    created = admin_client_role.post("/retention/new/", FORM)
    policy = RetentionPolicy.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/retention/{policy.pk}/"
    assert policy.repositories == ["team/*", "web"] and policy.keep_last == 3 and policy.periodic_task is None
    edited = admin_client_role.post(f"/retention/{policy.pk}/edit/", {**FORM, "schedule": " 0 3 * * 0 "})
    assert edited.status_code == 302
    policy.refresh_from_db()
    assert policy.schedule == "0 3 * * 0" and policy.periodic_task is not None
    assert AuditEntry.objects.filter(action="retention-policy-changed").count() == 1
    page = admin_client_role.get("/retention/").content.decode()
    assert f'href="/retention/{policy.pk}/"' in page and "0 3 * * 0" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"repositories": "Team/*"}, "repositories", "lowercase"),
        ({"repositories": ""}, "repositories", "required"),
        ({"tags": "("}, "tags", "not a valid regular expression"),
        ({"keep_last": "0"}, "keep_last", "greater than or equal to 1"),
        ({"schedule": "every day"}, "schedule", "Expected five fields"),
    ],
)
def test_a_bad_form_is_a_400_saying_what_to_change(
    admin_client_role: Client, change: dict[str, str], field: str, message: str
) -> None:
    answer = admin_client_role.post("/retention/new/", {**FORM, **change})
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert answer.context["form"].errors[field]
    assert not RetentionPolicy.objects.exists()


def test_viewers_see_policies_but_change_preview_and_run_nothing(
    admin_client_role: Client, viewer_client: Client
) -> None:
    admin_client_role.post("/retention/new/", {**FORM, "name": "<b>bold</b>"})
    policy = RetentionPolicy.objects.get()
    page = viewer_client.get(f"/retention/{policy.pk}/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert 'data-testid="preview-button"' not in page and 'data-testid="policy-form"' not in page
    for url in ("/retention/new/", f"/retention/{policy.pk}/edit/", f"/retention/{policy.pk}/delete/"):
        assert viewer_client.post(url, FORM).status_code == 403
    assert viewer_client.post(f"/retention/{policy.pk}/preview/").status_code == 403
    assert viewer_client.post(f"/retention/{policy.pk}/run/").status_code == 403
    assert viewer_client.get(f"/retention/{policy.pk}/delete/").status_code == 405
    assert RetentionPolicy.objects.get().name == "<b>bold</b>"


def test_posts_need_the_csrf_token(admin_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post("/retention/new/", FORM).status_code == 403
    assert not RetentionPolicy.objects.exists()


def test_operators_preview_a_policy_as_an_htmx_fragment(
    registry: Any, repo_prefix: str, admin_client_role: Client, operator_client: Client
) -> None:
    from inventory import sync

    push(registry.url, repo_prefix, "old", 30)
    push(registry.url, repo_prefix, "new", 1)
    sync.reconcile()
    admin_client_role.post(
        "/retention/new/", {**FORM, "repositories": repo_prefix, "keep_last": "1", "order_by": "created"}
    )
    policy = RetentionPolicy.objects.get()
    fragment = operator_client.post(f"/retention/{policy.pk}/preview/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert 'data-tag="old" data-action="delete"' in html and 'data-tag="new" data-action="keep"' in html
    assert 'name="fingerprint"' in html
    assert operator_client.post(f"/retention/{policy.pk}/edit/", FORM).status_code == 403


def test_a_policy_page_has_a_breadcrumb_that_ends_in_its_name(admin_client_role: Client) -> None:
    """Issue 25: the policy page's breadcrumb read "Retention /" and stopped there."""
    admin_client_role.post("/retention/new/", FORM)
    policy = RetentionPolicy.objects.get()
    page = admin_client_role.get(f"/retention/{policy.pk}/").content.decode()
    assert "</a> /</p>" not in page
    assert (
        '<nav aria-label="breadcrumb"><ul><li><a href="/retention/">Retention</a></li><li>web</li></ul></nav>' in page
    )


NOTHING_KEPT = {"name": "all", "enabled": "on", "repositories": "team/*", "order_by": "created"}


def test_a_policy_that_keeps_nothing_needs_i_understand_then_a_preview_before_its_schedule(
    admin_client_role: Client,
) -> None:
    """Issue 25: "Keeps: nothing: every tag considered goes" saved without a word, enabled by default."""
    refused = admin_client_role.post("/retention/new/", NOTHING_KEPT)
    assert refused.status_code == 400 and not RetentionPolicy.objects.exists()
    assert "This policy keeps no tag" in refused.content.decode()

    scheduled = {**NOTHING_KEPT, "keeps_nothing_understood": "on", "schedule": "0 3 * * 0"}
    not_previewed = admin_client_role.post("/retention/new/", scheduled)
    assert not_previewed.status_code == 400 and not RetentionPolicy.objects.exists()
    assert "only once you have previewed it" in not_previewed.content.decode()

    created = admin_client_role.post("/retention/new/", {**NOTHING_KEPT, "keeps_nothing_understood": "on"})
    assert created.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert policy.schedule == "" and policy.periodic_task is None
    edit = f"/retention/{policy.pk}/edit/"
    assert admin_client_role.post(edit, scheduled).status_code == 400  # still not previewed
    assert admin_client_role.post(f"/retention/{policy.pk}/preview/").status_code == 200
    assert admin_client_role.post(edit, scheduled).status_code == 302
    policy.refresh_from_db()
    assert policy.schedule == "0 3 * * 0" and policy.periodic_task is not None


def test_a_new_policy_form_deletes_the_manifests_it_leaves_untagged_by_default(admin_client_role: Client) -> None:
    """Issue 25: on registry:3 a policy left at its defaults deleted tags and freed nothing."""
    page = admin_client_role.get("/retention/").content.decode()
    box = re.search(r'<input type="checkbox" name="untagged"[^>]*>', page)
    assert box is not None and "checked" in box[0]


def test_deleting_a_policy_asks_first_in_red(admin_client_role: Client) -> None:
    admin_client_role.post("/retention/new/", FORM)
    policy = RetentionPolicy.objects.get()
    page = admin_client_role.get(f"/retention/{policy.pk}/").content.decode()
    form = re.search(r'<form method="post" action="/retention/\d+/delete/"[^>]*>', page, re.S)
    assert form is not None and 'data-confirm="Delete the policy “web” and its schedule?' in form[0]
    assert 'class="danger small" data-testid="policy-delete"' in page
