"""The storage picture in Chromium at 1400 and 390 px (issue 25): the Storage page and the home
page's summary show the figures of GET /api/v1/storage/, figure by figure, read from a real
registry's storage files."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.template.defaultfilters import filesizeformat
from django.test import Client

from conftest import browser_login
from inventory.tests.files_sync import reconcile_and_measure
from testenv import images
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")


def size(value: int) -> str:
    return str(filesizeformat(value)).replace("\xa0", " ")


def visible(text: str) -> str:
    return text.replace("\xa0", " ")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_the_storage_page_and_the_home_summary_show_the_apis_picture_figure_by_figure(
    page: Any, live_server: Any, viewer: User, private_registry: RegistryService, settings: Any, width: int
) -> None:
    url, repo = private_registry.url, f"picture/{uuid.uuid4().hex[:8]}"
    images.push_oci_image(url, repo, "kept", layers=[os.urandom(200_000)])
    images.push_oci_image(url, repo, "moved", layers=[os.urandom(150_000)])
    images.push_oci_image(url, repo, "moved", layers=[os.urandom(100_000)])  # the first is kept untagged
    gone = images.push_oci_image(url, repo, "gone", layers=[os.urandom(120_000)])
    requests.delete(f"{url}/v2/{repo}/manifests/{gone}", timeout=10).raise_for_status()
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)
    reconcile_and_measure()
    api = Client()
    api.force_login(viewer)
    picture = api.get("/api/v1/storage/").json()["picture"]
    parts = {part["key"]: part["bytes"] for part in picture["parts"]}
    assert picture["adds_up"] and all(parts[key] > 0 for key in ("referenced", "reclaimable", "untagged", "metadata"))

    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)

    page.goto(f"{live_server.url}/maintenance/storage/")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"storage-picture-{width}.png"), full_page=True)
    assert size(picture["on_disk"]) in visible(page.inner_text("[data-testid=stored-bytes] .figure"))
    assert visible(page.inner_text("[data-testid=referenced-bytes] .figure")) == size(parts["referenced"])
    assert visible(page.inner_text("[data-testid=reclaimable] .figure")) == size(parts["reclaimable"])
    for key, value in parts.items():
        row = page.locator(f"[data-testid=picture-parts] tbody tr[data-part={key}]")
        assert row.get_attribute("data-bytes") == str(value)
        assert visible(row.locator("td").nth(1).inner_text()) == size(value)
        assert row.locator("td").nth(2).inner_text() == "files"
    total = page.locator("[data-testid=picture-parts] tfoot tr")
    assert total.get_attribute("data-bytes") == str(picture["on_disk"])
    assert "the sum of the parts above" in page.inner_text("[data-testid=picture-adds-up]")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"{live_server.url}/")
    summary = page.locator("[data-testid=dashboard-storage-parts]")
    summary.wait_for(timeout=20_000)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"home-storage-{width}.png"), full_page=True)
    storage = page.locator("[data-testid=dashboard-storage]")
    assert visible(storage.locator(".figure").inner_text()) == size(picture["on_disk"])
    shown = {item.get_attribute("data-part"): item for item in summary.locator("li").all()}
    assert set(shown) == {key for key, value in parts.items() if value}
    for key, item in shown.items():
        assert item.get_attribute("data-bytes") == str(parts[key])
        assert visible(item.inner_text()).startswith(size(parts[key]))
    assert "can free at most the rest" not in storage.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
