"""The OCI distribution grammar for names, tags and digests, and cosign-style attached tags."""

from __future__ import annotations

import pytest

from registry_client.references import (
    InvalidReference,
    attached_to,
    validate_digest,
    validate_name,
    validate_reference,
    validate_tag,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("name", ["app", "team/app/api", "a.b_c__d---e/f1", "x" * 255, "0/1"])
def test_it_accepts_names_of_the_grammar(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "App",
        "team//app",
        "/app",
        "app/",
        "-app",
        "app-",
        "a___b",
        "a..b",
        "a/-/b",
        "x" * 256,
        "a b",
    ],
)
def test_it_refuses_other_names(name: str) -> None:
    with pytest.raises(InvalidReference):
        validate_name(name)


@pytest.mark.parametrize("tag", ["latest", "1.0.0-rc_1", "_x", "A" * 128])
def test_it_accepts_tags_of_the_grammar(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".hidden", "-x", "a/b", "a:b", "A" * 129])
def test_it_refuses_other_tags(tag: str) -> None:
    with pytest.raises(InvalidReference):
        validate_tag(tag)


def test_digests_are_sha256_with_64_lowercase_hex_digits() -> None:
    assert validate_digest(DIGEST) == DIGEST
    assert validate_reference(DIGEST) == DIGEST and validate_reference("v1") == "v1"
    for bad in ("sha256:" + "AB" * 32, "sha256:abc", "sha512:" + "ab" * 64, "sha256-" + "ab" * 32):
        with pytest.raises(InvalidReference, match="not a digest"):
            validate_digest(bad)


def test_signature_attestation_and_sbom_tags_name_their_image() -> None:
    hex_digits = "ab" * 32
    assert attached_to(f"sha256-{hex_digits}.sig") == (f"sha256:{hex_digits}", "sig")
    assert attached_to(f"sha256-{hex_digits}.att") == (f"sha256:{hex_digits}", "att")
    assert attached_to(f"sha256-{hex_digits}.sbom") == (f"sha256:{hex_digits}", "sbom")
    assert attached_to(f"sha256-{hex_digits}") == (f"sha256:{hex_digits}", "referrers")
    assert attached_to("sha256-ab.sig") is None and attached_to(f"sha256-{hex_digits}.txt") is None
