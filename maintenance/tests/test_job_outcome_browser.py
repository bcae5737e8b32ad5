"""In Chromium: a job that found problems reads as such (amber, "Problems found", never green), names
who asked for it, and charts with nothing to draw say "No data yet" (issue 25)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import browser_login
from core import tokens
from inventory.sync import reconcile
from jobs.models import Job
from maintenance import stats_collector, verify
from maintenance.tests.gc_helpers import blob_path, manifest_blobs, unique
from testenv.images import push_docker_image
from testenv.services import RegistryService, Services

AMBER = "rgb(201, 138, 0)"  # static/css/app.css: .flash-warning


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_verification_that_found_a_missing_blob_reads_as_problems_found_asked_by_a_token(
    page: Any, live_server: Any, operator: User, services: Services, private_registry: RegistryService
) -> None:
    broken = unique("outcome")
    push_docker_image(services.engine, private_registry.url, broken, "v1", keep_local=False)
    reconcile()
    *_, layer = manifest_blobs(private_registry, broken, "v1")
    blob_path(private_registry, layer).unlink()
    private_registry.restart()  # without the blob-descriptor cache that still knows the blob
    _token, raw = tokens.create(operator, "nightly", "operator")
    answer = Client().post("/api/v1/registry/verify/", headers={"Authorization": f"Token {raw}"})
    assert answer.status_code == 202, answer.content
    verify.run(answer.json()["id"])  # the worker's side, in this process
    job = Job.objects.get(pk=answer.json()["id"])
    assert job.status == Job.Status.WARNING, job.error + job.output

    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}{job.get_absolute_url()}")

    outcome = page.locator("[data-testid=job-outcome]")
    assert "flash-warning" in (outcome.get_attribute("class") or "")
    assert "flash-success" not in (outcome.get_attribute("class") or "")
    assert outcome.evaluate("el => getComputedStyle(el).borderLeftColor") == AMBER
    assert page.inner_text("[data-testid=job-problems]") == "Problems found"
    assert "1 missing" in outcome.inner_text()
    assert page.inner_text("[data-testid=job-status]") == "problems found"
    assert page.inner_text("[data-testid=job-asked-by]") == "otto's API token nightly"
    assert layer in page.inner_text("[data-testid=verify-missing]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_charts_without_data_say_so_instead_of_drawing_empty_axes(
    page: Any, live_server: Any, operator: User, settings: Any
) -> None:
    # Neither the registry nor its container answers: the sample holds no figure at all.
    settings.REGISTRY_URL = "http://127.0.0.1:1"
    settings.REGISTRY_CONTAINER = f"no-such-{unique('registry')}"
    sample = stats_collector.collect()
    assert sample.repository_count is None and sample.memory_bytes is None and sample.errors

    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/registry/")

    notes = page.locator("[data-testid=chart-no-data]")
    notes.first.wait_for()
    assert notes.count() == 5
    assert all(text.startswith("No data yet") for text in notes.all_inner_texts())
    assert page.locator("canvas[data-chart]").count() == 0
