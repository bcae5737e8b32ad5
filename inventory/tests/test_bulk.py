"""inventory.bulk: insert (rows as tuples, the other fields' defaults, conflicts skipped when asked)
and update (rows by primary key, a condition per row); on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection

from inventory import bulk
from inventory.models import Blob, Manifest, Repository, Tag

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # also on PostgreSQL

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


def manifest(letter: str, size: int = 1) -> Manifest:
    return Manifest.objects.create(digest="sha256:" + letter * 64, media_type="x", kind="image", size=size)


def test_an_update_sets_the_named_fields_of_the_rows_its_keys_name_and_nothing_else() -> None:
    first, second = manifest("a"), manifest("b")
    repository = Repository.objects.create(name="team/app")
    one, two, _ = (
        Tag.objects.create(repository=repository, name=name, digest=first.digest, manifest=first, pushed_by="ci")
        for name in ("one", "two", "other")
    )

    bulk.update(
        Tag,
        ("digest", "manifest_id", "created", "pushed_by"),
        [(second.digest, second.pk, CREATED, "alice", one.pk), (second.digest, second.pk, None, "bob", two.pk)],
    )

    stored = {tag.name: tag for tag in Tag.objects.all()}
    assert (stored["one"].digest, stored["one"].manifest_id, stored["one"].created, stored["one"].pushed_by) == (
        second.digest,
        second.pk,
        CREATED,
        "alice",
    )
    assert (stored["two"].manifest_id, stored["two"].created, stored["two"].pushed_by) == (second.pk, None, "bob")
    assert (stored["other"].manifest_id, stored["other"].pushed_by) == (first.pk, "ci")  # not named: as it was
    assert stored["one"].first_seen == one.first_seen  # a field not named keeps its value


def test_json_fields_reach_the_database_in_their_form() -> None:
    found = manifest("c")

    bulk.update(Manifest, ("platforms", "config"), [(["linux/arm64"], {"os": "linux"}, found.pk)])

    found.refresh_from_db()
    assert (found.platforms, found.config) == (["linux/arm64"], {"os": "linux"})


def test_a_row_is_changed_only_while_its_condition_holds() -> None:
    found = manifest("d")
    repository = Repository.objects.create(name="team/app")
    before, after = CREATED - dt.timedelta(minutes=1), CREATED + dt.timedelta(minutes=1)
    tags = {
        name: Tag.objects.create(repository=repository, name=name, digest=found.digest, manifest=found, event_at=at)
        for name, at in (("never", None), ("older", before), ("same", CREATED), ("newer", after))
    }

    bulk.update(
        Tag, ("pushed_by",), [("ci", tag.pk, CREATED) for tag in tags.values()], where=("event_at__null_or_lte",)
    )
    bulk.update(Tag, ("size",), [(7, tag.pk, "older") for tag in tags.values()], where=("name__exact",))

    assert dict(Tag.objects.values_list("name", "pushed_by")) == {
        "never": "ci",
        "older": "ci",
        "same": "ci",
        "newer": "",
    }
    assert dict(Tag.objects.values_list("name", "size")) == {"never": 0, "older": 7, "same": 0, "newer": 0}


def test_an_unknown_condition_or_a_row_of_the_wrong_length_is_refused() -> None:
    found = manifest("e")

    with pytest.raises(ValueError, match="not one of exact, null_or_lte"):
        bulk.update(Manifest, ("size",), [(2, found.pk, 1)], where=("size__gt",))
    with pytest.raises(ValueError):
        bulk.update(Manifest, ("size",), [(2,)])
    assert Manifest.objects.get().size == 1


@pytest.mark.parametrize(
    "value",
    [
        CREATED,
        dt.datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        None,
    ],
)
def test_dates_reach_the_database_in_the_form_django_gives_them(value: dt.datetime | None) -> None:
    field = Tag._meta.get_field("pushed_at")
    assert bulk._preparer([field])((value,)) == (field.get_db_prep_save(value, connection),)


def test_json_text_is_written_as_it_is_and_read_back_as_the_document() -> None:
    raw = b'{\n  "schemaVersion": 2,\n  "layers": [ {"digest": "sha256:%s", "size": 3} ]\n}' % (b"d" * 64)
    config = bulk.json_text(b'{"os": "linux", "created": "2026-01-02T03:04:05Z"}', {})
    assert isinstance(config, bulk.JSONText)
    bulk.insert(
        Manifest,
        ("digest", "media_type", "kind", "config", "body"),
        [
            (
                "sha256:" + "e" * 64,
                "application/vnd.oci.image.manifest.v1+json",
                "image",
                config,
                bulk.json_text(raw, {}),
            )
        ],
    )

    stored = Manifest.objects.get()
    assert stored.config == {"os": "linux", "created": "2026-01-02T03:04:05Z"}
    assert stored.body == {"schemaVersion": 2, "layers": [{"digest": "sha256:" + "d" * 64, "size": 3}]}
    assert Manifest.objects.filter(config__os="linux").exists()  # the database reads it as JSON


def test_text_that_is_not_utf8_or_starts_with_a_byte_order_mark_is_written_from_the_document() -> None:
    document = {"os": "linux"}
    assert bulk.json_text(b"\xff\xfe{}", document) is document
    assert bulk.json_text("\ufeff{}".encode(), document) is document


def test_the_ids_of_rows_past_an_id_are_read_by_their_key() -> None:
    first = manifest("a")
    after = first.pk
    later = [manifest("b"), manifest("c")]

    assert bulk.ids_after(Manifest, "digest", after) == {found.digest: found.pk for found in later}
    assert bulk.ids_after(Manifest, "digest", later[-1].pk) == {}
    assert bulk.ids_after(Manifest, "digest", 0) == {found.digest: found.pk for found in [first, *later]}
