"""inventory.bulk.insert: rows as tuples, the other fields' defaults, conflicts skipped when asked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError

from inventory import bulk
from inventory.models import Blob, Manifest

pytestmark = pytest.mark.django_db

CREATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_rows_are_written_with_json_dates_and_the_other_fields_defaults() -> None:
    body = {"schemaVersion": 2, "layers": [{"digest": "sha256:" + "b" * 64, "size": 3}]}
    bulk.insert(
        Manifest,
        ("digest", "media_type", "kind", "size", "created", "platforms", "config", "body"),
        [
            (
                "sha256:" + "a" * 64,
                "application/vnd.oci.image.manifest.v1+json",
                "image",
                3,
                CREATED,
                ["linux/amd64"],
                {"os": "linux"},
                body,
            )
        ],
    )

    stored = Manifest.objects.get()
    assert (stored.size, stored.created, stored.platforms, stored.config, stored.body) == (
        3,
        CREATED,
        ["linux/amd64"],
        {"os": "linux"},
        body,
    )
    assert (stored.artifact_type, stored.subject, stored.pull_count, stored.last_pulled) == ("", "", 0, None)
    assert stored.first_seen is not None  # auto_now_add: the time of the insert


def test_a_conflicting_row_is_skipped_when_asked_and_refused_otherwise() -> None:
    Blob.objects.create(digest="sha256:" + "c" * 64, size=1)

    bulk.insert(
        Blob, ("digest", "size"), [("sha256:" + "c" * 64, 99), ("sha256:" + "d" * 64, 2)], ignore_conflicts=True
    )

    assert dict(Blob.objects.values_list("digest", "size")) == {"sha256:" + "c" * 64: 1, "sha256:" + "d" * 64: 2}
    with pytest.raises(IntegrityError):
        bulk.insert(Blob, ("digest", "size"), [("sha256:" + "d" * 64, 5)])


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError):
        bulk.insert(Blob, ("digest", "size"), [("sha256:" + "e" * 64,)])
