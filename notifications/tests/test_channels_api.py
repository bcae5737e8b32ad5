"""Channels and rules through the API: admins only, unknown fields refused, URLs never shown whole,
destinations that would be SSRF refused with the reason."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditEntry
from notifications.masking import MASK
from notifications.models import Channel, Rule

pytestmark = [pytest.mark.django_db, pytest.mark.database]

CHANNELS = "/api/v1/notifications/channels/"
RULES = "/api/v1/notifications/rules/"
SECRET_PATH = "T0ps3cretPathToken"


def webhook(url: str = f"http://127.0.0.1:9/hooks/{SECRET_PATH}?token=alsosecret", **extra: object) -> dict:
    return {"name": "scripts", "kind": "webhook", "url": url, **extra}


def test_an_admin_makes_a_webhook_channel_and_sees_its_secret_once(admin_client_role: Client) -> None:
    made = admin_client_role.post(CHANNELS, webhook(cloudevents=True), content_type="application/json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["masked_url"] == f"http://127.0.0.1:9/{MASK}" and "url" not in body
    assert body["cloudevents"] is True and body["page"].endswith(f"/notifications/channels/{body['id']}/")

    again = admin_client_role.get(f"{CHANNELS}{body['id']}/").content.decode()
    listed = admin_client_role.get(CHANNELS).content.decode()
    page = admin_client_role.get(f"/notifications/channels/{body['id']}/").content.decode()
    audit = " ".join(AuditEntry.objects.values_list("detail", flat=True))
    for shown in (again, listed, page, audit):
        assert SECRET_PATH not in shown and "alsosecret" not in shown and body["secret"] not in shown
    assert Channel.objects.get().secret == body["secret"]


def test_an_apprise_url_apprise_cannot_read_is_refused_and_not_echoed(admin_client_role: Client) -> None:
    answer = admin_client_role.post(
        CHANNELS,
        {"name": "chat", "kind": "apprise", "url": f"discord://{SECRET_PATH}"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert "Apprise does not understand" in answer.json()["url"][0] and SECRET_PATH not in answer.content.decode()
    ok = admin_client_role.post(
        CHANNELS,
        {"name": "chat", "kind": "apprise", "url": f"discord://123456789/{SECRET_PATH}"},
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["secret"] == "" and SECRET_PATH not in ok.content.decode()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.1:8080/x", "link-local"),
        ("http://[fe80::1]:8080/x", "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://100.100.100.200/latest/meta-data/", "metadata"),
        ("http://testserver/api/v1/gc/", "this dashboard"),
        ("http://127.0.0.1:8000/api/v1/gc/", "this dashboard"),
    ],
)
def test_a_channel_pointing_at_ssrf_targets_is_refused_with_the_reason(
    admin_client_role: Client, url: str, reason: str
) -> None:
    answer = admin_client_role.post(CHANNELS, webhook(url), content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert reason in answer.json()["url"][0]
    apprise = admin_client_role.post(
        CHANNELS,
        {"name": "j", "kind": "apprise", "url": url.replace("http://", "json://")},
        content_type="application/json",
    )
    assert apprise.status_code == 400 and reason in apprise.json()["url"][0]
    assert not Channel.objects.exists()


def test_loopback_can_be_refused_too(admin_client_role: Client, settings: object) -> None:
    settings.NOTIFICATIONS_ALLOW_LOOPBACK = False  # type: ignore[attr-defined]
    answer = admin_client_role.post(CHANNELS, webhook("http://localhost:9999/x"), content_type="application/json")
    assert answer.status_code == 400 and "NOTIFICATIONS_ALLOW_LOOPBACK" in answer.json()["url"][0]


def test_bodies_refuse_unknown_fields_naming_them(admin_client_role: Client) -> None:
    answer = admin_client_role.post(CHANNELS, webhook(colour="red"), content_type="application/json")
    assert answer.status_code == 400 and "colour" in answer.json()
    channel = admin_client_role.post(CHANNELS, webhook(), content_type="application/json").json()
    rule = {"name": "pushes", "channel": channel["id"], "topics": ["push"], "extra": 1}
    refused = admin_client_role.post(RULES, rule, content_type="application/json")
    assert refused.status_code == 400 and "extra" in refused.json()


def test_operators_and_viewers_can_neither_read_nor_write_channels(
    operator_client: Client, viewer_client: Client
) -> None:
    for client in (operator_client, viewer_client):
        assert client.get(CHANNELS).status_code == 403
        answer = client.post(CHANNELS, webhook(), content_type="application/json")
        assert answer.status_code == 403 and "admin" in answer.json()["detail"]
        assert client.get("/notifications/").status_code == 403
    assert not Channel.objects.exists()


def test_rules_take_topics_globs_and_a_tag_expression(admin_client_role: Client) -> None:
    channel = admin_client_role.post(CHANNELS, webhook(), content_type="application/json").json()
    rule = {
        "name": "prod pushes",
        "channel": channel["id"],
        "topics": ["push", "delete"],
        "repositories": ["prod/**"],
        "tags": r"^v\d+\.\d+\.\d+$",
        "digest_minutes": 5,
    }
    made = admin_client_role.post(RULES, rule, content_type="application/json")
    assert made.status_code == 201, made.content
    assert {k: made.json()[k] for k in rule} == rule
    for field, bad in (("topics", ["pushes"]), ("repositories", ["Prod/**"]), ("tags", "(")):
        answer = admin_client_role.post(RULES, {**rule, "name": field, field: bad}, content_type="application/json")
        assert answer.status_code == 400 and field in answer.json(), answer.content
    changed = admin_client_role.patch(
        f"{RULES}{made.json()['id']}/", {"digest_minutes": 0}, content_type="application/json"
    )
    assert changed.status_code == 200 and Rule.objects.get().digest_minutes == 0
    assert admin_client_role.delete(f"{RULES}{made.json()['id']}/").status_code == 204
    assert AuditEntry.objects.filter(action="notification-rule-deleted").exists()


def test_changing_a_channel_keeps_its_url_unless_a_new_one_is_given(admin_client_role: Client) -> None:
    channel = admin_client_role.post(CHANNELS, webhook(), content_type="application/json").json()
    answer = admin_client_role.patch(f"{CHANNELS}{channel['id']}/", {"enabled": False}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["enabled"] is False
    assert SECRET_PATH in Channel.objects.get().url
    refused = admin_client_role.patch(
        f"{CHANNELS}{channel['id']}/", {"url": "http://169.254.169.254/"}, content_type="application/json"
    )
    assert refused.status_code == 400 and SECRET_PATH in Channel.objects.get().url
    rotated = admin_client_role.post(f"{CHANNELS}{channel['id']}/secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != channel["secret"]
    assert Channel.objects.get().secret == rotated.json()["secret"]


def test_a_rule_naming_a_channel_that_does_not_exist_is_a_conflict(admin_client_role: Client) -> None:
    answer = admin_client_role.post(
        RULES, {"name": "orphan", "channel": 424242, "topics": ["push"]}, content_type="application/json"
    )
    assert answer.status_code == 409 and "no notification channel 424242" in answer.json()["detail"]
    wrong = admin_client_role.post(
        RULES, {"name": "orphan", "channel": "x", "topics": ["push"]}, content_type="application/json"
    )
    assert wrong.status_code == 400 and "channel" in wrong.json()
