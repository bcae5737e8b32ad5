"""An admin adds a webhook channel and a rule in Chromium, sees the secret once, sends a test and reads
the delivery log; the pages fit 1400 px and 390 px."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from notifications.models import Channel
from notifications.tests.conftest import Receiver

HOSTILE = '<img src=x onerror="alert(1)">'


def no_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_adds_a_channel_and_a_rule_and_sends_a_test(
    page: Any, live_server: Any, admin_user: User, receiver: Receiver, celery_worker: object
) -> None:
    browser_login(page, live_server, admin_user)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/notifications/")
    page.click("[data-testid=new-channel]")
    form = page.locator("#new-channel [data-testid=channel-form]")
    form.locator("input[name=name]").fill(f"scripts {HOSTILE}")
    form.locator("select[name=kind]").select_option("webhook")
    form.locator("input[name=url]").fill(f"{receiver.url}/hook-secret-path")
    form.locator("[data-testid=channel-save]").click()
    secret_box = page.locator("[data-testid=new-secret]")
    secret_box.wait_for()
    secret = Channel.objects.get().secret
    assert secret in secret_box.inner_text() and HOSTILE in page.inner_text("h1")
    assert "hook-secret-path" not in page.content()
    assert no_overflow(page)

    page.click("[data-testid=send-test]")
    page.wait_for_url("**/notifications/channels/*/")
    (got,) = receiver.wait_for(1)
    assert got.headers["x-registry-admin-signature"] == (
        "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    )
    assert json.loads(got.body)["title"] == "Test message from registry-admin"
    for _ in range(50):
        page.reload()
        if page.locator("tr[data-status=sent]").count():
            break
        page.wait_for_timeout(200)
    assert page.locator("tr[data-status=sent]").count() == 1
    assert secret not in page.content()  # shown once only

    page.goto(f"{live_server.url}/notifications/")
    page.click("[data-testid=new-rule]")
    rule = page.locator("#new-rule [data-testid=rule-form]")
    rule.locator("input[name=name]").fill("prod pushes")
    rule.locator("select[name=channel]").select_option(str(Channel.objects.get().pk))
    rule.locator("input[value=push]").check()
    rule.locator("textarea[name=repositories]").fill("prod/**")
    with page.expect_navigation():
        rule.locator("[data-testid=rule-save]").click()
    assert "prod/**" in page.inner_text("[data-testid=rules]")
    page.set_viewport_size({"width": 390, "height": 800})
    assert no_overflow(page), "the Notifications page is wider than a phone"
