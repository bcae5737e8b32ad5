"""Repository names, tags and digests, checked against the OCI distribution grammar.

Checked before any registry request: a bad reference is the caller's mistake (400), not
something to ask the registry about. Shared by browsing and deleting.
"""

from __future__ import annotations

import re

# https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_PATTERN = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
DIGEST_PATTERN = r"sha256:[a-f0-9]{64}"
# Distribution refuses names longer than 255 characters (reference.NameTotalLengthMax).
NAME_MAX_LENGTH = 255

_NAME = re.compile(NAME_PATTERN)
_TAG = re.compile(TAG_PATTERN)
_DIGEST = re.compile(DIGEST_PATTERN)

# Cosign-style tags that sign or attest the image with that digest, not images of their own, and
# OCI 1.1's referrers tag schema (sha256-<hex>, no suffix): the index of the artifacts whose
# subject is that digest, for registries without the referrers API (distribution v3 has none).
_ATTACHED = re.compile(r"sha256-(?P<hex>[a-f0-9]{64})(?:\.(?P<kind>sig|att|sbom))?")
REFERRERS = "referrers"


class InvalidReference(ValueError):
    """A name, tag or digest that breaks the grammar; ``message`` says what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_name(name: str) -> str:
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidReference(f"Repository names have at most {NAME_MAX_LENGTH} characters.")
    if not _NAME.fullmatch(name):
        raise InvalidReference(
            f"{name!r} is not a repository name: use lowercase letters, digits and separators "
            "(., _, __, -) in path components joined by /."
        )
    return name


def validate_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidReference(
            f"{tag!r} is not a tag: at most 128 letters, digits, _, . and -, not starting with . or -."
        )
    return tag


def validate_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise InvalidReference(f"{digest!r} is not a digest: expected sha256: followed by 64 lowercase hex digits.")
    return digest


def is_digest(reference: str) -> bool:
    return reference.startswith("sha256:")


def validate_reference(reference: str) -> str:
    """A tag or a digest."""
    return validate_digest(reference) if is_digest(reference) else validate_tag(reference)


def attached_to(tag: str) -> tuple[str, str] | None:
    """For ``sha256-<hex>.sig|.att|.sbom``: (the signed digest, sig|att|sbom); for the referrers
    tag ``sha256-<hex>``: (that digest, "referrers"); else None."""
    match = _ATTACHED.fullmatch(tag)
    if match is None:
        return None
    return f"sha256:{match['hex']}", match["kind"] or REFERRERS
