"""The applier in chunks (issue 22, 8 senders): each chunk a transaction of its own, the receivers
let in between two, pushes of tags written together; order and idempotence across chunk
boundaries as when a batch was one transaction."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from core import notable
from inventory import events, receiving
from inventory.models import Blob, Event, Manifest, ManifestBlob, Repository, Tag
from registry_client.client import OCI_MANIFEST

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]  # also on PostgreSQL

BASE = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


class NoRegistry:
    """The applier's client where every manifest is already stored: any request is a failure."""

    request_count = 0

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the applier asked the registry ({name})")


@pytest.fixture(autouse=True)
def manifests() -> None:
    for position, (digest, size) in enumerate(((D1, 100), (D2, 200))):
        manifest = Manifest.objects.create(digest=digest, media_type=OCI_MANIFEST, kind="image", size=size)
        blob = Blob.objects.create(digest=f"sha256:{position}" + "b" * 63, size=size)
        ManifestBlob.objects.create(manifest=manifest, blob=blob, position=0)


@pytest.fixture
def told() -> Iterator[list[tuple[str, dict[str, Any], bool]]]:
    """The announcements, with whether a transaction was open when each was made."""
    heard: list[tuple[str, dict[str, Any], bool]] = []

    def listen(sender: Any, kind: str, facts: dict[str, Any], **kwargs: Any) -> None:
        heard.append((kind, facts, connection.in_atomic_block))

    notable.happened.connect(listen, dispatch_uid="test-events-chunks")
    yield heard
    notable.happened.disconnect(dispatch_uid="test-events-chunks")


def event(action: str, tag: str, digest: str, seconds: float, repo: str = "team/app", **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.get("id", str(uuid.uuid4())),
        "timestamp": (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": {"mediaType": OCI_MANIFEST, "repository": repo, "tag": tag, "digest": digest},
        "request": {"addr": extra.get("addr", "10.0.0.5:4242"), "method": "PUT", "useragent": "docker/24"},
        "actor": {"name": extra.get("actor", "ci")},
        "source": {"addr": "registry:5000", "instanceID": "instance-a"},
    }


def receive(*items: dict[str, Any]) -> None:
    for item in items:
        receiving.receive({"events": [item]})


def tags(repo: str = "team/app") -> dict[str, str]:
    return dict(Tag.objects.filter(repository__name=repo).values_list("name", "digest"))


def test_a_push_and_the_delete_of_its_tag_in_two_chunks_leave_no_tag_and_a_late_push_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "CHUNK", 2)
    stream = [
        event("push", "t1", D1, 0),
        event("pull", "v1", D1, 1, addr="10.0.0.9:1"),
        event("pull", "v1", D1, 2, addr="10.0.0.9:2"),
        event("delete", "t1", D1, 3),  # the second chunk: the push above is committed already
        event("push", "t3", D1, 10),
        event("push", "t3", D2, 11),  # the third chunk: the tag moves on
    ]
    receive(*stream)
    done = events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    assert done.events == 6 and done.batches == 1
    assert tags() == {"t3": D2}
    # Late and repeated deliveries, as the registry retries: nothing changes, nothing counts twice.
    receive(event("push", "t1", D1, 2.5), event("push", "t3", D1, 10.5), *stream)
    assert Event.objects.filter(processed=False).count() == 2  # the repeats were duplicates
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    assert tags() == {"t3": D2}
    assert Tag.objects.get(name="t3").event_at == BASE + timedelta(seconds=11)
    assert Repository.objects.get(name="team/app").size == 200  # refreshed once the batch ended
    assert Manifest.objects.get(digest=D1).pull_count == 2


def test_pushes_written_together_keep_each_push_rule(told: list[tuple[str, dict[str, Any], bool]]) -> None:
    receive(event("push", "newer", D1, 100), event("push", "stale", D1, 0), event("push", "moved", D1, 0))
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    told.clear()
    signature = f"sha256-{'1' * 64}.sig"
    receive(
        event("push", "newer", D2, 50),  # older than the tag's last event: ignored
        event("push", "stale", D2, 60, actor="alice"),
        event("push", "fresh", D2, 61, repo="team/other"),  # a repository not seen yet
        event("push", signature, D2, 62),
        event("push", "moved", D2, 63),
        event("push", "moved", D1, 64),  # the same tag twice in one chunk: the last push stays
    )
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    assert tags() == {"newer": D1, "stale": D2, "moved": D1, signature: D2}
    assert tags("team/other") == {"fresh": D2}
    stale = Tag.objects.get(name="stale")
    assert (stale.size, stale.pushed_by, stale.pushed_at, stale.manifest.digest) == (
        200,
        "alice",
        BASE + timedelta(seconds=60),
        D2,
    )
    assert Tag.objects.get(name=signature).attached_to == D1
    assert Repository.objects.get(name="team/app").last_pushed == BASE + timedelta(seconds=100)
    assert Repository.objects.get(name="team/other").last_pushed == BASE + timedelta(seconds=61)
    pushed = sorted(
        (facts["repository"], facts["tag"], facts["actor"]) for kind, facts, _ in told if kind == notable.PUSH
    )
    assert pushed == sorted(
        [
            ("team/app", "stale", "alice"),
            ("team/other", "fresh", "ci"),
            ("team/app", signature, "ci"),
            ("team/app", "moved", "ci"),
        ]
    )
    assert not any(inside for _, _, inside in told)  # announced once committed


def test_pushes_applied_one_by_one_write_what_pushes_written_together_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same events in two repositories, one's pushes written together, the other's one by
    one (``_push``, as when writing them together fails): the same tags, fields and rules."""
    write_together = events._write_tag_pushes

    def refuse_alone(pushes: list[Event], *args: Any) -> set[str]:
        if any(push.repository == "team/alone" for push in pushes):
            raise RuntimeError("written one by one")
        return write_together(pushes, *args)

    monkeypatch.setattr(events, "_write_tag_pushes", refuse_alone)
    for repo in ("team/together", "team/alone"):
        receive(
            event("push", "gone", D1, 0, repo=repo),
            event("delete", "gone", D1, 5, repo=repo),
            event("push", "by-digest", D2, 10, repo=repo),
            event("delete", "", D2, 20, repo=repo),
            event("push", "kept", D1, 30, repo=repo),
        )
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    for repo in ("team/together", "team/alone"):
        receive(
            event("push", "gone", D2, 3, repo=repo),  # its tag deleted later: changes nothing
            event("push", "by-digest", D2, 15, repo=repo),  # its digest deleted later: nothing
            event("push", "kept", D2, 40, repo=repo, actor="alice"),
            event("push", f"sha256-{'1' * 64}.sig", D2, 41, repo=repo),
        )
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]

    def written(repo: str) -> list[tuple[Any, ...]]:
        return list(
            Tag.objects.filter(repository__name=repo)
            .order_by("name")
            .values_list(
                "name", "digest", "manifest__digest", "size", "event_at", "pushed_at", "pushed_by", "attached_to"
            )
        )

    assert written("team/alone") == written("team/together")
    assert [(name, digest, pushed_by) for name, digest, *_, pushed_by, _ in written("team/alone")] == [
        ("kept", D2, "alice"),
        (f"sha256-{'1' * 64}.sig", D2, "ci"),
    ]
    assert Tag.objects.get(repository__name="team/alone", name="kept").checked_at is not None
    alone, together = (Repository.objects.get(name=name) for name in ("team/alone", "team/together"))
    assert (
        (alone.size, alone.last_pushed) == (together.size, together.last_pushed) == (200, BASE + timedelta(seconds=41))
    )


def test_an_artifact_attached_by_its_push_event_counts_in_its_repositorys_size() -> None:
    """The statistics' largest repositories read ``Repository.size``: an SBOM pushed by digest
    with a subject (no tag) adds its blobs there once its batch is applied, as the tags' do."""
    sbom = "sha256:" + "3" * 64
    manifest = Manifest.objects.create(digest=sbom, media_type=OCI_MANIFEST, kind="artifact", size=7, subject=D1)
    blob = Blob.objects.create(digest="sha256:s" + "b" * 63, size=7)
    ManifestBlob.objects.create(manifest=manifest, blob=blob, position=0)
    receive(event("push", "v1", D1, 0))
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    assert Repository.objects.get(name="team/app").size == 100

    receive(event("push", "", sbom, 1))
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]

    assert Repository.objects.get(name="team/app").attachments.get().manifest == manifest
    assert Repository.objects.get(name="team/app").size == 107


def test_a_receiver_stores_its_event_while_a_long_batch_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk holds the writer lock for 0.1 s here: a batch of 60 events holds it 1.2 s in
    all, and a receiver's insert waits for one chunk at most, not for the batch."""
    monkeypatch.setattr(events, "CHUNK", 5)
    apply_claimed = events._apply_claimed
    started = threading.Event()

    def slow(claimed: list[Event], *args: Any) -> set[str]:
        started.set()
        time.sleep(0.02 * len(claimed))  # inside the chunk's transaction, under the writer lock
        return apply_claimed(claimed, *args)

    monkeypatch.setattr(events, "_apply_claimed", slow)
    receive(*(event("push", f"t{i}", D1, i) for i in range(60)))

    def apply() -> None:
        try:
            events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
        finally:
            connection.close()  # this thread's own

    applier = threading.Thread(target=apply)
    applier.start()
    try:
        assert started.wait(10)
        began = time.monotonic()
        receive(event("push", "late", D2, 1000))
        took = time.monotonic() - began
        busy = applier.is_alive()
    finally:
        applier.join(30)
    assert busy, "the batch ended before the receiver was timed"
    assert took < 0.6, f"the receiver waited {took:.2f} s"
    assert Event.objects.filter(processed=True).count() >= 60
    events.apply_pending(client=NoRegistry())  # type: ignore[arg-type]
    assert len(tags()) == 61


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_the_applier_makes_way_while_a_receiver_waits_and_not_forever() -> None:
    assert receiving.make_way(1.0) < 0.05  # nobody waits

    def hold(seconds: float, entered: threading.Event) -> None:
        with receiving._receiving(True):
            entered.set()
            time.sleep(seconds)

    for seconds, most, low, high in ((0.3, 2.0, 0.2, 1.5), (3.0, 0.2, 0.15, 1.0)):
        entered = threading.Event()
        receiver = threading.Thread(target=hold, args=(seconds, entered))
        receiver.start()
        assert entered.wait(5)
        assert receiving.receivers_waiting()
        waited = receiving.make_way(most)
        receiver.join()
        assert low <= waited < high, (seconds, most, waited)
    assert not receiving.receivers_waiting()
