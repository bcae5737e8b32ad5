"""The scrub finds a blob with one byte changed and a blob removed, with the tags they break."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from registry_files.layout import StorageFiles
from registry_files.scrub import scrub
from testenv import images
from testenv.services import start_registry


def test_a_damaged_and_a_missing_blob_are_reported_with_the_tags_they_break(services: Any, tmp_path: Path) -> None:
    registry = start_registry(services.engine, name=f"scrub-{uuid.uuid4().hex[:6]}", data_dir=tmp_path / "data")
    try:
        url = registry.url
        images.push_oci_image(url, "app", "v1", layer_count=2)
        images.push_oci_image(url, "other", "v1")
        files = StorageFiles(tmp_path / "data")
        clean = scrub(files, max_mbps=0)
        assert clean.findings == [] and clean.read_blobs == len(clean.verified) > 0

        body = images.get_manifest(url, "app", "v1")[0]
        import json

        first, second = (layer["digest"] for layer in json.loads(body)["layers"])
        damaged = files.blob_path(first)
        content = bytearray(damaged.read_bytes())
        content[len(content) // 2] ^= 0xFF
        damaged.write_bytes(bytes(content))
        shutil.rmtree(files.blob_path(second).parent)

        again = scrub(files, verified=clean.verified, max_mbps=0)

        found = {finding.digest: finding.as_dict() for finding in again.findings}
        assert set(found) == {first, second}
        assert found[first]["problem"] == "damaged" and found[first]["tags"] == ["app:v1"]
        assert found[second]["problem"] == "missing" and found[second]["tags"] == ["app:v1"]
        assert "Push app:v1 again" in str(found[first]["advice"])
        # Incremental: only the changed blob was read again.
        assert again.read_blobs == 1 and again.skipped_blobs == len(clean.verified) - 2
    finally:
        registry.remove()


def test_the_scrub_keeps_to_its_rate(registry: Any) -> None:
    files = StorageFiles(registry.data_dir)
    images.push_oci_image(registry.url, f"scrub-rate-{uuid.uuid4().hex[:6]}", "t", layer_count=1)
    slept: list[float] = []
    outcome = scrub(files, max_mbps=0.001, sleep=slept.append)  # 1 KiB/s
    assert outcome.read_bytes > 0
    assert sum(slept) >= outcome.read_bytes / 1048.576 - outcome.seconds - 1
