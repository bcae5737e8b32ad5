"""No secret reaches a page, an API answer, the audit log or the logs of a run that uses them.

The run: a registry behind basic auth (REGISTRY_PASSWORD), a distinctive SECRET_KEY, a named
API token and a drf_create_token token, a failed login; the pages and API answers a user
sees, with a real worker behind the Registry and Diagnostics pages. REGISTRY_EVENTS_TOKEN is set and
events are posted with it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from conftest import PASSWORD
from core.models import AuditEntry
from inventory import services as inventory_services
from maintenance.models import RegistryMaintenance
from testenv import auth, images


@pytest.fixture
def secret_registry(services: Any, settings: Any):  # type: ignore[no-untyped-def]
    password = f"reg-pw-{uuid.uuid4().hex}"
    name = f"secrets-{uuid.uuid4().hex[:6]}"
    # The registry sends its events with the token, as the Registry page tells to configure it:
    # the container's environment (its saved docker inspect) holds the token.
    settings.REGISTRY_EVENTS_TOKEN = f"events-{uuid.uuid4().hex}"
    notifications = inventory_services.notifications_setting(
        "http://127.0.0.1:9/api/v1/events/", settings.REGISTRY_EVENTS_TOKEN
    )
    registry = auth.start_htpasswd_registry(
        services.engine, name, {"ci": password}, env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": notifications}
    )
    images.push_oci_image(registry.url, "private/app", "1.0", auth=("ci", password))
    images.push_oci_image(registry.url, "private/app", "1.1", auth=("ci", password))
    settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "ci", password
    settings.REGISTRY_CONTAINER = name
    try:
        yield registry, password
    finally:
        registry.remove()


@pytest.mark.django_db(transaction=True)
def test_no_secret_is_shown_answered_audited_or_logged(
    secret_registry: Any, settings: Any, caplog: pytest.LogCaptureFixture, celery_worker: object, services: Any
) -> None:
    registry, registry_password = secret_registry
    settings.SECRET_KEY = f"secret-key-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    user = User.objects.create_superuser("root", "root@localhost", PASSWORD)
    browser = Client()
    browser.force_login(user)
    made = browser.post("/tokens/", {"name": "ci", "role": "operator"})
    named_token = made.context["new_token"]
    drf_token = Token.objects.create(user=user).key
    wrong_password = f"wrong-{uuid.uuid4().hex}"
    Client().post("/accounts/login/", {"username": "root", "password": wrong_password})

    # What a GC saves before it changes the container: its whole docker inspect (the admin shows it).
    inspect = services.engine.client().api.inspect_container(registry.container_name)
    assert settings.REGISTRY_EVENTS_TOKEN in json.dumps(inspect)  # the secret is really in what is saved
    saved = RegistryMaintenance.objects.create(container_name=registry.container_name, mode="read-only", attrs=inspect)
    seen: dict[str, str] = {}
    for path in [
        "/",
        "/catalog/",
        "/catalog/r/private/app/",
        "/catalog/r/private/app/-/t/1.0/",
        "/maintenance/",
        "/registry/",
        "/registry/diagnostics/",
        "/audit/",
        "/tokens/",
        "/api/v1/docs/",
        "/admin/core/apitoken/",
        "/admin/authtoken/tokenproxy/",
        "/admin/maintenance/registrymaintenance/",
        f"/admin/maintenance/registrymaintenance/{saved.pk}/change/",
    ]:
        response = browser.get(path)
        assert response.status_code == 200, path
        seen[path] = response.content.decode()
    seen["dashboard health"] = browser.get("/", HTTP_HX_REQUEST="true").content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Token {named_token}")
    for path in [
        "/api/v1/health/",
        "/api/v1/repositories/",
        "/api/v1/repositories/private/app/tags/",
        "/api/v1/repositories/private/app/tags/1.0/",
        "/api/v1/stats/",
        "/api/v1/diagnostics/",
        "/api/v1/audit/",
        "/api/v1/jobs/",
        "/api/v1/schema/",
    ]:
        seen[path] = api.get(path).content.decode()
    seen["delete"] = api.delete("/api/v1/repositories/private/app/tags/1.1/").content.decode()
    posted = Client().post(
        "/api/v1/events/",
        {"events": []},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.REGISTRY_EVENTS_TOKEN}",
    )
    assert posted.status_code == 200, posted.content
    seen["events"] = posted.content.decode() + api.get("/api/v1/events/").content.decode()
    seen["drf token"] = Client().get("/api/v1/audit/", HTTP_AUTHORIZATION=f"Token {drf_token}").content.decode()
    assert '"tag":"1.1"' in seen["drf token"].replace(" ", "")  # the delete was audited and is listed
    settings.REGISTRY_PASSWORD = "not-the-password"  # a failing registry login, with its error message
    # A repository the inventory does not know: read from the registry, whose login fails.
    seen["wrong registry password"] = api.get("/api/v1/repositories/private/other/tags/").content.decode()
    seen["the catalog page then"] = browser.get("/catalog/r/private/other/").content.decode()
    settings.REGISTRY_PASSWORD = registry_password

    audit_log = "\n".join(str(entry.__dict__) for entry in AuditEntry.objects.all())
    axes_rows = "\n".join(str(row.__dict__) for row in [*AccessAttempt.objects.all(), *AccessFailureLog.objects.all()])
    secrets = {
        "REGISTRY_PASSWORD": registry_password,
        "SECRET_KEY": settings.SECRET_KEY,
        "the named API token": named_token,
        "the drf_create_token token": drf_token,
        "a typed password": wrong_password,
        "the registry's REGISTRY_HTTP_SECRET": registry.env["REGISTRY_HTTP_SECRET"],
        "REGISTRY_EVENTS_TOKEN": settings.REGISTRY_EVENTS_TOKEN,
    }
    assert AuditEntry.objects.filter(action="token-created").exists() and caplog.records
    for label, secret in secrets.items():
        for where, text in seen.items():
            assert secret not in text, f"{label} appears in {where}"
        assert secret not in audit_log, f"{label} appears in the audit log"
        assert secret not in caplog.text, f"{label} appears in the logs"
        if label in ("a typed password", "REGISTRY_PASSWORD"):
            assert secret not in axes_rows, f"{label} appears in django-axes' records"
    assert named_token in made.content.decode()  # shown once, to its owner, when made


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_gunicorn_s_access_log_never_writes_the_user_of_an_authorization_header(tmp_path: Any) -> None:
    """gunicorn's default format wrote ``%(u)s``, the user name of HTTP Basic: a client that put a
    secret there left it in the log. The web service runs with deploy/gunicorn.conf.py, both in
    the image and under ``make run``."""
    root = Path(__file__).resolve().parents[2]
    for script in ("deploy/entrypoint.sh", "scripts/run.sh"):
        assert "deploy/gunicorn.conf.py" in (root / script).read_text(), script
    secret_user = f"token-as-user-{uuid.uuid4().hex}"
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "access-log-test", "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "registry_admin.asgi:application",  # as scripts/run.sh and deploy/entrypoint.sh start it
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--worker-class",
                "asgi",
                "--config",
                "deploy/gunicorn.conf.py",
            ],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            credentials = base64.b64encode(f"{secret_user}:pw".encode()).decode()
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = requests.get(
                        f"http://127.0.0.1:{port}/-/alive",
                        headers={"Authorization": f"Basic {credentials}"},
                        timeout=60,
                    )
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                    time.sleep(0.2)
            assert answer.status_code == 200
            requests.get(f"http://127.0.0.1:{port}/-/alive?again", auth=(secret_user, "pw"), timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    written = log.read_text()
    assert "GET /-/alive HTTP/1.1" in written and "GET /-/alive?again" in written  # the access log is on
    assert secret_user not in written
