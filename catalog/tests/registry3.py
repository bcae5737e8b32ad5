"""A spy on the DELETEs our client sends (no fake: the real v3.1.1 and 2.8.2 registries answer).

The tests used to fake registry:3's tag delete here, when no v3 binary existed; the test
environment now runs the real v3.1.1 as its primary registry. What remains is a spy that
records the references sent to ``DELETE /v2/<name>/manifests/<ref>`` and passes every
call through to the real registry, so a test can say "only tags were deleted, never a digest".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from registry_client.client import DeleteAnswer, RegistryClient


@dataclass
class DeleteSpy:
    references: list[str] = field(default_factory=list)

    @property
    def digests(self) -> list[str]:
        return [ref for ref in self.references if ref.startswith("sha256:")]

    @property
    def tags(self) -> list[str]:
        """Tag deletes, without the dashboard's probe for whether the registry deletes tags."""
        return [ref for ref in self.references if ":" not in ref and not ref.startswith("registry-admin-probe-")]

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> DeleteSpy:
        spy = cls()
        original = RegistryClient.delete_manifest

        def delete_manifest(self: RegistryClient, name: str, reference: str) -> DeleteAnswer:
            spy.references.append(reference)
            return original(self, name, reference)

        monkeypatch.setattr(RegistryClient, "delete_manifest", delete_manifest)
        return spy
