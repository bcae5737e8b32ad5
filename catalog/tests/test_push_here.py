"""The "Push here" page: the registry's address, client setup and commands, nothing secret."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.tests.conftest import read_into_inventory
from conftest import browser_login, logged_in, make_user
from testenv import auth, images


def _text(page: Any) -> str:
    return html.unescape(page.content.decode())


def test_every_role_sees_it_linked_in_the_navigation(db: None) -> None:
    for role in ("viewer", "operator", "admin"):
        client = logged_in(make_user(f"user-{role}", role))
        page = client.get("/catalog/push-here/")
        assert page.status_code == 200
        assert 'href="/catalog/push-here/"' in client.get("/").content.decode()


def test_it_needs_a_login(client: Client, db: None) -> None:
    assert client.get("/catalog/push-here/").status_code == 302


def test_it_fills_in_the_commands_for_the_chosen_repository(
    viewer_client: Client, registry: Any, settings: Any, repo_prefix: str
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "nas.lan:5000"
    name = f"{repo_prefix}/team/app"
    images.push_oci_image(registry.url, name, "1.0")
    read_into_inventory(name)

    page = viewer_client.get("/catalog/push-here/", {"repository": name, "tag": "2.1.0"})
    text = _text(page)

    assert page.status_code == 200
    assert f"docker tag {name}:2.1.0 nas.lan:5000/{name}:2.1.0" in text
    assert f"docker push nas.lan:5000/{name}:2.1.0" in text
    assert f"docker pull nas.lan:5000/{name}:2.1.0" in text
    assert f"helm push app-2.1.0.tgz oci://nas.lan:5000/{repo_prefix}/team --plain-http" in text
    assert f"helm pull oci://nas.lan:5000/{name} --version 2.1.0 --plain-http" in text
    # The known repositories are offered to pick from; every command has its copy button.
    assert f'<option value="{name}">' in page.content.decode()
    assert text.count("data-copy=") >= 6
    # The test registry is open: no docker login line.
    assert "docker login" not in text


def test_a_plain_http_registry_gets_the_insecure_registries_snippet(
    viewer_client: Client, registry: Any, settings: Any
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "192.168.1.20:5000"
    text = _text(viewer_client.get("/catalog/push-here/"))
    assert '"insecure-registries": [\n    "192.168.1.20:5000"\n  ]' in text
    assert "/etc/docker/daemon.json" in text and "Docker Desktop" in text

    settings.REGISTRY_URL = "https://registry.example:5443"
    settings.REGISTRY_PUBLIC_HOST = "registry.example:5443"
    text = _text(viewer_client.get("/catalog/push-here/"))
    assert 'data-testid="insecure-registries"' not in text
    assert 'data-copy="helm pull oci://registry.example:5443/myapp --version 0.1.0"' in text
    assert "docker push registry.example:5443/myapp:latest" in text


@pytest.mark.parametrize(
    ("params", "named"),
    [({"repository": "Bad Name"}, "'Bad Name' is not a repository name"), ({"tag": "-x"}, "'-x' is not a tag")],
)
def test_a_bad_name_or_tag_is_a_400_that_says_why(
    viewer_client: Client, registry: Any, params: dict[str, str], named: str
) -> None:
    page = viewer_client.get("/catalog/push-here/", params)
    assert page.status_code == 400
    assert named in _text(page)
    assert "docker push" in _text(page)  # the example commands stay


def test_a_registry_behind_auth_gets_docker_login_and_shows_no_secret(
    viewer_client: Client, services: Any, settings: Any
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    registry = auth.start_htpasswd_registry(services.engine, f"push-auth-{uuid.uuid4().hex[:6]}", {"ci-bot": password})
    try:
        settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "ci-bot", password
        settings.REGISTRY_PUBLIC_HOST = f"ci-bot:{password}@{registry.host_port}"  # a careless value
        page = viewer_client.get("/catalog/push-here/")
    finally:
        registry.remove()
    text = _text(page)
    assert page.status_code == 200
    assert f"docker login {registry.host_port}" in text
    assert f"helm registry login {registry.host_port}" in text
    assert password not in text
    assert "ci-bot" not in text  # not even the dashboard's own account name


def test_an_unreachable_registry_still_gets_its_commands(viewer_client: Client, settings: Any, db: None) -> None:
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    settings.REGISTRY_PUBLIC_HOST = "nas.lan:5000"
    page = viewer_client.get("/catalog/push-here/", {"repository": "app"})
    assert page.status_code == 200
    assert "docker push nas.lan:5000/app:latest" in _text(page)
    assert "is unknown" in _text(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_person_picks_a_repository_and_copies_the_push_line(
    page: Any, live_server: Any, viewer: User, registry: Any, repo_prefix: str, settings: Any, width: int
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "nas.lan:5000"
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    browser_login(page, live_server, viewer)

    if width < 900:  # phones: every item is behind the Menu button
        page.click("[data-testid=nav-menu] summary")
    page.locator("nav a", has_text="Push here").locator("visible=true").first.click()
    page.fill("input[name=repository]", f"{repo_prefix}/web")
    page.fill("input[name=tag]", "v2")
    page.click("text=Fill in the commands")
    page.wait_for_url(re.compile(r"repository="))
    row = page.locator("[data-testid=docker-commands] li", has_text="Push it")
    row.locator("button").click()

    assert page.evaluate("navigator.clipboard.readText()") == f"docker push nas.lan:5000/{repo_prefix}/web:v2"
    assert row.locator("button").inner_text() == "Copied"
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert wide == [], "; ".join(wide)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
