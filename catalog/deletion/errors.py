"""Why a delete did not happen: one exception family carrying the HTTP status and a message
the user can act on, and the catalog's name/tag/digest grammar as a 400."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from core.errors import ActionableError
from registry_client import references
from registry_client.client import RegistryError, RegistryRejected

if TYPE_CHECKING:
    from catalog.deletion.scan import IndexRef

DISABLED_ADVICE = (
    "The registry refuses deletes (405 UNSUPPORTED): deleting is disabled in its configuration. "
    "Recreate the registry container with -e REGISTRY_STORAGE_DELETE_ENABLED=true (the installation guide's "
    "Intermediate configuration); a restart keeps the old environment, so the container must be "
    "removed and run again with it. Nothing was deleted."
)
READ_ONLY_ADVICE = (
    "The registry is read-only (405 without UNSUPPORTED): a garbage collection in read-only mode is "
    "probably running (see /maintenance/), or the registry was started with "
    "storage.maintenance.readonly enabled. Try again when it is writable. Nothing was deleted."
)


# --- Errors ----------------------------------------------------------------------------


class DeletionError(ActionableError):
    """A delete that did not happen, with a message the user can act on and the HTTP status."""

    status = 409

    def __init__(
        self,
        message: str,
        *,
        digest: str = "",
        shared_with: Sequence[str] = (),
        referenced_by: Sequence[IndexRef] = (),
        registry_response: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.digest = digest
        self.shared_with = list(shared_with)
        self.referenced_by = list(referenced_by)
        self.registry_response = registry_response

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.message}
        if self.digest:
            body["digest"] = self.digest
        if self.status == 409:
            body["shared_with"] = self.shared_with
            body["referenced_by"] = [ref.as_dict() for ref in self.referenced_by]
        return body

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        """The API's answer (``core.api.exceptions``): ``as_dict()``."""
        return self.as_dict()


class InvalidRequest(DeletionError):
    """A delete with a repository name, tag, digest or parameter that is not valid (400, nothing sent)."""

    status = 400


class SharedManifest(DeletionError):
    """Deleting this tag on 2.x would delete the manifest and other tags that point to it."""


class ReferencedByIndex(DeletionError):
    """The manifest is a platform of a multi-arch index in the same repository."""


class ProtectedTagRefused(DeletionError):
    """A protected tag would go: the dashboard refuses the whole delete (409) and names the rule."""

    def __init__(self, message: str, *, protected: Mapping[str, str], digest: str = "") -> None:
        super().__init__(message, digest=digest)
        self.protected = dict(protected)  # tag -> the rule's sentence

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "protected": [{"tag": tag, "protected_by": rule} for tag, rule in sorted(self.protected.items())],
        }


PROTECTION_ADVICE = (
    "The dashboard never deletes a protected tag; an admin can change the rules on the Protected tags page."
)


def protected_list(protected: Mapping[str, str]) -> str:
    return "; ".join(f"{tag} is {rule}" for tag, rule in sorted(protected.items()))


class DeletionDisabled(DeletionError):
    """The registry refuses deletes: ``storage.delete.enabled: false`` (405 UNSUPPORTED), or it
    runs read-only (a plain-text 405, e.g. during a read-only garbage collection)."""

    def __init__(self, registry_response: str = "") -> None:
        read_only = bool(registry_response) and "UNSUPPORTED" not in registry_response
        advice = READ_ONLY_ADVICE if read_only else DISABLED_ADVICE
        super().__init__(advice, registry_response=registry_response)


class DeletionFailed(DeletionError):
    """The registry could not be reached or answered with an error; ``status`` follows it."""


# --- Validation: the catalog's grammar, as a DeletionError (400) --------------------------


def _checked(validate: Callable[[str], str], value: str) -> str:
    try:
        return validate(value)
    except references.InvalidReference as e:
        raise InvalidRequest(e.message) from e


def validate_name(name: str) -> str:
    return _checked(references.validate_name, name)


def validate_tag(tag: str) -> str:
    return _checked(references.validate_tag, tag)


def validate_digest(digest: str) -> str:
    return _checked(references.validate_digest, digest)


# --- What the repository holds ----------------------------------------------------------

# --- The registry's answers as DeletionErrors ----------------------------------------------


def is_disabled(error: RegistryRejected) -> bool:
    return error.registry_status == 405 or error.code == "UNSUPPORTED"


def failed(error: RegistryError) -> DeletionFailed:
    body = getattr(error, "body", "") or (
        f"{error.registry_status}: {error.message}" if error.registry_status else error.message
    )
    return DeletionFailed(error.message, status=error.status, registry_response=body)


def from_registry(error: RegistryError) -> DeletionError:
    """DeletionDisabled for a 405 (disabled or read-only), else DeletionFailed."""
    if isinstance(error, RegistryRejected) and is_disabled(error):
        return DeletionDisabled(error.body)
    return failed(error)
