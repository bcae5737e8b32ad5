"""Issue 25's first run: with no registry reachable the home page is a setup page, admins test an
address before they set it, actions that need the registry say why they cannot run, the Catalog
explains itself. On both registries where a registry answers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from core import connection, reachability
from testenv import _sys, images

HTMX = {"HX-Request": "true"}


def closed_port_url() -> str:
    """An address where nothing listens: a free port nobody opened."""
    return f"http://127.0.0.1:{_sys.free_port()}"


@contextmanager
def http_server(status: int, headers: dict[str, str], body: bytes = b"") -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP server answering every GET with ``status``; yields its URL and the paths asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def home(client: Client) -> str:
    """The home page as a browser assembles it: the shell, its health panel and its summary."""
    shell = client.get("/").content.decode()
    health = client.get("/", headers=HTMX).content.decode()
    summary = client.get("/maintenance/summary/", headers=HTMX).content.decode()
    return shell + health + summary


# --- The setup page -------------------------------------------------------------------------


def test_it_turns_the_home_page_into_a_setup_page_when_the_registry_does_not_answer(
    admin_client_role: Client, settings: Any, services: Any
) -> None:
    down = closed_port_url()
    settings.REGISTRY_URL = down.replace("http://", "http://robot:s3cret-pass@")
    page = home(admin_client_role)
    assert 'id="setup"' in page
    assert "environment variable of the <strong>dashboard's container</strong>" in page
    assert "Container Station" in page and "Settings</em> &gt; <em>Environment" in page and ".env" in page
    assert "Restart the dashboard's container" in page
    assert "inside a container <code>localhost</code> is the dashboard itself" in page
    assert f"http://••••••@127.0.0.1:{down.rsplit(':', 1)[1]}" in page  # the current value, masked
    assert "s3cret-pass" not in page
    assert 'data-testid="setup-test-connection"' in page  # admins get the test
    # Said once: the other sections point to the setup section instead of repeating it.
    assert page.count("REGISTRY_URL is right") == 1
    assert page.count('href="#setup"') >= 2


def test_it_shows_no_setup_section_while_the_registry_answers(viewer_client: Client, versioned_registry: Any) -> None:
    page = home(viewer_client)
    assert 'id="setup"' not in page and "REGISTRY_URL is right" not in page


def test_a_viewer_reads_the_setup_section_without_the_test(viewer_client: Client, settings: Any, services: Any) -> None:
    settings.REGISTRY_URL = closed_port_url()
    health = viewer_client.get("/", headers=HTMX).content.decode()
    assert 'id="setup"' in health and 'data-testid="setup-test-connection"' not in health
    assert viewer_client.post("/setup/test-connection/", {"url": "http://127.0.0.1:9"}).status_code == 403


# --- Test connection ------------------------------------------------------------------------


def test_it_says_a_distribution_registry_answered(admin_client_role: Client, each_registry: Any) -> None:
    answer = admin_client_role.post("/setup/test-connection/", {"url": each_registry.url + "/"}, headers=HTMX)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'data-outcome="registry"' in html and "A Distribution registry answered" in html
    assert "registry/2.0" in html  # the version header it sent
    assert admin_client_role.get("/api/v1/jobs/").json()["count"] == 0  # tried, nothing saved nor queued


def test_the_api_tries_the_address_once_and_answers_in_words(admin_client_role: Client, each_registry: Any) -> None:
    answer = admin_client_role.post(
        "/api/v1/registry/test-connection/", {"url": each_registry.url}, content_type="application/json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["registry"] is True and body["outcome"] == "registry" and body["status"] == 200
    assert body["url"] == each_registry.url and "works as REGISTRY_URL" in body["message"]


def test_a_closed_port_is_connection_refused(admin_client_role: Client, db: None) -> None:
    url = closed_port_url()
    body = admin_client_role.post(
        "/api/v1/registry/test-connection/", {"url": url}, content_type="application/json"
    ).json()
    assert body["outcome"] == "refused" and body["registry"] is False and body["status"] is None
    assert "Connection refused" in body["message"]


def test_localhost_refused_names_the_localhost_trap(admin_client_role: Client, db: None) -> None:
    url = closed_port_url().replace("127.0.0.1", "localhost")
    body = admin_client_role.post(
        "/api/v1/registry/test-connection/", {"url": url}, content_type="application/json"
    ).json()
    assert body["outcome"] == "refused" and "localhost is the dashboard itself" in body["message"]


def test_an_unknown_name_is_a_dns_failure(admin_client_role: Client, db: None) -> None:
    body = admin_client_role.post(
        "/api/v1/registry/test-connection/",
        {"url": "http://no-such-host.invalid:5000"},
        content_type="application/json",
    ).json()
    assert body["outcome"] == "dns" and "DNS failure" in body["message"]


def test_a_web_server_that_is_not_a_registry_is_said_so(admin_client_role: Client, db: None) -> None:
    with http_server(200, {"Content-Type": "text/html"}, b"<html>QTS login</html>") as (url, asked):
        body = admin_client_role.post(
            "/api/v1/registry/test-connection/", {"url": url}, content_type="application/json"
        ).json()
    assert asked == ["/v2/"]
    assert body["outcome"] == "not-registry" and body["registry"] is False and body["status"] == 200
    assert "not as a Distribution registry" in body["message"]


def test_a_redirect_is_reported_and_not_followed(admin_client_role: Client, db: None) -> None:
    with (
        http_server(200, {}, b"{}") as (target, target_asked),
        http_server(302, {"Location": f"{target}/v2/?token=abc123"}) as (url, asked),
    ):
        html = admin_client_role.post("/setup/test-connection/", {"url": url}, headers=HTMX).content.decode()
    assert asked == ["/v2/"] and target_asked == []  # never followed
    assert 'data-outcome="redirect"' in html and "redirects (302)" in html and "not followed" in html
    assert "abc123" not in html  # the Location's token masked


def test_a_registry_that_hangs_is_a_timeout(
    admin_client_role: Client, silent_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "TIMEOUT", 1.0)
    body = admin_client_role.post(
        "/api/v1/registry/test-connection/", {"url": silent_registry}, content_type="application/json"
    ).json()
    assert body["outcome"] == "timeout" and "within 1 s" in body["message"]


def test_https_to_a_plain_http_port_is_a_tls_error(admin_client_role: Client, registry: Any) -> None:
    body = admin_client_role.post(
        "/api/v1/registry/test-connection/",
        {"url": registry.url.replace("http://", "https://")},
        content_type="application/json",
    ).json()
    assert body["outcome"] == "tls" and "TLS failed" in body["message"]


@pytest.mark.parametrize(
    "url",
    ["ftp://192.168.1.10:5000", "file:///etc/passwd", "192.168.1.10:5000", "", "http://", "http://h:99999"],
)
def test_bad_input_is_a_400_naming_the_field(admin_client_role: Client, url: str) -> None:
    api = admin_client_role.post("/api/v1/registry/test-connection/", {"url": url}, content_type="application/json")
    assert api.status_code == 400 and list(api.json()) == ["url"]
    page = admin_client_role.post("/setup/test-connection/", {"url": url}, headers=HTMX)
    assert page.status_code == 400 and "Registry address (url):" in page.content.decode()


def test_the_api_refuses_viewers_operators_and_unknown_fields(
    viewer_client: Client, operator_client: Client, admin_client_role: Client
) -> None:
    for client in (viewer_client, operator_client):
        answer = client.post("/api/v1/registry/test-connection/", {"url": "http://x"}, content_type="application/json")
        assert answer.status_code == 403
    extra = admin_client_role.post(
        "/api/v1/registry/test-connection/", {"url": "http://x", "save": True}, content_type="application/json"
    )
    assert extra.status_code == 400


def test_the_registry_page_offers_the_test_to_admins_only(
    admin_client_role: Client, viewer_client: Client, versioned_registry: Any
) -> None:
    assert 'data-testid="registry-test-connection"' in admin_client_role.get("/registry/").content.decode()
    assert 'data-testid="registry-test-connection"' not in viewer_client.get("/registry/").content.decode()


# --- Actions disabled with the reason ----------------------------------------------------------


def seen_down(client: Client, settings: Any) -> str:
    """Point at a closed port and let the home page's health panel find out (the last known state)."""
    url = closed_port_url()
    settings.REGISTRY_URL = url
    client.get("/", headers=HTMX)
    return url


def test_actions_that_need_the_registry_are_disabled_with_the_reason(
    operator_client: Client, settings: Any, services: Any
) -> None:
    url = seen_down(operator_client, settings)
    assert reachability.problem(reachability.REGISTRY) is not None
    registry_page = operator_client.get("/registry/").content.decode()
    for testid, reason in (
        ("update-registry", "why-update"),
        ("verify-registry", "why-verify"),
        ("collect-now", "why-stats"),
    ):
        assert f'data-testid="{testid}" disabled aria-describedby="{reason}"' in registry_page, testid
        assert f'id="{reason}"' in registry_page
    assert f"The registry cannot be reached: Cannot connect to the registry at {url}" in registry_page
    catalog = operator_client.get("/catalog/").content.decode()
    assert 'data-testid="sync-now" disabled aria-describedby="why-sync"' in catalog


def test_their_endpoints_answer_503_and_start_nothing(operator_client: Client, settings: Any, services: Any) -> None:
    seen_down(operator_client, settings)
    for path in ("/api/v1/registry/verify/", "/api/v1/registry/update/", "/api/v1/stats/collect/"):
        answer = operator_client.post(path, {}, content_type="application/json")
        assert answer.status_code == 503, path
        assert answer.json()["detail"].startswith("Nothing was started. The registry cannot be reached:"), path
    page = operator_client.post("/registry/jobs/verify/", follow=True)
    assert "Nothing was started. The registry cannot be reached" in page.content.decode()
    assert operator_client.get("/api/v1/jobs/").json()["count"] == 0


def test_actions_come_back_once_the_registry_answers(
    operator_client: Client, settings: Any, versioned_registry: Any
) -> None:
    seen_down(operator_client, settings)
    settings.REGISTRY_URL = versioned_registry.url  # the state is kept per address
    assert reachability.problem(reachability.REGISTRY) is None
    assert 'data-testid="verify-registry">' in operator_client.get("/registry/").content.decode()


def test_deletes_are_disabled_with_the_reason_while_the_registry_cannot_be_reached(
    operator_client: Client, settings: Any, versioned_registry: Any
) -> None:
    repo = f"first-run/deletes-{versioned_registry.major}"
    images.push_oci_image(versioned_registry.url, repo, "v1")
    tags_page = f"/catalog/r/{repo}/"
    assert 'data-testid="delete-tag" aria-label' in operator_client.get(tags_page).content.decode()  # read, enabled
    seen_down(operator_client, settings)
    html = operator_client.get(tags_page).content.decode()  # from the inventory
    assert 'aria-label="Delete v1…" disabled aria-describedby="why-delete"' in html
    assert 'id="why-delete"' in html and "The registry cannot be reached" in html
    assert 'data-testid="bulk-delete"' not in html
    image = operator_client.get(f"{tags_page}-/t/v1/").content.decode()
    assert 'data-testid="delete-manifest" disabled aria-describedby="why-delete"' in image


@pytest.mark.django_db(transaction=True)
def test_a_gc_is_disabled_and_refused_while_the_engine_check_fails(
    operator_client: Client, celery_worker: object, settings: Any
) -> None:
    settings.REGISTRY_CONTAINER = "no-such-registry"
    assert operator_client.get("/api/v1/health/").json()["docker"]["ok"] is False  # a worker recorded it
    page = operator_client.get("/maintenance/").content.decode()
    assert 'data-testid="gc-run" disabled aria-describedby="why-gc"' in page
    assert "The Docker engine&#x27;s check fails: No container named &#x27;no-such-registry&#x27;" in page
    answer = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert answer.status_code == 503 and "Nothing was started" in answer.json()["detail"]
    assert operator_client.get("/api/v1/jobs/").json()["count"] == 0


# --- The Catalog ---------------------------------------------------------------------------


def test_the_empty_catalog_explains_an_unreachable_registry_with_a_page(
    viewer_client: Client, settings: Any, services: Any
) -> None:
    seen_down(viewer_client, settings)
    page = viewer_client.get("/catalog/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="catalog-unreachable"' in html and 'href="/#setup"' in html
    assert viewer_client.get("/api/v1/repositories/team/app/tags/").status_code == 503  # the API keeps its errors
