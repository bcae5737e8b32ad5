"""Under /api/ every error is JSON ``{"detail": ...}``: unknown URLs, wrong methods, CSRF, crashes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core import health


def assert_json_error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.content[:300]
    assert answer["Content-Type"].startswith("application/json"), answer["Content-Type"]
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def test_an_unknown_api_url_is_a_json_404(viewer_client: Client) -> None:
    for url in ("/api/v1/nothing-here/", "/api/v2/", "/api/", "/api/v1/jobs/999999/"):
        assert_json_error(viewer_client.get(url), 404)


@pytest.mark.django_db
def test_an_unknown_api_url_is_json_without_a_login_too() -> None:
    answer = Client().get("/api/v1/nothing-here/")
    assert answer.status_code in (401, 403, 404)
    assert answer["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_no_credentials_is_json() -> None:
    assert_json_error(Client().get("/api/v1/repositories/"), 401)


def test_a_wrong_method_is_a_json_405(operator_client: Client) -> None:
    assert "DELETE" in assert_json_error(operator_client.delete("/api/v1/health/"), 405)
    assert_json_error(operator_client.get("/api/v1/gc/"), 405)


def test_a_missing_csrf_token_is_a_json_403(operator: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    detail = assert_json_error(client.post("/api/v1/stats/collect/"), 403)
    assert "CSRF" in detail


def test_a_crash_in_an_api_view_is_a_json_500(viewer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(health, "report", crash)
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    detail = assert_json_error(client.get("/api/v1/health/"), 500)
    assert "a bug" not in detail  # no internals in answers; the log has the traceback


def test_a_crash_in_a_page_is_still_the_html_500_page(viewer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(health, "report", crash)
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    page = client.get("/", headers={"HX-Request": "true"})
    assert page.status_code == 500 and b"Something went wrong" in page.content and b"a bug" not in page.content


def test_an_unknown_page_is_still_html(viewer_client: Client) -> None:
    page = viewer_client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
