"""The registry unreachable or failing: reading a repository the inventory does not know answers
503/502 naming the URL, the pages a banner."""

from __future__ import annotations

from typing import Any

from django.test import Client

from registry_client.client import RegistryClient

DOWN = "http://127.0.0.1:9"  # discard port: nothing listens


def test_the_api_says_which_url_cannot_be_reached(viewer_client: Client, settings: Any) -> None:
    settings.REGISTRY_URL = DOWN
    assert viewer_client.get("/api/v1/repositories/").status_code == 200  # the inventory's list
    for url in ("/api/v1/repositories/team/app/tags/", "/api/v1/repositories/a/tags/1/"):
        answer = viewer_client.get(url)
        assert answer.status_code == 503, url
        assert answer.json()["detail"].startswith(f"Cannot connect to the registry at {DOWN} (Connection refused)")


def test_the_pages_show_a_banner_with_a_non_500_status(viewer_client: Client, settings: Any) -> None:
    settings.REGISTRY_URL = DOWN
    assert viewer_client.get("/catalog/").status_code == 200  # the inventory's list
    for url in ("/catalog/r/team/app/", "/catalog/r/team/app/-/t/1.0/"):
        page = viewer_client.get(url)
        html = page.content.decode()
        assert page.status_code == 503, url
        assert 'data-testid="registry-banner"' in html and DOWN in html and "REGISTRY_URL" in html


def test_a_failing_registry_answers_502(viewer_client: Client, services: Any, monkeypatch: Any) -> None:
    # A real registry cannot be made to answer 500 on demand: fake it at our client's boundary.
    def failing(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        response = __import__("requests").Response()
        response.status_code, response._content = 500, b"storage driver error"
        return self._check(method, path, response)

    monkeypatch.setattr(RegistryClient, "request", failing)
    answer = viewer_client.get("/api/v1/repositories/team/app/tags/")
    assert answer.status_code == 502 and "failed with 500" in answer.json()["detail"]


def test_the_search_fragment_answers_with_the_banner_alone(viewer_client: Client, settings: Any) -> None:
    settings.REGISTRY_URL = DOWN
    fragment = viewer_client.get("/catalog/r/team/app/", {"q": "x"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 503  # static/js/app.js swaps it into targets marked data-swap-errors
    assert html.lstrip().startswith('<p class="banner banner-error"') and DOWN in html
