"""Deliveries on a real Celery worker to a local receiver: the webhook's body, signature and CloudEvent,
retries after a 500, Apprise's json:// message, a channel that keeps failing, "Send a test"; and no
secret in any page, answer or log line on the way."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core import tokens
from core.roles import Role
from notifications.models import Channel, Delivery
from notifications.tests.conftest import Receiver
from notifications.tests.test_pages import logged

pytestmark = [pytest.mark.django_db(transaction=True)]

CHANNELS = "/api/v1/notifications/channels/"
RULES = "/api/v1/notifications/rules/"
PATH_SECRET = "hook-Xy7pQ2secretpath"


def channel(client: Client, url: str, kind: str = "webhook", **extra: Any) -> dict[str, Any]:
    made = client.post(
        CHANNELS,
        {"name": f"c-{kind}-{time.monotonic_ns()}", "kind": kind, "url": url, **extra},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    return dict(made.json())


def rule(client: Client, channel_id: int, topics: list[str], **extra: Any) -> None:
    made = client.post(
        RULES,
        {"name": f"r-{time.monotonic_ns()}", "channel": channel_id, "topics": topics, **extra},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content


def until(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        time.sleep(0.1)


def test_a_webhook_gets_the_event_as_json_signed_with_its_secret(
    admin_client_role: Client, admin_user: User, receiver: Receiver, celery_worker: object, caplog: Any
) -> None:
    made = channel(admin_client_role, f"{receiver.url}/{PATH_SECRET}")
    rule(admin_client_role, made["id"], ["token-created"])

    tokens.create(admin_user, "ci-push", Role.OPERATOR)

    (got,) = receiver.wait_for(1)
    assert got.path == f"/{PATH_SECRET}" and got.headers["content-type"] == "application/json"
    expected = "sha256=" + hmac.new(made["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-registry-admin-signature"], expected)
    body = json.loads(got.body)
    assert body["topic"] == "token-created" and body["title"] == "API token created: ci-push"
    assert "'ci-push' for ada with the operator role was created" in body["text"]
    assert body["link"].endswith("/audit/") and body["facts"]["owner"] == "ada"
    until(lambda: Delivery.objects.filter(status="sent").exists())
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1 and delivery.status_code == 200
    assert made["secret"] not in logged(caplog) and PATH_SECRET not in logged(caplog)


def test_a_cloudevents_webhook_gets_a_structured_cloudevent(
    admin_client_role: Client, admin_user: User, receiver: Receiver, celery_worker: object, settings: Any
) -> None:
    settings.DASHBOARD_URL = "http://nas.example.lan:8000"
    made = channel(admin_client_role, f"{receiver.url}/ce", cloudevents=True)
    rule(admin_client_role, made["id"], ["token-created"])

    tokens.create(admin_user, "grafana", Role.VIEWER)

    (got,) = receiver.wait_for(1)
    assert got.headers["content-type"] == "application/cloudevents+json"
    event = json.loads(got.body)
    assert event["specversion"] == "1.0" and event["type"] == "dev.registry-admin.token-created"
    assert event["source"] == "http://nas.example.lan:8000" and event["id"].startswith("registry-admin-delivery-")
    assert event["time"] and event["datacontenttype"] == "application/json"
    assert event["data"]["title"] == "API token created: grafana"
    assert event["data"]["link"] == "http://nas.example.lan:8000/audit/"
    signature = hmac.new(made["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-registry-admin-signature"] == f"sha256={signature}"


def test_a_receiver_answering_500_then_200_gets_the_retry(
    admin_client_role: Client, admin_user: User, receiver: Receiver, celery_worker: object, settings: Any
) -> None:
    settings.NOTIFICATIONS_RETRY_SECONDS = 1
    receiver.answers.append(500)
    made = channel(admin_client_role, f"{receiver.url}/{PATH_SECRET}")
    rule(admin_client_role, made["id"], ["token-created"])

    tokens.create(admin_user, "retry-me", Role.VIEWER)

    first, second = receiver.wait_for(2)
    assert first.body == second.body  # the same message, signed the same
    until(lambda: Delivery.objects.filter(status="sent").exists())
    delivery = Delivery.objects.get()
    assert delivery.attempts == 2 and delivery.status_code == 200 and delivery.error == ""
    page = admin_client_role.get(f"/notifications/channels/{made['id']}/").content.decode()
    assert "API token created: retry-me" in page and 'data-status="sent"' in page
    assert not Channel.objects.get().failing


def test_an_apprise_json_channel_gets_the_message_in_words(
    admin_client_role: Client, admin_user: User, receiver: Receiver, celery_worker: object
) -> None:
    url = receiver.url.replace("http://", "json://") + f"/{PATH_SECRET}"
    made = channel(admin_client_role, url, kind="apprise")
    assert PATH_SECRET not in made["masked_url"]
    rule(admin_client_role, made["id"], ["token-created"])

    tokens.create(admin_user, "apprised", Role.VIEWER)

    (got,) = receiver.wait_for(1)
    message = json.loads(got.body)
    assert got.path == f"/{PATH_SECRET}"
    assert message["title"] == "API token created: apprised"
    assert message["message"].startswith("API token 'apprised' for ada with the viewer role was created")
    assert message["message"].rstrip().endswith("/audit/")


def test_a_channel_that_keeps_failing_is_marked_and_shown_on_the_home_page(
    admin_client_role: Client,
    admin_user: User,
    viewer_client: Client,
    receiver: Receiver,
    celery_worker: object,
    settings: Any,
    caplog: Any,
) -> None:
    settings.NOTIFICATIONS_RETRY_SECONDS = 1
    settings.NOTIFICATIONS_ATTEMPTS = 2
    settings.NOTIFICATIONS_FAILING_AFTER = 1
    receiver.answers.extend([500, 503])
    made = channel(admin_client_role, f"{receiver.url}/{PATH_SECRET}?token=querysecret1234")
    rule(admin_client_role, made["id"], ["token-created"])

    tokens.create(admin_user, "doomed", Role.VIEWER)

    receiver.wait_for(2)
    until(lambda: Delivery.objects.filter(status="failed").exists())
    delivery = Delivery.objects.get()
    assert delivery.attempts == 2 and delivery.status_code == 503 and "answered 503" in delivery.error
    until(lambda: Channel.objects.get().failing)
    assert 'hx-get="/notifications/failing/"' in viewer_client.get("/").content.decode()
    home = viewer_client.get("/notifications/failing/", HTTP_HX_REQUEST="true").content.decode()
    assert "Notifications are not getting through" in home and made["name"] in home
    page = admin_client_role.get(f"/notifications/channels/{made['id']}/").content.decode()
    answer = admin_client_role.get(f"{CHANNELS}{made['id']}/deliveries/").content.decode()
    assert "Failing since" in page and '"status":"failed"' in answer.replace(" ", "")
    for shown in (home, page, answer, logged(caplog), delivery.error):
        assert PATH_SECRET not in shown and "querysecret1234" not in shown and made["secret"] not in shown
    # A success puts it right.
    assert admin_client_role.post(f"{CHANNELS}{made['id']}/test/").status_code == 202
    until(lambda: not Channel.objects.get().failing)


def test_send_a_test_from_the_page_with_csrf(admin_user: User, receiver: Receiver, celery_worker: object) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    form = browser.get("/notifications/")
    token = form.cookies["csrftoken"].value
    made = browser.post(
        "/notifications/channels/new/",
        {
            "name": "hook",
            "kind": "webhook",
            "url": f"{receiver.url}/{PATH_SECRET}",
            "enabled": "on",
            "csrfmiddlewaretoken": token,
        },
    )
    assert made.status_code == 200, made.content.decode()[:2000]
    page = made.content.decode()
    found = Channel.objects.get()
    assert found.secret in page and PATH_SECRET not in page  # the secret once, the URL never
    assert found.secret not in browser.get(found.get_absolute_url()).content.decode()
    assert browser.post(f"/notifications/channels/{found.pk}/test/").status_code == 403  # no CSRF token
    sent = browser.post(f"/notifications/channels/{found.pk}/test/", {"csrfmiddlewaretoken": token})
    assert sent.status_code == 302
    (got,) = receiver.wait_for(1)
    assert json.loads(got.body)["title"] == "Test message from registry-admin"


def test_a_broker_that_is_down_never_fails_the_action_that_announced(
    admin_client_role: Client, receiver: Receiver, settings: Any, caplog: Any
) -> None:
    from core.tests.faults import dashboard_on

    made = channel(admin_client_role, f"{receiver.url}/x")
    rule(admin_client_role, made["id"], ["token-created"])
    with dashboard_on("redis://127.0.0.1:1/0", settings):  # nothing listens on port 1
        began = time.monotonic()
        answer = admin_client_role.post("/tokens/", {"name": "while-down", "role": "viewer", "expires_in_days": ""})
        took = time.monotonic() - began
        until(lambda: "Not telling of token-created" in caplog.text, 10)
    assert answer.status_code == 200 and "ra_" in answer.content.decode()
    assert took < 3.0, f"the token page took {took:.1f} s with the broker down"
    assert receiver.requests == []


def test_a_robot_created_on_the_access_api_and_an_events_gap_are_each_one_message(
    admin_client_role: Client, receiver: Receiver, celery_worker: object
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from inventory import gaps

    made = channel(admin_client_role, receiver.url)
    rule(admin_client_role, made["id"], ["token-created", "events-gap"])

    robot = admin_client_role.post(
        "/api/v1/robots/",
        {"name": "ci-pusher", "rules": [{"repositories": "ci/**", "actions": ["pull", "push"]}]},
        content_type="application/json",
    )
    assert robot.status_code == 201, robot.content
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert body["topic"] == "token-created" and body["title"] == "Robot account created: ci-pusher"

    gaps.record(timezone.now() - timedelta(minutes=5), timezone.now(), "The registry container was restarted.")
    second = receiver.wait_for(2)[1]
    told = json.loads(second.body)
    assert told["topic"] == "events-gap" and "restarted" in told["text"]
