"""/-/alive: the container health check's page, the one page that needs no login."""

from collections.abc import Callable, Iterator
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

OUR_APPS = ("core", "catalog", "maintenance", "registry_admin")


def _views(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_it_answers_ok_without_a_login_and_nothing_else() -> None:
    response = Client().get("/-/alive")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]


def test_it_only_answers_get() -> None:
    assert Client().post("/-/alive").status_code == 405


def test_it_is_the_only_page_of_ours_without_a_login() -> None:
    """API views answer 401 themselves (DRF marks them so); every other page of ours redirects."""
    open_pages = [
        path
        for path, view in _views(get_resolver().url_patterns)
        if getattr(view, "login_required", True) is False
        and view.__module__.split(".")[0] in OUR_APPS
        and not hasattr(view, "cls")  # DRF's APIView.as_view: authenticated by DRF's permissions
    ]
    assert open_pages == ["-/alive"]
