"""Upload leftovers are purged after the age the registry's configuration gives
(``storage.maintenance.uploadpurging``), read from its container, not an assumed 168 h (issue 24)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import requests

from inventory.models import StorageFilesReport
from inventory.tests.files_sync import reconcile_and_measure
from maintenance import engine, registry_container, snapshot
from registry_files.gc import UploadPurging, space
from registry_files.layout import StorageFiles
from testenv import images
from testenv.services import Services, start_registry

pytestmark = [pytest.mark.django_db]


def _leftover(url: str, repo: str) -> str:
    started = requests.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=10)
    location = requests.compat.urljoin(url + "/", started.headers["Location"])
    requests.patch(location, data=b"z" * 321, headers={"Content-Type": "application/octet-stream"}, timeout=10)
    return str(started.headers["Docker-Upload-UUID"])


def test_the_purge_age_is_read_from_the_registry_containers_configuration(services: Services, settings: Any) -> None:
    purging = '{"enabled": true, "age": "2h30m", "interval": "24h", "dryrun": false}'
    registry = start_registry(
        services.engine,
        name=f"purge-{uuid.uuid4().hex[:6]}",
        env={"REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING": purging},
    )
    try:
        settings.REGISTRY_URL = registry.url
        settings.REGISTRY_CONTAINER = registry.container_name
        settings.REGISTRY_DATA_DIR = str(registry.data_dir)
        images.push_oci_image(registry.url, "app", "v1")
        uuid_ = _leftover(registry.url, "app")
        client = engine.connect()
        try:
            snapshot.store_snapshot(registry_container.inspect_registry(client, 10))
        finally:
            client.close()

        reconcile_and_measure()

        figures = StorageFilesReport.objects.get(pk=1).figures
        assert figures["upload_purging"] == {"enabled": True, "age_hours": 2.5, "read_from": "configuration"}
        (upload,) = [u for u in figures["uploads"] if u["uuid"] == uuid_]
        started = dt.datetime.fromisoformat(upload["started"])
        assert dt.datetime.fromisoformat(upload["purged_after"]) - started == dt.timedelta(hours=2, minutes=30)
    finally:
        registry.remove()


def test_the_default_age_is_used_and_said_while_the_configuration_was_not_read(registry: Any, settings: Any) -> None:
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)
    repo = f"purge-{uuid.uuid4().hex[:6]}"
    images.push_oci_image(registry.url, repo, "v1")
    uuid_ = _leftover(registry.url, repo)

    figures = space(StorageFiles(registry.data_dir), dt.datetime.now(dt.UTC))
    off = space(StorageFiles(registry.data_dir), dt.datetime.now(dt.UTC), purging=UploadPurging(enabled=False))

    assert figures["upload_purging"] == {"enabled": True, "age_hours": 168, "read_from": "default"}
    (upload,) = [u for u in figures["uploads"] if u["uuid"] == uuid_]
    assert dt.datetime.fromisoformat(upload["purged_after"]) - dt.datetime.fromisoformat(upload["started"]) == (
        dt.timedelta(hours=168)
    )
    assert {u["purged_after"] for u in off["uploads"]} == {None}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, {"enabled": True, "age_hours": 168.0}),
        ({"storage": {"maintenance": {"uploadpurging": {"age": "90m"}}}}, {"enabled": True, "age_hours": 1.5}),
        (
            {"storage": {"maintenance": {"uploadpurging": {"enabled": False, "age": "1h"}}}},
            {"enabled": False, "age_hours": 1.0},
        ),
        ({"storage": {"maintenance": {"readonly": {"enabled": True}}}}, {"enabled": False, "age_hours": 168.0}),
        ({"storage": {"maintenance": {"uploadpurging": {"age": "soon"}}}}, {"enabled": True, "age_hours": 168.0}),
    ],
)
def test_the_configuration_is_read_as_the_registry_reads_it(config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert registry_container.upload_purging(config) == expected
