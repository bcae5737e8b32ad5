"""registry:3's tag delete at the boundary of our client (no v3 binary exists here).

registry:3 answers ``DELETE /v2/<name>/manifests/<tag>`` with 202 and removes only that tag
(distribution PR #3427), or 404 MANIFEST_UNKNOWN for an unknown tag. The fake really removes
the tag from the 2.8 registry's storage (``_manifests/tags/<tag>``), so what remains is what
a v3 registry keeps. Digest deletes go to the real registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.registry import DeleteAnswer, RegistryClient, RegistryNotFound
from testenv.services import RegistryService


@pytest.fixture
def registry_v3_tag_delete(monkeypatch: pytest.MonkeyPatch, registry: RegistryService) -> list[str]:
    """Returns the references our code sent to DELETE, in order."""
    original = RegistryClient.delete_manifest
    sent: list[str] = []

    def delete_manifest(self: RegistryClient, name: str, reference: str) -> DeleteAnswer:
        sent.append(reference)
        if reference.startswith("sha256:"):
            return original(self, name, reference)
        tag_dir = Path(registry.data_dir, "docker/registry/v2/repositories", name, "_manifests/tags", reference)
        if not tag_dir.is_dir():
            raise RegistryNotFound(f"{name}:{reference} does not exist in the registry.")
        shutil.rmtree(tag_dir)
        return DeleteAnswer(status=202)

    monkeypatch.setattr(RegistryClient, "delete_manifest", delete_manifest)
    return sent
