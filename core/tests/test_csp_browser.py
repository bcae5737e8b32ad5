"""The Content-Security-Policy allows scripts only from our files, and every page still works."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import PASSWORD, browser_login
from testenv import images

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A <script> with code in it (not a src= file, not a JSON data block), or an on...= handler.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


def test_no_template_has_an_inline_script_or_an_event_handler_attribute() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), f"{template}: inline <script>; move it to static/js/"
        assert not EVENT_HANDLER.search(text), f"{template}: on...= attribute; use a data- attribute and app.js"


@pytest.mark.django_db
def test_every_page_carries_the_policy(viewer_client: Client) -> None:
    policy = viewer_client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "object-src 'none'" in policy


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_work_without_a_csp_violation(
    page: Any, live_server: Any, registry: Any, celery_worker: object
) -> None:
    user = User.objects.create_superuser("root", "root@localhost", PASSWORD)
    name = f"csp-{uuid.uuid4().hex[:8]}/app"
    images.push_oci_image(registry.url, name, "1.0")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(COLLECT_VIOLATIONS)
    browser_login(page, live_server, user)  # type: ignore[arg-type]

    visited = []

    def check(where: str) -> None:
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__cspViolations")
        refused = [text for text in console if "Content Security Policy" in text]
        assert not violations and not refused, f"{where}: {violations or refused}"
        visited.append(where)

    for path in ["/", "/maintenance/", "/registry/", "/diagnostics/", "/audit/", "/tokens/", "/admin/"]:
        page.goto(f"{live_server.url}{path}")
        check(path)
    # htmx still swaps (the dashboard's health cards, the catalog search), under the policy.
    # The catalog lists what the inventory holds: a first visit to the repository's page reads it in
    # (this registry sends its events elsewhere), as a sync would.
    page.goto(f"{live_server.url}/catalog/r/{name}/")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("article[data-check=registry]")
    page.click("nav >> text=Catalog")
    page.fill("[data-testid=catalog-search]", name)
    page.wait_for_selector(f"#repositories a:text-is('{name}')")
    page.click(f"#repositories a:text-is('{name}')")
    page.click("[data-testid=tags] a:text-is('1.0')")
    check("image page")
    # A token made on the Tokens page; its Revoke asks through app.js (data-confirm), not onsubmit.
    page.goto(f"{live_server.url}/tokens/")
    page.fill("input[name=name]", "grafana")
    page.click("button:text-is('Make token')")
    assert page.inner_text("#new-token").startswith("ra_")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:text-is('Revoke')")
    assert "grafana" in page.inner_text("table")  # dismissed: still there
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:text-is('Revoke')")
    page.wait_for_selector("text=revoked")
    check("tokens")
    # Swagger UI, from our own static files, renders the operations.
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector("text=/api/v1/repositories/")
    check("api docs")
    assert len(visited) == 10
