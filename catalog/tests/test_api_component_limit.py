"""A repository name component no registry can hold: 404 without a request (schemathesis found
Distribution 2.8.2 answering 500 for names with a component over 237 characters)."""

from __future__ import annotations

import pytest
from django.test import Client

from registry_client.client import RegistryClient


@pytest.mark.django_db
def test_a_name_component_no_registry_can_hold_is_a_404_without_asking(
    viewer_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_request(*args: object, **kwargs: object) -> None:
        raise AssertionError("Distribution 2.8 answers 500 for these: no request may be sent")

    monkeypatch.setattr(RegistryClient, "_send", no_request)
    response = viewer_client.get(f"/api/v1/repositories/{'0' * 238}/tags/")
    assert response.status_code == 404 and "does not exist" in response.json()["detail"]
