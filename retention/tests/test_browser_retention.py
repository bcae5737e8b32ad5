"""An admin creates a policy, previews it and runs it in Chromium; the page fits 1400 px and 390 px."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from inventory import sync
from retention.tests.helpers import exists, push

HOSTILE = '<img src=x onerror="alert(1)">'


def no_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_creates_previews_and_runs_a_policy(
    page: Any, live_server: Any, admin_user: User, registry: Any, repo_prefix: str, celery_worker: Any
) -> None:
    repo = f"{repo_prefix}/web"
    push(registry.url, repo, "old", 30)
    push(registry.url, repo, "new", 1)
    sync.reconcile()
    browser_login(page, live_server, admin_user)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/retention/")
    page.click("[data-testid=new-policy]")
    form = page.locator("#new-policy [data-testid=policy-form]")
    form.locator("input[name=name]").fill(f"web {HOSTILE}")
    form.locator("textarea[name=repositories]").fill(f"{repo_prefix}/*")
    form.locator("input[name=keep_last]").fill("1")
    form.locator("select[name=order_by]").select_option("created")
    form.locator("input[name=untagged]").check()
    form.locator("[data-testid=policy-save]").click()
    page.wait_for_url("**/retention/*/")
    assert HOSTILE in page.inner_text("h1")  # shown as text, not markup

    page.click("[data-testid=preview-button]")
    page.locator("[data-testid=preview]").wait_for()
    assert page.locator("tr[data-tag='old'][data-action='delete']").count() == 1
    assert page.locator("tr[data-tag='new'][data-action='keep']").count() == 1
    totals = page.locator("[data-testid=preview-totals]")
    assert totals.get_attribute("data-tags") == "1" and totals.get_attribute("data-manifests") == "1"
    assert int(totals.get_attribute("data-bytes") or 0) > 0
    assert "among the last 1 by created" in page.inner_text("tr[data-tag='new']")
    assert exists(registry.url, repo, "old")  # the preview deleted nothing
    assert no_overflow(page)
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_overflow(page), "the policy page with its preview is wider than a phone"

    page.set_viewport_size({"width": 1400, "height": 900})
    run = page.locator("[data-testid=run-button]")
    # Issue 25: the deleting button is red, and asks before it deletes.
    assert "danger" in (run.get_attribute("class") or "")
    assert run.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(217, 53, 38)"
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    run.click()  # dismissed: nothing happens
    assert asked == ["Delete the 1 tag and 1 manifest this preview lists? This cannot be undone."]
    assert exists(registry.url, repo, "old") and "/retention/" in page.url
    run.click()
    page.wait_for_url("**/maintenance/jobs/*/")
    outcome = page.locator("[data-testid=job-outcome]")
    outcome.filter(has_text="Deleted 1 tag and 1 manifest").wait_for(timeout=60_000)
    assert "old" in page.inner_text("[data-testid=retention-deleted-tags]")
    assert not exists(registry.url, repo, "old") and exists(registry.url, repo, "new")
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_overflow(page)
    page.goto(f"{live_server.url}/retention/")
    assert no_overflow(page)
