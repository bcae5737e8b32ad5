"""Registry log lines on pages mask credentials as the Environment panel does (issue 17)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from core import masking
from testenv.services import Services, start_registry

TOKEN = f"tok{uuid.uuid4().hex}"


@pytest.mark.django_db(transaction=True)
def test_a_token_in_the_registrys_configuration_appears_on_no_page(
    admin_client_role: Client, services: Services, settings: object, celery_worker: object
) -> None:
    endpoints = [
        {
            "name": "dash",
            "url": f"http://127.0.0.1:9/api/v1/events/?access_token={TOKEN}",
            "headers": {"Authorization": [f"Bearer {TOKEN}"]},
            "timeout": "1s",
            "threshold": 5,
            "backoff": "1s",
        }
    ]
    name = f"secretreg-{uuid.uuid4().hex[:6]}"
    registry = start_registry(
        services.engine, name=name, env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps(endpoints)}
    )
    settings.REGISTRY_CONTAINER = name  # type: ignore[attr-defined]
    settings.REGISTRY_URL = registry.url  # type: ignore[attr-defined]
    try:
        raw = registry.container.logs().decode()
        assert f"Bearer {TOKEN}" in raw  # the registry itself prints it: the test would catch a leak

        pages = {}
        for path, headers in [
            ("/registry/", {"HX-Request": "true"}),
            ("/registry/?fresh=1", {"HX-Request": "true"}),
            ("/registry/", {}),
            ("/registry/diagnostics/", {}),
            ("/", {}),
            ("/maintenance/", {}),
            ("/api/v1/stats/", {}),
        ]:
            response = admin_client_role.get(path, headers=headers)
            assert response.status_code == 200, path
            pages[path + str(bool(headers))] = response.content.decode()
        for path, html in pages.items():
            assert TOKEN not in html, (path, [line for line in html.splitlines() if TOKEN in line])
        panel = pages["/registry/?fresh=1True"]
        assert "configuring endpoint dash" in panel  # the line is shown, masked
        assert f"Authorization:[{masking.MASK}]" in panel
    finally:
        registry.remove()
