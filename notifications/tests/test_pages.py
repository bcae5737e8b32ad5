"""The Notifications pages: admins only, forms that say what is wrong, URLs masked everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from core.models import AuditEntry
from notifications.masking import MASK, mask_url, pieces, redact
from notifications.models import Channel, Rule

pytestmark = [pytest.mark.django_db, pytest.mark.database]

TOKEN = "123456:AAHsecretBotTokenXYZ"


def logged(caplog: Any) -> str:
    """What the dashboard's log handlers get. Apprise's own records (which name URLs whole) go to a
    NullHandler only (settings.LOGGING), but pytest hands non-propagating loggers' records to caplog too."""
    assert settings.LOGGING["loggers"]["apprise"] == {"level": "WARNING", "handlers": ["discard"], "propagate": False}
    return "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("apprise"))


def make_channel(client: Client, **fields: Any) -> Any:
    data = {"name": "telegram", "kind": "apprise", "url": f"tgram://{TOKEN}/987654", "enabled": "on", **fields}
    return client.post("/notifications/channels/new/", data)


def test_an_admin_adds_an_apprise_channel_and_never_sees_its_url_again(admin_client_role: Client, caplog: Any) -> None:
    answer = make_channel(admin_client_role)
    assert answer.status_code == 200, answer.content.decode()[:3000]
    channel = Channel.objects.get()
    assert channel.url == f"tgram://{TOKEN}/987654" and channel.secret == ""
    for path in ("/notifications/", channel.get_absolute_url()):
        shown = admin_client_role.get(path).content.decode()
        assert TOKEN not in shown and "AAHsecret" not in shown and "987654" not in shown
    index = admin_client_role.get("/notifications/").content.decode()
    assert f"tgram://{MASK}</code>" in index
    assert TOKEN not in " ".join(AuditEntry.objects.values_list("detail", flat=True))
    assert TOKEN not in logged(caplog)


def test_a_bad_url_is_refused_on_the_page_with_the_reason_and_not_logged(
    admin_client_role: Client, caplog: Any
) -> None:
    answer = make_channel(admin_client_role, url="discord://SECRETwebhookid")  # no token: Apprise cannot use it
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Apprise does not understand this URL" in page and "SECRETwebhookid" not in page
    assert "SECRETwebhookid" not in logged(caplog) and not Channel.objects.exists()
    linklocal = make_channel(admin_client_role, kind="webhook", url="http://169.254.169.254/latest/")
    assert linklocal.status_code == 400 and "cloud metadata address" in linklocal.content.decode()


def test_editing_a_channel_with_a_blank_url_keeps_it(admin_client_role: Client) -> None:
    make_channel(admin_client_role)
    channel = Channel.objects.get()
    answer = admin_client_role.post(
        f"/notifications/channels/{channel.pk}/edit/", {"name": "tg", "kind": "apprise", "url": ""}
    )
    assert answer.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "tg" and channel.url.startswith("tgram://") and not channel.enabled


def test_rules_are_made_changed_and_deleted_on_the_page(admin_client_role: Client) -> None:
    make_channel(admin_client_role)
    channel = Channel.objects.get()
    data = {
        "name": "prod",
        "channel": channel.pk,
        "topics": ["push", "gc-failed"],
        "repositories": "prod/**\nteam/*",
        "tags": r"^v\d+",
        "disk_threshold": 90,
        "digest_minutes": 0,
        "enabled": "on",
    }
    bad = admin_client_role.post("/notifications/rules/new/", {**data, "repositories": "Prod/**"})
    assert bad.status_code == 400 and "lowercase letters" in bad.content.decode()
    assert admin_client_role.post("/notifications/rules/new/", data).status_code == 302
    rule = Rule.objects.get()
    assert rule.repositories == ["prod/**", "team/*"] and rule.topics == ["push", "gc-failed"]
    index = admin_client_role.get("/notifications/").content.decode()
    assert "A tag pushed; A garbage collection failed" in index
    edited = admin_client_role.post(f"/notifications/rules/{rule.pk}/edit/", {**data, "digest_minutes": 15})
    assert edited.status_code == 302 and Rule.objects.get().digest_minutes == 15
    assert admin_client_role.post(f"/notifications/rules/{rule.pk}/delete/").status_code == 302
    assert not Rule.objects.exists()
    assert admin_client_role.post(f"/notifications/channels/{channel.pk}/delete/").status_code == 302
    assert not Channel.objects.exists()


def test_only_admins_see_the_page_and_state_changes_are_posts(
    viewer_client: Client, operator_client: Client, admin_client_role: Client
) -> None:
    for client in (viewer_client, operator_client):
        assert client.get("/notifications/").status_code == 403
        assert make_channel(client).status_code == 403
    assert admin_client_role.get("/notifications/channels/new/").status_code == 405
    assert Client().get("/notifications/").status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("discord://1234567890/tokenTOKENtoken", f"discord://{MASK}/{MASK}"),
        ("mailto://me:pa55word@gmail.com", f"mailto://{MASK}@gmail.com"),
        ("ntfy://ntfy.example.lan/backups", f"ntfy://ntfy.example.lan/{MASK}"),
        ("json://10.0.0.5:8080/hook?token=abcd1234", f"json://10.0.0.5:8080/{MASK}"),
        ("https://[fd00::5]:8443/x", f"https://[fd00::5]:8443/{MASK}"),
        ("tgram://123:ABC/1", f"tgram://{MASK}"),
    ],
)
def test_urls_are_masked_and_their_secret_pieces_redacted(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    text = f"Failed to reach {url} (see {url.split('://', 1)[1]})"
    redacted = redact(text, pieces(url, "whsec_abc"))
    for secret in ("tokenTOKENtoken", "pa55word", "backups", "abcd1234", "123:ABC"):
        if secret in url:
            assert secret not in redacted, redacted


def test_the_delivery_log_forgets_what_is_older_than_its_days(admin_client_role: Client, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from notifications import dispatch
    from notifications.models import Delivery

    settings.NOTIFICATIONS_LOG_DAYS = 7
    make_channel(admin_client_role)
    channel = Channel.objects.get()
    old, _new, waiting = (
        Delivery.objects.create(channel=channel, topic="push", title=title, text="", status=status)
        for title, status in (("old", "sent"), ("new", "failed"), ("waiting", "retrying"))
    )
    Delivery.objects.filter(pk__in=[old.pk, waiting.pk]).update(created_at=timezone.now() - timedelta(days=8))
    assert dispatch.prune() == 1
    assert set(Delivery.objects.values_list("title", flat=True)) == {"new", "waiting"}
    page = admin_client_role.get(channel.get_absolute_url()).content.decode()
    assert 'data-status="failed"' in page and 'data-status="retrying"' in page


def test_a_channel_that_becomes_a_webhook_shows_its_new_secret_once(admin_client_role: Client) -> None:
    make_channel(admin_client_role)
    channel = Channel.objects.get()
    answer = admin_client_role.post(
        f"/notifications/channels/{channel.pk}/edit/",
        {"name": "hook", "kind": "webhook", "url": "http://10.1.2.3:9000/hook", "enabled": "on"},
    )
    channel.refresh_from_db()
    assert answer.status_code == 200 and channel.secret.startswith("whsec_")
    assert channel.secret in answer.content.decode()
    assert channel.secret not in admin_client_role.get(channel.get_absolute_url()).content.decode()
